// Word lists for the streaming policy, built from an engine's segments.
// Whisper's "words" may be sub-word tokens: a token that does not begin with a space continues the
// previous word. Word text keeps its leading space, so joining words with '' rebuilds the text
// in every language (Korean and English separate words with spaces, Chinese and Japanese don't).
import type { Segment } from '../../engines/types.js';

export interface PolicyWord {
  /** as the engine wrote it, leading space included */
  word: string;
  /** seconds from the start of the decoded audio; NaN when the engine gave no times */
  start: number;
  end: number;
}

/** Languages written without spaces between words: every token is its own unit. */
const UNSPACED = new Set(['zh', 'ja', 'th', 'lo', 'my', 'km', 'yue', 'bo']);

export function wordsFromSegments(segments: Segment[], language?: string): PolicyWord[] {
  const unspaced = language !== undefined && UNSPACED.has(language);
  const out: PolicyWord[] = [];
  for (const seg of segments) {
    if (seg.words && seg.words.length > 0) {
      let first = true;
      for (const w of seg.words) {
        const startsWord = unspaced || first || /^\s/.test(w.word) || out.length === 0;
        if (startsWord) {
          // the first word of a segment always opens a new word, with a space before it after the first segment
          const text = first && out.length > 0 && !unspaced && !/^\s/.test(w.word) ? ` ${w.word}` : w.word;
          out.push({ word: text, start: w.start, end: w.end });
        } else {
          const prev = out[out.length - 1];
          prev.word += w.word;
          prev.end = Math.max(prev.end, w.end);
        }
        first = false;
      }
    } else {
      out.push(...splitText(seg.text, seg.start, seg.end, unspaced, out.length > 0));
    }
  }
  return out;
}

/** Words of a segment without word times: split on spaces (or characters), times spread by length. */
function splitText(text: string, start: number, end: number, unspaced: boolean, leadingSpace: boolean): PolicyWord[] {
  const pieces = unspaced ? Array.from(text.replace(/\s+/g, '')) : text.trim().split(/\s+/).filter(Boolean);
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const span = Math.max(0, end - start);
  const words: PolicyWord[] = [];
  let at = 0;
  pieces.forEach((p, i) => {
    const s = start + (span * at) / Math.max(1, total);
    at += p.length;
    const e = start + (span * at) / Math.max(1, total);
    const space = !unspaced && (i > 0 || leadingSpace) ? ' ' : '';
    words.push({ word: space + p, start: s, end: e });
  });
  return words;
}

export function joinWords(words: PolicyWord[]): string {
  return words
    .map((w) => w.word)
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The form two words are compared in: Unicode-normalised, lower-case, without punctuation,
 * symbols or spaces ("Hello," = "hello", "그래요?" = "그래요").
 */
export function normalizeWord(word: string): string {
  return word
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\s]+/gu, '');
}
