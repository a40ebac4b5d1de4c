// Greedy CTC decoding exactly as transformers' Wav2Vec2CTCTokenizer.decode does it (the ASR
// pipeline's CTC path: skip_special_tokens false): group repeated ids, drop the pad (blank) token,
// turn the word delimiter into the replacement character, join, strip; word offsets in frames from
// the grouped tokens' spans.
import type { CtcTokenizerSpec } from '../../models/ctc-settings.js';

export interface WordOffset {
  word: string;
  /** first frame of the word */
  start: number;
  /** one past its last frame */
  end: number;
}

export interface DecodedCtc {
  text: string;
  words: WordOffset[];
}

export class CtcTokenizer {
  private readonly decoder = new Map<number, string>();
  readonly pad: string;
  readonly unk: string;
  readonly delimiter: string;
  readonly replacement: string;

  constructor(private readonly spec: CtcTokenizerSpec) {
    for (const [token, id] of Object.entries(spec.vocab)) this.decoder.set(id, token);
    this.pad = spec.padToken ?? '<pad>';
    this.unk = spec.unkToken ?? '<unk>';
    this.delimiter = spec.wordDelimiterToken ?? '|';
    this.replacement = spec.replaceWordDelimiterChar ?? ' ';
  }

  get size(): number {
    return this.decoder.size;
  }

  token(id: number): string {
    return this.decoder.get(id) ?? this.spec.addedTokens?.[id] ?? this.unk;
  }

  /** Decodes one frame-wise argmax sequence into text and word offsets (in frames). */
  decode(ids: ArrayLike<number>): DecodedCtc {
    // Group consecutive equal tokens (compared as strings, as groupby over tokens does).
    const groups: Array<{ token: string; start: number; end: number }> = [];
    for (let i = 0; i < ids.length; i++) {
      const token = this.token(ids[i]!);
      const last = groups[groups.length - 1];
      if (last && last.token === token) last.end = i + 1;
      else groups.push({ token, start: i, end: i + 1 });
    }
    const chars = groups.filter((g) => g.token !== this.pad).map((g) => ({ ...g, token: g.token === this.delimiter ? this.replacement : g.token }));
    let text = chars
      .map((c) => c.token)
      .join('')
      .trim();
    if (this.spec.doLowerCase) text = text.toLowerCase();
    if (this.spec.cleanUpTokenizationSpaces) text = cleanUpTokenization(text);
    return { text, words: wordOffsets(chars, this.replacement) };
  }
}

/** Word spans: runs of non-delimiter characters (the tokenizer's _get_word_offsets). */
function wordOffsets(chars: Array<{ token: string; start: number; end: number }>, delimiter: string): WordOffset[] {
  const words: WordOffset[] = [];
  let current: WordOffset | undefined;
  for (const c of chars) {
    if (c.token === delimiter) {
      if (current) words.push(current);
      current = undefined;
    } else if (current) {
      current.word += c.token;
      current.end = c.end;
    } else {
      current = { word: c.token, start: c.start, end: c.end };
    }
  }
  if (current) words.push(current);
  return words;
}

/** transformers' clean_up_tokenization (only when the tokenizer config asks for it). */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
