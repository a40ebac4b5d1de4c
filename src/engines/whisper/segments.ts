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

/**
 * Word times from token timestamps when the decode had timestamp tokens; otherwise from DTW
 * (each word runs from its first token's DTW time to the next word's).
 */
function toWords(raw: NonNullable<RawSegment['words']>, segStart: number, segEnd: number): Word[] {
  const useDtw = raw.every((w) => w.t1 <= w.t0) && raw.some((w) => (w.dtw ?? -1) >= 0);
  const words: Word[] = [];
  let last = segStart;
  raw.forEach((w, i) => {
    if (w.word.trim() === '') return;
    let t0 = cs(w.t0);
    let t1 = cs(w.t1);
    if (useDtw) {
      t0 = cs(w.dtw ?? 0);
      const next = raw.slice(i + 1).find((n) => (n.dtw ?? -1) >= 0);
      t1 = next ? cs(next.dtw!) : segEnd;
    }
    // Times can fall slightly outside the segment or go backwards; keep them inside and monotonic.
    const start = Math.min(Math.max(t0, last, segStart), segEnd);
    const end = Math.min(Math.max(t1, start), segEnd);
    words.push({ word: w.word, start, end, probability: w.p });
    last = start;
  });
  return words;
}

export function toSegment(raw: RawSegment, id: number, offsetSeconds = 0, audioSeconds = Infinity): Segment {
  const text = raw.text.trim();
  // Whisper's last window is padded to 30 s: a segment may claim to end past the audio.
  const start = Math.min(cs(raw.t0), audioSeconds) + offsetSeconds;
  const end = Math.max(Math.min(cs(raw.t1), audioSeconds) + offsetSeconds, start);
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
      raw.words.map((w) => ({
        ...w,
        t0: w.t0 + offsetSeconds * 100,
        t1: w.t1 + offsetSeconds * 100,
        dtw: w.dtw !== undefined && w.dtw >= 0 ? w.dtw + offsetSeconds * 100 : w.dtw,
      })),
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
