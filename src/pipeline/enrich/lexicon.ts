// A user lexicon: terms the built-in extractor must always find and the category each belongs to
// (product names, colleagues, jargon). Its categories also override what an LLM says for those terms.
import { readFile } from 'node:fs/promises';
import { candidateKey } from './candidate.js';

export interface LexiconMatch {
  term: string;
  category: string;
  /** index of the whitespace-separated token the match starts in */
  position: number;
}

/**
 * Accepted file shapes (JSON):
 *   {"terms": {"Earshot": "product", "김민수": "person"}}
 *   {"Earshot": "product", "김민수": "person"}
 *   {"product": ["Earshot", "Qwen"], "person": ["김민수"]}
 */
export function lexiconEntries(data: unknown): Array<[string, string]> {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('lexicon must be a JSON object');
  const root = (data as Record<string, unknown>).terms ?? data;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new Error('lexicon "terms" must be an object');
  const entries: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(root as Record<string, unknown>)) {
    if (typeof value === 'string') entries.push([key, value]);
    else if (Array.isArray(value)) {
      for (const term of value) {
        if (typeof term !== 'string') throw new Error(`lexicon list "${key}" must hold strings`);
        entries.push([term, key]);
      }
    } else throw new Error(`lexicon entry "${key}" must be a category name or a list of terms`);
  }
  return entries.filter(([term, category]) => term.trim() && category.trim());
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Lexicon {
  private readonly byKey = new Map<string, { term: string; category: string }>();
  private readonly patterns: Array<{ term: string; category: string; re: RegExp }> = [];

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [rawTerm, category] of entries) {
      const term = rawTerm.normalize('NFC').trim();
      this.byKey.set(candidateKey(term), { term, category: category.trim() });
    }
    // longest first, so "Seoul National University" wins over "Seoul"
    const sorted = [...this.byKey.values()].sort((a, b) => b.term.length - a.term.length);
    for (const { term, category } of sorted) {
      const body = escapeRegExp(term).replace(/\s+/g, '\\s+');
      // a Latin-script term needs word boundaries (and may take a plural s or 's);
      // a Hangul term only needs one before it, since particles attach after it (김민수가)
      const latinEnd = /[A-Za-z0-9]$/.test(term);
      const re = new RegExp(`(?<![\\p{L}\\p{N}])${body}${latinEnd ? "(?:'s|’s|s)?(?![\\p{L}\\p{N}])" : ''}`, 'giu');
      this.patterns.push({ term, category: category.trim(), re });
    }
  }

  static fromObject(data: unknown): Lexicon {
    return new Lexicon(lexiconEntries(data));
  }

  static async load(path: string): Promise<Lexicon> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read lexicon ${path}: ${(err as Error).message}`);
    }
    try {
      return Lexicon.fromObject(JSON.parse(text));
    } catch (err) {
      throw new Error(`lexicon ${path}: ${(err as Error).message}`);
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The category for a term, matched case-insensitively. */
  categoryOf(term: string): string | undefined {
    return this.byKey.get(candidateKey(term))?.category;
  }

  /** The lexicon's own spelling of a term, if it has one. */
  canonical(term: string): string | undefined {
    return this.byKey.get(candidateKey(term))?.term;
  }

  /** Every lexicon term in the text; a longer term's span hides the shorter ones inside it. */
  find(text: string): LexiconMatch[] {
    const normalized = text.normalize('NFC');
    const taken: Array<[number, number]> = [];
    const out: Array<LexiconMatch & { index: number }> = [];
    for (const { term, category, re } of this.patterns) {
      re.lastIndex = 0;
      for (const m of normalized.matchAll(re)) {
        const start = m.index;
        const end = start + m[0].length;
        if (taken.some(([s, e]) => start < e && end > s)) continue;
        taken.push([start, end]);
        const position = normalized.slice(0, start).split(/\s+/).filter(Boolean).length;
        out.push({ term, category, position, index: start });
      }
    }
    return out.sort((a, b) => a.index - b.index).map(({ index: _index, ...m }) => m);
  }
}
