// Text measures the filter rules use.
import { deflateSync } from 'node:zlib';

/**
 * Matching form: NFKC, lower case, letters and digits only. Also returns, for every kept
 * character, its index in the original string, so a match can be cut out of the original.
 */
export function normalizeForMatch(text: string): { norm: string; index: number[] } {
  let norm = '';
  const index: number[] = [];
  let at = 0;
  for (const ch of text) {
    const folded = ch.normalize('NFKC').toLowerCase();
    for (const c of folded) {
      if (/[\p{L}\p{N}]/u.test(c)) {
        norm += c;
        for (let k = 0; k < c.length; k++) index.push(at);
      }
    }
    at += ch.length;
  }
  return { norm, index };
}

export function normalizePhrase(text: string): string {
  return normalizeForMatch(text).norm;
}

/** OpenAI's measure: UTF-8 bytes / zlib-compressed bytes. Repetition loops score high (> 2.4). */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length === 0 ? 0 : bytes.length / deflateSync(bytes).length;
}

/** Tokens for repetition checks: words, or characters for text written without spaces. */
export function repetitionTokens(text: string): string[] {
  const words = text
    .normalize('NFKC')
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/[\p{P}\p{S}]+/gu, ''))
    .filter(Boolean);
  if (words.length <= 2 && words.join('').length > 12) return Array.from(words.join(''));
  return words;
}

export interface Repetition {
  /** the repeated n-gram */
  gram: string[];
  /** how many times in a row */
  times: number;
  /** fraction of all tokens the run covers */
  coverage: number;
}

/**
 * The longest run of one n-gram (n = 1..maxN) repeated back to back, e.g. "I'm sorry I'm sorry
 * I'm sorry" → gram [i'm, sorry] × 3, coverage 1.
 */
export function longestRepetition(tokens: string[], maxN = 8): Repetition | null {
  let best: Repetition | null = null;
  for (let n = 1; n <= maxN && n * 2 <= tokens.length; n++) {
    for (let i = 0; i + 2 * n <= tokens.length; i++) {
      let times = 1;
      while (i + (times + 1) * n <= tokens.length && sameGram(tokens, i, i + times * n, n)) times++;
      if (times < 2) continue;
      const coverage = (times * n) / tokens.length;
      if (!best || times * n > best.times * best.gram.length) best = { gram: tokens.slice(i, i + n), times, coverage };
    }
  }
  return best;
}

function sameGram(tokens: string[], a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (tokens[a + k] !== tokens[b + k]) return false;
  return true;
}
