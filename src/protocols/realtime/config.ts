// OpenAI Realtime transcription-session configuration: the GA `session.update` shape
// (session.type "transcription", session.audio.input.{format, transcription, turn_detection, noise_reduction})
// and the older beta `transcription_session.update` shape (input_audio_format, input_audio_transcription, …),
// both read into one settings object and rendered back in the shape the client used.
import { z } from 'zod';

export interface TurnDetection {
  type: 'server_vad';
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
}

export interface RealtimeSettings {
  /** what the client asked for in transcription.model (OpenAI names map to the default model) */
  model: string;
  language?: string;
  prompt?: string;
  turnDetection: TurnDetection | null;
  include: string[];
}

export const DEFAULT_TURN_DETECTION: TurnDetection = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 };

export function defaultSettings(model: string): RealtimeSettings {
  return { model, turnDetection: { ...DEFAULT_TURN_DETECTION }, include: [] };
}

const transcription = z
  .object({
    model: z.string().min(1).max(200).optional(),
    language: z.string().max(16).optional(),
    prompt: z.string().max(4000).optional(),
  })
  .passthrough();

const turnDetection = z
  .object({
    type: z.enum(['server_vad', 'semantic_vad']),
    threshold: z.number().min(0).max(1).optional(),
    prefix_padding_ms: z.number().int().min(0).max(5000).optional(),
    silence_duration_ms: z.number().int().min(100).max(10_000).optional(),
  })
  .passthrough()
  .nullable();

const noiseReduction = z.object({ type: z.enum(['near_field', 'far_field']) }).nullable();

const pcmFormat = z
  .object({ type: z.string(), rate: z.number().optional() })
  .passthrough()
  .refine((f) => f.type === 'audio/pcm' && (f.rate === undefined || f.rate === 24000), {
    message: 'only {"type": "audio/pcm", "rate": 24000} (16-bit mono little-endian) is supported',
  });

export const gaSession = z
  .object({
    type: z.enum(['transcription', 'realtime']),
    audio: z
      .object({
        input: z
          .object({
            format: pcmFormat.optional(),
            transcription: transcription.nullable().optional(),
            turn_detection: turnDetection.optional(),
            noise_reduction: noiseReduction.optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
    include: z.array(z.string()).optional(),
  })
  .passthrough();

export const legacySession = z
  .object({
    input_audio_format: z.literal('pcm16', { message: 'only "pcm16" (24 kHz 16-bit mono little-endian) is supported' }).optional(),
    input_audio_transcription: transcription.nullable().optional(),
    turn_detection: turnDetection.optional(),
    input_audio_noise_reduction: noiseReduction.optional(),
    include: z.array(z.string()).optional(),
  })
  .passthrough();

function applyTurn(current: RealtimeSettings, td: z.infer<typeof turnDetection> | undefined): void {
  if (td === undefined) return;
  if (td === null) {
    current.turnDetection = null;
    return;
  }
  // semantic_vad has no model here: it runs as server_vad with the same silence rule
  const base = current.turnDetection ?? DEFAULT_TURN_DETECTION;
  current.turnDetection = {
    type: 'server_vad',
    threshold: td.threshold ?? base.threshold,
    prefix_padding_ms: td.prefix_padding_ms ?? base.prefix_padding_ms,
    silence_duration_ms: td.silence_duration_ms ?? base.silence_duration_ms,
  };
}

function applyTranscription(current: RealtimeSettings, t: z.infer<typeof transcription> | null | undefined): void {
  if (!t) return;
  if (t.model !== undefined) current.model = t.model;
  if (t.language !== undefined) current.language = t.language || undefined;
  if (t.prompt !== undefined) current.prompt = t.prompt || undefined;
}

/** Applies a GA session object over the current settings (only the fields present change). */
export function applyGa(current: RealtimeSettings, s: z.infer<typeof gaSession>): RealtimeSettings {
  const next = { ...current };
  applyTranscription(next, s.audio?.input?.transcription);
  applyTurn(next, s.audio?.input?.turn_detection);
  if (s.include) next.include = s.include;
  return next;
}

export function applyLegacy(current: RealtimeSettings, s: z.infer<typeof legacySession>): RealtimeSettings {
  const next = { ...current };
  applyTranscription(next, s.input_audio_transcription);
  applyTurn(next, s.turn_detection);
  if (s.include) next.include = s.include;
  return next;
}

function transcriptionOut(s: RealtimeSettings): Record<string, unknown> {
  return { model: s.model, language: s.language ?? null, prompt: s.prompt ?? '' };
}

export function renderGa(id: string, s: RealtimeSettings): Record<string, unknown> {
  return {
    type: 'transcription',
    object: 'realtime.transcription_session',
    id,
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: transcriptionOut(s),
        turn_detection: s.turnDetection,
        // accepted but not applied, so the effective setting is echoed as null. Measured (RNNoise via WebAssembly,
        // white noise at 0/5/10 dB SNR on pocketsphinx speech): denoising before the model made Whisper base's
        // transcripts worse at every SNR and did not change Silero's speech/non-speech decisions, so there is
        // no stage worth switching on here
        noise_reduction: null,
      },
    },
    include: s.include,
  };
}

export function renderLegacy(id: string, s: RealtimeSettings): Record<string, unknown> {
  return {
    id,
    object: 'realtime.transcription_session',
    input_audio_format: 'pcm16',
    input_audio_transcription: transcriptionOut(s),
    turn_detection: s.turnDetection,
    input_audio_noise_reduction: null,
    include: s.include,
  };
}
