// What the language-specific extractors hand the scorer: one entry per occurrence of a keyword candidate.

/** The built-in extractor's own category names; builtin.ts maps them onto the configured list. */
export type BuiltinCategory = 'person' | 'place' | 'organization' | 'product' | 'date_time' | 'topic' | 'other';

export interface Candidate {
  /** the form shown to users: particles stripped, plurals singular */
  text: string;
  /** identity for counting across a session (lower-cased, spaces collapsed) */
  key: string;
  category: BuiltinCategory;
  /** token index of this occurrence within the utterance */
  position: number;
  /** how much a candidate of this kind is worth before frequency and position: names > nouns > verb roots */
  weight: number;
}

export function candidateKey(text: string): string {
  return text.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}
