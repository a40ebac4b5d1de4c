// Reads a whisper.cpp ggml model file's header, filters, vocabulary and tensor index (not the
// tensor data), checking it the way whisper_model_load would. Used to accept ggml files as they
// are, to re-encode f32/f16 ones, and to verify our own output.
import { BinaryFile, TruncatedFileError } from './binary-file.js';
import { GGML_MAGIC } from './ggml-writer.js';
import type { MelFilterbank } from './mel-filters.js';
import { elementCount, fileTensor, type SourceTensor } from './tensor-source.js';
import { expectedWhisperTensors, type WhisperHparams } from './whisper-tensors.js';

/** ggml types whisper models use: [bytes per block, values per block]. */
const TYPE_LAYOUT: Record<number, { name: string; blockBytes: number; blockSize: number }> = {
  0: { name: 'f32', blockBytes: 4, blockSize: 1 },
  1: { name: 'f16', blockBytes: 2, blockSize: 1 },
  2: { name: 'q4_0', blockBytes: 18, blockSize: 32 },
  3: { name: 'q4_1', blockBytes: 20, blockSize: 32 },
  6: { name: 'q5_0', blockBytes: 22, blockSize: 32 },
  7: { name: 'q5_1', blockBytes: 24, blockSize: 32 },
  8: { name: 'q8_0', blockBytes: 34, blockSize: 32 },
  10: { name: 'q2_k', blockBytes: 84, blockSize: 256 },
  11: { name: 'q3_k', blockBytes: 110, blockSize: 256 },
  12: { name: 'q4_k', blockBytes: 144, blockSize: 256 },
  13: { name: 'q5_k', blockBytes: 176, blockSize: 256 },
  14: { name: 'q6_k', blockBytes: 210, blockSize: 256 },
};

/** ggml_ftype (after removing the quantization version) → a short name. */
const FTYPE_NAMES: Record<number, string> = {
  0: 'f32',
  1: 'f16',
  2: 'q4_0',
  3: 'q4_1',
  7: 'q8_0',
  8: 'q5_0',
  9: 'q5_1',
  10: 'q2_k',
  11: 'q3_k',
  12: 'q4_k',
  13: 'q5_k',
  14: 'q6_k',
};

export interface GgmlTensorInfo {
  name: string;
  /** PyTorch order (outermost first) */
  shape: number[];
  type: number;
  typeName: string;
  offset: number;
  byteLength: number;
}

export interface GgmlModelInfo {
  path: string;
  fileSize: number;
  hparams: WhisperHparams;
  /** raw ftype field, e.g. 1 or 2007 */
  ftype: number;
  /** 'f16', 'q8_0', … */
  quantization: string;
  filters: MelFilterbank;
  vocab: Buffer[];
  tensors: GgmlTensorInfo[];
}

/** Parses and checks a whisper ggml file; throws a readable error when whisper.cpp would refuse it. */
export async function readGgmlModel(path: string): Promise<GgmlModelInfo> {
  const file = await BinaryFile.open(path);
  try {
    return await parse(file);
  } catch (err) {
    if (err instanceof TruncatedFileError) throw new Error(`ggml model ${path} is truncated or corrupt: ${err.message}`);
    throw err;
  } finally {
    await file.close();
  }
}

