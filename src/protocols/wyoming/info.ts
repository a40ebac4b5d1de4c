// describe → info: one ASR program listing every installed model, one wake program listing the
// wake words this server offers. Home Assistant reads the first program of each kind.
import { WHISPER_LANGUAGES } from '../../util/languages.js';
import type { InstalledModel } from '../../models/store.js';
import { VERSION as EARSHOT_VERSION } from '../../version.js';

export const ASR_PROGRAM = 'earshot';
export const WAKE_PROGRAM = 'earshot-openwakeword';

export interface OfferedWakeword {
  /** label the detector reports and clients ask for in `detect.names` */
  name: string;
  /** what to say */
  phrase: string;
  builtin: boolean;
}

const EARSHOT = { name: 'Earshot', url: '' };
const OPENWAKEWORD = { name: 'dscripka', url: 'https://github.com/dscripka/openWakeWord' };

function modelLanguages(m: InstalledModel): string[] {
  return m.languages === '*' ? Object.keys(WHISPER_LANGUAGES) : m.languages;
}

function modelAttribution(m: InstalledModel): { name: string; url: string } {
  if (m.engine === 'whisper') return { name: 'OpenAI', url: 'https://github.com/openai/whisper' };
  return { name: m.source, url: '' };
}

export function buildInfo(models: InstalledModel[], wakewords: OfferedWakeword[]): Record<string, unknown> {
  return {
    asr: [
      {
        name: ASR_PROGRAM,
        description: 'Earshot live transcription: partial transcripts while you speak, the final one at audio-stop',
        attribution: EARSHOT,
        installed: true,
        version: EARSHOT_VERSION,
        models: models.map((m) => ({
          name: m.id,
          description: [m.engine, m.details?.size, m.quantization].filter(Boolean).join(' '),
          attribution: modelAttribution(m),
          installed: true,
          version: null,
          languages: modelLanguages(m),
        })),
        supports_transcript_streaming: true,
        // Earshot segments speech with its own VAD, but a transcription still ends at audio-stop
        requires_external_vad: true,
      },
    ],
    wake: wakewords.length
      ? [
          {
            name: WAKE_PROGRAM,
            description: 'openWakeWord models run by Earshot',
            attribution: OPENWAKEWORD,
            installed: true,
            version: EARSHOT_VERSION,
            models: wakewords.map((w) => ({
              name: w.name,
              description: w.phrase,
              phrase: w.phrase,
              attribution: w.builtin ? OPENWAKEWORD : EARSHOT,
              installed: true,
              version: w.builtin ? 'v0.1' : null,
              languages: w.builtin ? ['en'] : [],
            })),
          },
        ]
      : [],
    tts: [],
    handle: [],
    intent: [],
    mic: [],
    snd: [],
  };
}
