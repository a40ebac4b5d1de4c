// Whisper's tokenizer vocabulary, from CTranslate2 or Hugging Face files, turned into what
// whisper.cpp reads: the raw bytes of each ordinary (non-special) token, ids 0..N-1.
// Those files spell tokens in GPT-2's byte-level alphabet: every byte 0..255 is shown as one
// printable Unicode character ("Ġ" is the byte 0x20), so the mapping is undone char by char.
// whisper.cpp appends <|endoftext|>, <|startoftranscript|>, language, task and timestamp
// tokens itself from n_vocab, so the list stops right before <|endoftext|>.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const END_OF_TEXT = '<|endoftext|>';

/** GPT-2's byte ↔ character table: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards. */
function byteLevelAlphabet(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const decoder = new Map<string, number>();
  let next = 0;
  for (let b = 0; b < 256; b++) {
    decoder.set(String.fromCodePoint(printable(b) ? b : 256 + next++), b);
  }
  return decoder;
}

const BYTE_DECODER = byteLevelAlphabet();

/** "Ġthe" → bytes " the". Throws on characters outside the byte-level alphabet. */
export function byteLevelToBytes(token: string): Buffer {
  const bytes: number[] = [];
  for (const char of token) {
    const byte = BYTE_DECODER.get(char);
    if (byte === undefined) {
      throw new Error(`token ${JSON.stringify(token)} is not in GPT-2 byte-level form (character U+${char.codePointAt(0)!.toString(16)})`);
    }
    bytes.push(byte);
  }
  return Buffer.from(bytes);
}

/**
 * The ordinary tokens (everything before <|endoftext|>) as raw bytes.
 * `tokens[i]` is the byte-level spelling of token id i; missing ids become empty tokens.
 */
export function whisperVocabBytes(tokens: Array<string | undefined>, origin: string): Buffer[] {
  const end = tokens.indexOf(END_OF_TEXT);
  if (end < 0) throw new Error(`${origin}: the vocabulary has no ${END_OF_TEXT} token; is this a Whisper tokenizer?`);
  return Array.from({ length: end }, (_, id) => {
    const token = tokens[id];
    if (token === undefined || token === '') return Buffer.alloc(0);
    try {
      return byteLevelToBytes(token);
    } catch (err) {
      throw new Error(`${origin}: token ${id}: ${(err as Error).message}`);
    }
  });
}

/**
 * Token strings by id from a model folder: CTranslate2's vocabulary.json (array) or
 * vocabulary.txt (one per line), or Hugging Face's vocab.json (+ added_tokens.json) or tokenizer.json.
 */
export async function readTokenList(dir: string): Promise<Array<string | undefined>> {
  const vocabularyJson = join(dir, 'vocabulary.json');
  if (existsSync(vocabularyJson)) {
    const list = JSON.parse(await readFile(vocabularyJson, 'utf8')) as unknown;
    if (!Array.isArray(list)) throw new Error(`${vocabularyJson}: expected a JSON array of tokens`);
    return list as string[];
  }
  const vocabularyTxt = join(dir, 'vocabulary.txt');
  if (existsSync(vocabularyTxt)) {
    const lines = (await readFile(vocabularyTxt, 'utf8')).split('\n');
    // Each token is followed by "\n", so the piece after the last one is not a token.
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }
  const vocabJson = join(dir, 'vocab.json');
  if (existsSync(vocabJson)) {
    const byId: Array<string | undefined> = [];
    const assign = (map: Record<string, number>) => {
      for (const [token, id] of Object.entries(map)) byId[id] = token;
    };
    assign(JSON.parse(await readFile(vocabJson, 'utf8')) as Record<string, number>);
    const added = join(dir, 'added_tokens.json');
    if (existsSync(added)) assign(JSON.parse(await readFile(added, 'utf8')) as Record<string, number>);
    return byId;
  }
  const tokenizerJson = join(dir, 'tokenizer.json');
  if (existsSync(tokenizerJson)) {
    const tokenizer = JSON.parse(await readFile(tokenizerJson, 'utf8')) as {
      model?: { vocab?: Record<string, number> };
      added_tokens?: Array<{ id: number; content: string }>;
    };
    if (!tokenizer.model?.vocab) throw new Error(`${tokenizerJson}: no model.vocab`);
    const byId: Array<string | undefined> = [];
    for (const [token, id] of Object.entries(tokenizer.model.vocab)) byId[id] = token;
    for (const { id, content } of tokenizer.added_tokens ?? []) byId[id] = content;
    return byId;
  }
  throw new Error(`${dir}: no vocabulary found (looked for vocabulary.json, vocabulary.txt, vocab.json, tokenizer.json)`);
}
