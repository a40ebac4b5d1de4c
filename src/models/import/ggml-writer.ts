// Writes a whisper.cpp model file (the legacy "ggml" container that whisper_model_load reads):
//   u32 magic 0x67676d6c
//   i32 n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
//       n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
//   i32 n_mel, i32 n_bins, f32 filters[n_mel][n_bins]
//   i32 n_tokens, then per token: u32 length, bytes
//   tensors until EOF: i32 n_dims, i32 name_length, i32 ggml_type, i32 ne[n_dims] (innermost
//   first, i.e. the PyTorch shape reversed), name bytes, data
// ftype is 0 (all f32), 1 (mostly f16), or GGML_QNT_VERSION*1000 + 7 (q8_0) / + 8 (q5_0).
// Tensor types follow whisper.cpp's own converter and quantizer: 1-D tensors, conv biases and
// positional embeddings stay f32; the 3-D conv kernels are f16 (f32 in an f32 model); every
// other matrix takes the model's type.
import { open, type FileHandle } from 'node:fs/promises';
import type { MelFilterbank } from './mel-filters.js';
import { BLOCK_SIZE, encodeValues, GGML_TYPE, type GgmlOutputType } from './quantize.js';
import { elementCount } from './tensor-source.js';
import type { WhisperHparams, WhisperTensor } from './whisper-tensors.js';

export const GGML_MAGIC = 0x67676d6c;
const GGML_QNT_VERSION = 2;
const GGML_QNT_VERSION_FACTOR = 1000;

/** Values converted per read/write step: bounds memory for any model size. */
const CHUNK_ELEMENTS = 1 << 20;

export function ftypeCode(type: GgmlOutputType): number {
  switch (type) {
    case 'f32':
      return 0;
    case 'f16':
      return 1;
    case 'q8_0':
      return GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + 7;
    case 'q5_0':
      return GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + 8;
  }
}

const KEEP_F32 = new Set(['encoder.conv1.bias', 'encoder.conv2.bias', 'encoder.positional_embedding', 'decoder.positional_embedding']);

/** The storage type whisper.cpp expects for a tensor in a model of type `modelType`. */
export function tensorStorageType(name: string, shape: readonly number[], modelType: GgmlOutputType): GgmlOutputType {
  if (modelType === 'f32' || shape.length < 2 || KEEP_F32.has(name)) return 'f32';
  if (shape.length > 2) return 'f16';
  return modelType;
}

export interface GgmlModelContents {
  hparams: WhisperHparams;
  filters: MelFilterbank;
  /** ordinary tokens' bytes, id order */
  vocab: Buffer[];
  tensors: WhisperTensor[];
}

/** Progress is reported in tensor elements converted so far / in all. */
export type ProgressFn = (done: number, total: number) => void;

export async function writeGgmlModel(path: string, contents: GgmlModelContents, modelType: GgmlOutputType, onProgress?: ProgressFn): Promise<void> {
  const { hparams: h, filters, vocab, tensors } = contents;
  if (filters.nMels !== h.nMels) throw new Error(`mel filterbank has ${filters.nMels} bands, the model wants ${h.nMels}`);
  const handle = await open(path, 'w');
  const out = new BufferedWriter(handle);
  try {
    const header = new Int32Array([
      GGML_MAGIC,
      h.nVocab,
      h.nAudioCtx,
      h.nAudioState,
      h.nAudioHead,
      h.nAudioLayer,
      h.nTextCtx,
      h.nTextState,
      h.nTextHead,
      h.nTextLayer,
      h.nMels,
      ftypeCode(modelType),
      filters.nMels,
      filters.nBins,
    ]);
    await out.write(int32s(header));
    await out.write(encodeValues('f32', filters.data));
    await out.write(int32s([vocab.length]));
    for (const token of vocab) {
      await out.write(int32s([token.length]));
      await out.write(token);
    }

    const total = tensors.reduce((sum, t) => sum + elementCount(t.source.shape), 0);
    let done = 0;
    onProgress?.(0, total);
    for (const { name, source } of tensors) {
      const shape = source.shape;
      const type = tensorStorageType(name, shape, modelType);
      const rowLength = shape[shape.length - 1];
      if ((type === 'q8_0' || type === 'q5_0') && rowLength % BLOCK_SIZE !== 0) {
        throw new Error(`cannot quantize ${name} to ${type}: rows of ${rowLength} values are not a multiple of ${BLOCK_SIZE}`);
      }
      const nameBytes = Buffer.from(name, 'utf8');
      const ne = [...shape].reverse();
      await out.write(int32s([shape.length, nameBytes.length, GGML_TYPE[type], ...ne]));
      await out.write(nameBytes);
      const count = elementCount(shape);
      const step = Math.max(rowLength, Math.floor(CHUNK_ELEMENTS / rowLength) * rowLength);
      for (let start = 0; start < count; start += step) {
        const n = Math.min(step, count - start);
        const values = await source.read(start, n);
        await out.write(encodeValues(type, values));
        done += n;
        onProgress?.(done, total);
      }
    }
    await out.flush();
  } finally {
    await handle.close();
  }
}

function int32s(values: ArrayLike<number>): Buffer {
  const buffer = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) buffer.writeInt32LE(values[i] | 0, i * 4);
  return buffer;
}

/** Batches the many small header writes into large ones. */
class BufferedWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(data: Buffer): Promise<void> {
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written);
      written += bytesWritten;
    }
  }
}
