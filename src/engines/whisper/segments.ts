// Turns the worker's raw segments into the engine-neutral Segment type.
import { deflateSync } from 'node:zlib';
import type { Segment, Word } from '../types.js';
import type { RawSegment } from './protocol.js';

/** OpenAI's definition: bytes of text / bytes of its zlib compression (high = repetitive). */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return 0;
  return bytes.length / deflateSync(bytes).length;
}

const cs = (t: number) => Math.max(0, t) / 100;

function toWords(raw: NonNullable<RawSegment['words']>, segStart: number, segEnd: number): Word[] {
  const words: Word[] = [];
  let last = segStart;
  for (const w of raw) {
    const text = w.word;
    if (text.trim() === '') continue;
    // Token times can fall slightly outside the segment or go backwards; keep them inside and monotonic.
    const start = Math.min(Math.max(cs(w.t0), last, segStart), segEnd);
    const end = Math.min(Math.max(cs(w.t1), start), segEnd);
    words.push({ word: text, start, end, probability: w.p });
    last = start;
  }
  return words;
}

export function toSegment(raw: RawSegment, id: number, offsetSeconds = 0): Segment {
  const text = raw.text.trim();
  const start = cs(raw.t0) + offsetSeconds;
  const end = Math.max(cs(raw.t1) + offsetSeconds, start);
  const segment: Segment = {
    id,
    seek: raw.seek + Math.round(offsetSeconds * 100),
    start,
    end,
    text,
    tokens: raw.tokens,
    temperature: raw.temperature,
    avgLogprob: raw.avg_logprob,
    compressionRatio: compressionRatio(text),
    noSpeechProb: raw.no_speech_prob,
  };
  if (raw.words) {
    segment.words = toWords(
      raw.words.map((w) => ({ ...w, t0: w.t0 + offsetSeconds * 100, t1: w.t1 + offsetSeconds * 100 })),
      start,
      end,
    );
  }
  return segment;
}

export function joinText(segments: Segment[]): string {
  return segments
    .map((s) => s.text)
    .filter((t) => t.length > 0)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}
