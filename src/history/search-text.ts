// How a search string becomes words, shared by every history store so SQLite and PostgreSQL answer
// the same query the same way.

/** Scripts whose words are not separated by spaces: a token-prefix search would miss most words. */
export const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u;

/** The words of a search string (letters, digits, marks, apostrophes); punctuation and operators are dropped. */
export function searchWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}\p{M}']+/gu) ?? [];
}

export function normalizeKeyword(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLocaleLowerCase();
}

/** A word for LIKE/ILIKE with `ESCAPE '\'`: its wildcards and the escape character taken literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