async function parse(file: BinaryFile): Promise<GgmlModelInfo> {
  const c = file.cursor(0);
  const magic = await c.u32('magic');
  if (magic !== GGML_MAGIC) {
    const hint = magic === 0x46554747 ? ' (it is GGUF, which whisper.cpp does not load for Whisper models)' : '';
    throw new Error(`${file.path} is not a ggml model file: bad magic 0x${magic.toString(16)}${hint}`);
  }
  const hparams: WhisperHparams = {
    nVocab: await c.i32(),
    nAudioCtx: await c.i32(),
    nAudioState: await c.i32(),
    nAudioHead: await c.i32(),
    nAudioLayer: await c.i32(),
    nTextCtx: await c.i32(),
    nTextState: await c.i32(),
    nTextHead: await c.i32(),
    nTextLayer: await c.i32(),
    nMels: await c.i32(),
  };
  const ftype = await c.i32('ftype');
  const quantization = FTYPE_NAMES[ftype % 1000];
  if (!quantization) throw new Error(`${file.path}: unknown ftype ${ftype}`);
  for (const [key, value] of Object.entries(hparams)) {
    if (!(value > 0 && value < 1 << 24)) throw new Error(`${file.path}: implausible hyperparameter ${key} = ${value}; not a Whisper ggml file?`);
  }

  const nMels = await c.i32('filter count');
  const nBins = await c.i32('filter bins');
  if (nMels <= 0 || nBins <= 0 || nMels * nBins > 1 << 20) throw new Error(`${file.path}: implausible mel filter size ${nMels}x${nBins}`);
  const filterBytes = await c.bytes(nMels * nBins * 4, 'mel filters');
  const data = new Float32Array(nMels * nBins);
  for (let i = 0; i < data.length; i++) data[i] = filterBytes.readFloatLE(i * 4);

  const nTokens = await c.i32('token count');
  if (nTokens < 0 || nTokens > hparams.nVocab) throw new Error(`${file.path}: ${nTokens} tokens for n_vocab ${hparams.nVocab}`);
  const vocab: Buffer[] = [];
  for (let i = 0; i < nTokens; i++) {
    const length = await c.u32(`length of token ${i}`);
    if (length > 1024) throw new Error(`${file.path}: token ${i} claims ${length} bytes; corrupt vocabulary`);
    vocab.push(await c.bytes(length, `token ${i}`));
  }

  const tensors: GgmlTensorInfo[] = [];
  while (c.position < file.size) {
    const nDims = await c.i32('tensor dims');
    const nameLength = await c.i32('tensor name length');
    const type = await c.i32('tensor type');
    if (nDims < 1 || nDims > 4 || nameLength <= 0 || nameLength > 256) {
      throw new Error(`${file.path}: corrupt tensor header at byte ${c.position - 12}`);
    }
    const ne: number[] = [];
    for (let i = 0; i < nDims; i++) ne.push(await c.i32('tensor shape'));
    const name = (await c.bytes(nameLength, 'tensor name')).toString('utf8');
    const layout = TYPE_LAYOUT[type];
    if (!layout) throw new Error(`${file.path}: tensor "${name}" has unsupported ggml type ${type}`);
    const count = elementCount(ne);
    if (count % layout.blockSize !== 0) throw new Error(`${file.path}: tensor "${name}" does not fill whole ${layout.name} blocks`);
    const byteLength = (count / layout.blockSize) * layout.blockBytes;
    const offset = c.position;
    c.skip(byteLength, `data of tensor "${name}"`);
    tensors.push({ name, shape: ne.reverse(), type, typeName: layout.name, offset, byteLength });
  }

  checkTensorSet(file.path, hparams, tensors);
  return { path: file.path, fileSize: file.size, hparams, ftype, quantization, filters: { nMels, nBins, data }, vocab, tensors };
}

/** Same rule as whisper_model_load: every expected tensor once, with the right shape, nothing else. */
function checkTensorSet(path: string, h: WhisperHparams, tensors: GgmlTensorInfo[]): void {
  const expected = new Map(expectedWhisperTensors(h).map((t) => [t.name, t.shape]));
  const seen = new Set<string>();
  for (const t of tensors) {
    const shape = expected.get(t.name);
    if (!shape) throw new Error(`${path}: unknown tensor "${t.name}" in model file`);
    if (seen.has(t.name)) throw new Error(`${path}: tensor "${t.name}" appears twice`);
    seen.add(t.name);
    if (shape.length !== t.shape.length || shape.some((n, i) => n !== t.shape[i])) {
      throw new Error(`${path}: tensor "${t.name}" has shape [${t.shape}], expected [${shape}]`);
    }
  }
  if (seen.size !== expected.size) {
    const missing = [...expected.keys()].filter((name) => !seen.has(name));
    throw new Error(`${path}: ${missing.length} tensors missing (e.g. "${missing[0]}"); the file is incomplete`);
  }
}

/** f32/f16 tensors of a ggml file as sources (for re-encoding); quantized ones cannot be. */
export function ggmlTensorSource(file: BinaryFile, info: GgmlTensorInfo): SourceTensor {
  if (info.type === 0) return fileTensor(file, info.name, info.shape, 'float32', info.offset);
  if (info.type === 1) return fileTensor(file, info.name, info.shape, 'float16', info.offset);
  throw new Error(`${file.path}: tensor "${info.name}" is already quantized (${info.typeName}); re-quantizing it would lose precision`);
}
