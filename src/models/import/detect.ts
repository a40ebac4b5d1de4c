// Tells what kind of model a file or folder holds (Whisper formats, or a Hugging Face CTC folder),
// by content rather than by name.
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BinaryFile } from './binary-file.js';
import { GGML_MAGIC } from './ggml-writer.js';
import { isCtcFolder } from './ctc.js';

export type ModelKind = 'ggml' | 'ct2' | 'hf-safetensors' | 'hf-ctc' | 'unknown';

export interface Detection {
  kind: ModelKind;
  /** the ggml file, or the folder holding a CTranslate2 / Hugging Face model */
  path: string;
  /** why it is unknown, for the error message */
  reason?: string;
}

type FileKind = 'ggml' | 'gguf' | 'ct2' | 'safetensors' | 'other';

/** Looks at the first bytes of a file. */
export async function sniffFile(path: string): Promise<FileKind> {
  const file = await BinaryFile.open(path);
  try {
    if (file.size < 16) return 'other';
    const head = await file.read(0, Math.min(file.size, 64));
    const magic = head.readUInt32LE(0);
    if (magic === GGML_MAGIC) return 'ggml';
    if (head.subarray(0, 4).toString('latin1') === 'GGUF') return 'gguf';
    // CTranslate2: small binary version, then a length-prefixed, NUL-terminated spec name.
    if (magic >= 1 && magic <= 16) {
      const length = head.readUInt16LE(4);
      if (length > 1 && 6 + length <= head.length && head[6 + length - 1] === 0 && /^[A-Za-z0-9_]+$/.test(head.toString('latin1', 6, 6 + length - 1))) {
        return 'ct2';
      }
    }
    // safetensors: u64 header size, then a JSON object.
    const headerSize = head.readBigUInt64LE(0);
    if (headerSize > 1n && headerSize < BigInt(file.size) && head[8] === 0x7b /* { */) return 'safetensors';
    return 'other';
  } finally {
    await file.close();
  }
}

export async function detectModel(input: string): Promise<Detection> {
  if (!existsSync(input)) return { kind: 'unknown', path: input, reason: `${input} does not exist` };
  const info = await stat(input);
  if (info.isFile()) {
    const kind = await sniffFile(input);
    if (kind === 'ggml') return { kind: 'ggml', path: input };
    if (kind === 'ct2') return { kind: 'ct2', path: dirname(input) };
    if (kind === 'safetensors') return { kind: 'hf-safetensors', path: dirname(input) };
    if (kind === 'gguf') return { kind: 'unknown', path: input, reason: `${input} is GGUF; whisper.cpp needs a ggml Whisper file` };
    return { kind: 'unknown', path: input, reason: `${input} is not a ggml, CTranslate2 or safetensors model file` };
  }
  if (!info.isDirectory()) return { kind: 'unknown', path: input, reason: `${input} is neither a file nor a folder` };

  // A Hugging Face CTC folder (wav2vec2 family): converted to ONNX, not to ggml.
  if (await isCtcFolder(input)) return { kind: 'hf-ctc', path: input };
  const modelBin = join(input, 'model.bin');
  if (existsSync(modelBin)) {
    const kind = await sniffFile(modelBin);
    if (kind === 'ct2') return { kind: 'ct2', path: input };
    if (kind === 'ggml') return { kind: 'ggml', path: modelBin };
  }
  if (existsSync(join(input, 'model.safetensors')) || existsSync(join(input, 'model.safetensors.index.json'))) {
    return { kind: 'hf-safetensors', path: input };
  }
  // A folder with exactly one ggml file in it (e.g. a download folder holding ggml-base.bin).
  const ggmlFiles: string[] = [];
  for (const name of await readdir(input)) {
    const path = join(input, name);
    if ((await stat(path)).isFile() && (await sniffFile(path)) === 'ggml') ggmlFiles.push(path);
  }
  if (ggmlFiles.length === 1) return { kind: 'ggml', path: ggmlFiles[0] };
  if (ggmlFiles.length > 1) {
    return { kind: 'unknown', path: input, reason: `${input} holds several ggml files (${ggmlFiles.map((p) => basename(p)).join(', ')}); name one` };
  }
  if (existsSync(join(input, 'pytorch_model.bin'))) {
    return { kind: 'unknown', path: input, reason: `${input} holds PyTorch pickles (pytorch_model.bin); only safetensors checkpoints can be converted` };
  }
  return { kind: 'unknown', path: input, reason: `${input} holds no ggml, CTranslate2 (model.bin) or Hugging Face safetensors model` };
}
