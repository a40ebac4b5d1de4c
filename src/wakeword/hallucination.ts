// The server's hallucination filter, run on the client as well: a seed-compatible server may not filter,
// and a recording that ended in a long pause is where Whisper invents text ("of this.", "Thank you.").
import type { Transcript } from '../engines/types.js';
import type { DroppedSegment, HallucinationFilter } from '../pipeline/filter/index.js';
import type { VadDetector } from '../pipeline/vad/types.js';
import { SAMPLE_RATE } from './features.js';
import type { TranscribeResult } from './transcribe-client.js';

export interface ClientVerdict {
  /** what is left after the filter ('' when everything was judged invented) */
  text: string;
  dropped: DroppedSegment[];
}

/** Judges a server's answer against the audio it came from (int16 16 kHz mono). */
export async function judgeTranscript(
  filter: HallucinationFilter,
  result: TranscribeResult,
  audio: Int16Array,
  detector: VadDetector,
  language?: string,
): Promise<ClientVerdict> {
  const samples = Float32Array.from(audio, (v) => v / 32768);
  const duration = samples.length / SAMPLE_RATE;
  const spans = result.segments.length > 0 ? result.segments : [{ start: 0, end: duration, text: result.text }];
  // The answer carries text and times only: the rules that need decoder statistics see neutral values.
  const transcript: Transcript = {
    text: result.text,
    language: result.language ?? language ?? 'en',
    duration,
    segments: spans.map((s, id) => ({
      id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: [],
      temperature: 0,
      avgLogprob: 0,
      compressionRatio: 1,
      noSpeechProb: 0,
    })),
    task: 'transcribe',
    model: 'server',
    engine: 'whisper',
    processingTime: 0,
  };
  const filtered = await filter.filter(transcript, { audio: samples, vad: detector, language }, { record: false });
  return { text: filtered.transcript.text.trim(), dropped: filtered.dropped };
}
