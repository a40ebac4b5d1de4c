// The built-in extractor: language-aware keyword extraction with no LLM. Used when none is configured,
// and whenever the configured one is down, slow or talking nonsense.
import { candidateKey, type BuiltinCategory, type Candidate } from './candidate.js';
import { englishCandidates } from './english.js';
import { koreanCandidates } from './korean.js';
import type { Lexicon } from './lexicon.js';
import { KeywordSession } from './keyword-session.js';
import type { EnrichLanguage, Keyword } from './types.js';

export interface BuiltinOptions {
  /** the configured category list; the extractor's own categories are mapped onto it */
  categories: readonly string[];
  lexicon?: Lexicon;
  maxKeywords: number;
}

export class BuiltinExtractor {
  constructor(private readonly options: BuiltinOptions) {}

  /** A built-in category as one of the configured ones: itself, else 'other', else the last one listed. */
  mapCategory(category: BuiltinCategory | string): string {
    const { categories } = this.options;
    if (categories.includes(category)) return category;
    if (categories.includes('other')) return 'other';
    return categories[categories.length - 1];
  }

  private candidates(text: string, language: EnrichLanguage): Candidate[] {
    const found = language === 'ko' ? koreanCandidates(text) : englishCandidates(text);
    const lexicon = this.options.lexicon;
    if (!lexicon || lexicon.size === 0) return found;

    // lexicon terms are always keywords, heavier than anything guessed, and hide guesses inside them
    const matches = lexicon.find(text).map<Candidate>((m) => ({
      text: m.term,
      key: candidateKey(m.term),
      category: m.category as BuiltinCategory,
      position: m.position,
      weight: 2,
    }));
    const inside = (c: Candidate) => matches.some((m) => m.key !== c.key && ` ${m.key} `.includes(` ${c.key} `));
    const guessed = found
      .filter((c) => !inside(c))
      .map((c) => {
        const category = lexicon.categoryOf(c.text);
        return category ? { ...c, category: category as BuiltinCategory, text: lexicon.canonical(c.text) ?? c.text, weight: 2 } : c;
      });
    return [...matches, ...guessed];
  }

  /**
   * The keywords of one utterance, best first. With a session, frequency and position are scored
   * across the whole session; without one, within this utterance only.
   */
  extract(text: string, language: EnrichLanguage, session: KeywordSession = new KeywordSession()): Keyword[] {
    const scored = session.score(this.candidates(text, language));
    return scored.slice(0, this.options.maxKeywords).map((s) => ({
      text: s.text,
      category: this.lexiconCategory(s.text) ?? this.mapCategory(s.category),
      score: s.score,
    }));
  }

  private lexiconCategory(text: string): string | undefined {
    return this.options.lexicon?.categoryOf(text);
  }

  /**
   * A category for a keyword someone else found (an LLM that gave none we could use): the lexicon's,
   * else what the extractor would call it, else 'topic'.
   */
  categorize(keyword: string, language: EnrichLanguage): string {
    const fromLexicon = this.lexiconCategory(keyword);
    if (fromLexicon) return fromLexicon;
    const key = candidateKey(keyword);
    const own = this.candidates(keyword, language).find((c) => c.key === key);
    return this.mapCategory(own?.category ?? 'topic');
  }
}
