// Moonshine's tokenizer.bin → sherpa-onnx's tokens.txt. tokenizer.bin is the list of token byte
// strings in id order, each prefixed with its length: one byte below 128, else two bytes
// (low 7 bits first, then the high part); a zero length is an empty (unused) token. sherpa-onnx
// reads Moonshine v2 tokens as "base64(token bytes) id" lines, since BPE pieces may be partial
// UTF-8 sequences that only make text once joined.
import { readFile, writeFile } from 'node:fs/promises';

export function parseTokenizerBin(data: Uint8Array): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  let i = 0;
  while (i < data.length) {
    const first = data[i++]!;
    let length = first;
    if (first >= 128) {
      if (i >= data.length) throw new Error('tokenizer.bin ends inside a length prefix');
      length = data[i++]! * 128 + (first - 128);
    }
    if (i + length > data.length) throw new Error(`tokenizer.bin: token ${tokens.length} runs past the end of the file`);
    tokens.push(data.subarray(i, i + length));
    i += length;
  }
  return tokens;
}

export function tokensTxt(tokens: Uint8Array[]): string {
  return tokens.map((t, id) => `${Buffer.from(t).toString('base64')} ${id}\n`).join('');
}

/** Writes tokens.txt next to a Moonshine model; answers the vocabulary size. */
export async function convertMoonshineTokenizer(tokenizerBin: string, tokensPath: string): Promise<number> {
  const tokens = parseTokenizerBin(await readFile(tokenizerBin));
  if (tokens.length < 3) throw new Error(`${tokenizerBin} holds ${tokens.length} tokens; not a Moonshine tokenizer`);
  await writeFile(tokensPath, tokensTxt(tokens));
  return tokens.length;
}
