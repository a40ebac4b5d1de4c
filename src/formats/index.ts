// Response formats are pure functions over one Transcript, shared by every route and the CLI.
import { WHISPER_LANGUAGES } from '../util/languages.js';
import type { Transcript } from '../engines/types.js';
import { toSrt, toVtt } from './subtitles.js';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

export function isResponseFormat(v: unknown): v is ResponseFormat {
  return typeof v === 'string' && (RESPONSE_FORMATS as readonly string[]).includes(v);
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The seed APIs' JSON (seeds 000/001/004 merged). */
export function seedJson(t: Transcript, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    success: true,
    text: t.text,
    language: t.language,
    segments: t.segments.map((s) => ({ start: round(s.start, 2), end: round(s.end, 2), text: s.text })),
    model: t.model,
    // which engine decoded it (whisper, ct2, sherpa, ctc): the answer to a request's `engine` field
    engine: t.engine,
    duration: round(t.duration),
    processing_time: round(t.processingTime),
    ...extra,
  };
}

/** OpenAI's verbose_json: every field from the engine. */
export function verboseJson(t: Transcript, opts: { words?: boolean; segments?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    task: t.task,
    language: languageName(t.language),
    duration: round(t.duration),
    text: t.text,
  };
  if (opts.segments !== false) {
    out.segments = t.segments.map((s) => ({
      id: s.id,
      seek: s.seek,
      start: round(s.start, 2),
      end: round(s.end, 2),
      text: s.text,
      tokens: s.tokens,
      temperature: s.temperature,
      avg_logprob: s.avgLogprob,
      compression_ratio: s.compressionRatio,
      no_speech_prob: s.noSpeechProb,
    }));
  }
  if (opts.words) {
    out.words = t.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word.trim(), start: round(w.start, 2), end: round(w.end, 2) })));
  }
  return out;
}

// OpenAI reports the language by name ("english") in verbose_json.
function languageName(code: string): string {
  return WHISPER_LANGUAGES[code] ?? code;
}

export interface Rendered {
  contentType: string;
  body: string | Record<string, unknown>;
}

export function render(
  t: Transcript,
  format: ResponseFormat,
  opts: { words?: boolean; segments?: boolean; seed?: boolean; extra?: Record<string, unknown> } = {},
): Rendered {
  switch (format) {
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: t.text + '\n' };
    case 'srt':
      return { contentType: 'application/x-subrip; charset=utf-8', body: toSrt(t) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: toVtt(t) };
    case 'verbose_json':
      return { contentType: 'application/json; charset=utf-8', body: { ...verboseJson(t, opts), ...(opts.extra ?? {}) } };
    default:
      return {
        contentType: 'application/json; charset=utf-8',
        body: opts.seed ? seedJson(t, opts.extra) : { text: t.text, ...(opts.extra ?? {}) },
      };
  }
}
