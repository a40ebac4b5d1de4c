// A uniform, lazy view of one weight tensor in some source file (CTranslate2, safetensors, ggml).
// Readers hand out SourceTensors; the Whisper mapping slices/reshapes them; the ggml writer pulls
// float32 values from them in bounded chunks. Nothing here holds a whole model in memory.
import { decodeBfloat16Array, decodeHalfArray } from './half.js';
import type { BinaryFile } from './binary-file.js';
import { endianness } from 'node:os';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export type StorageDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int8' | 'int16' | 'int32';

export interface SourceTensor {
  /** name in the source file (for error messages) */
  readonly name: string;
  /** row-major shape, outermost dimension first (PyTorch order) */
  readonly shape: readonly number[];
  readonly dtype: StorageDtype;
  /** Reads `count` elements starting at flat element index `start`, as float32 (dequantized). */
  read(start: number, count: number): Promise<Float32Array>;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function bytesPerElement(dtype: StorageDtype): number {
  switch (dtype) {
    case 'float64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    case 'int8':
      return 1;
  }
}

/** Decodes little-endian values of `dtype` into a new Float32Array. */
export function decodeToFloat32(bytes: Buffer, dtype: StorageDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'float32':
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      else for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = bytes.readDoubleLE(i * 8);
      break;
    case 'float16':
      decodeHalfArray(bytes, out);
      break;
    case 'bfloat16':
      decodeBfloat16Array(bytes, out);
      break;
    case 'int8':
      out.set(new Int8Array(bytes.buffer, bytes.byteOffset, count));
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt16LE(i * 2);
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt32LE(i * 4);
      break;
  }
  return out;
}

/** A tensor stored contiguously at `offset` in `file`. */
export function fileTensor(file: BinaryFile, name: string, shape: readonly number[], dtype: StorageDtype, offset: number): SourceTensor {
  const size = bytesPerElement(dtype);
  const total = elementCount(shape);
  return {
    name,
    shape,
    dtype,
    async read(start, count) {
      checkRange(name, total, start, count);
      const bytes = await file.read(offset + start * size, count * size, `tensor ${name}`);
      return decodeToFloat32(bytes, dtype, count);
    },
  };
}

/**
 * Integer weights with one scale per outer row (CTranslate2 int8) or one scale for all
 * (CTranslate2 int16): the real value is stored / scale.
 */
export function scaledTensor(raw: SourceTensor, scales: Float32Array): SourceTensor {
  const rows = raw.shape[0] ?? 1;
  const rowLength = elementCount(raw.shape) / rows;
  if (scales.length !== 1 && scales.length !== rows) {
    throw new Error(`tensor ${raw.name}: ${scales.length} scales for ${rows} rows`);
  }
  return {
    name: raw.name,
    shape: raw.shape,
    dtype: 'float32',
    async read(start, count) {
      const values = await raw.read(start, count);
      // Walk row by row so each row's scale is looked up once.
      for (let i = 0; i < count; ) {
        const row = Math.floor((start + i) / rowLength);
        const rowEnd = Math.min(count, (row + 1) * rowLength - start);
        const scale = scales.length === 1 ? scales[0] : scales[row];
        for (; i < rowEnd; i++) values[i] /= scale;
      }
      return values;
    },
  };
}

/** Rows [firstRow, firstRow + rows) of `source` along its outermost dimension. */
export function sliceRows(source: SourceTensor, firstRow: number, rows: number): SourceTensor {
  const outer = source.shape[0];
  if (firstRow < 0 || firstRow + rows > outer) {
    throw new Error(`tensor ${source.name}: rows ${firstRow}..${firstRow + rows} are outside its ${outer} rows`);
  }
  const rowLength = elementCount(source.shape) / outer;
  const shape = [rows, ...source.shape.slice(1)];
  const total = elementCount(shape);
  return {
    name: `${source.name}[${firstRow}:${firstRow + rows}]`,
    shape,
    dtype: source.dtype,
    async read(start, count) {
      checkRange(source.name, total, start, count);
      return source.read(firstRow * rowLength + start, count);
    },
  };
}

/** The same values under another shape with the same element count. */
export function reshape(source: SourceTensor, shape: readonly number[]): SourceTensor {
  if (elementCount(shape) !== elementCount(source.shape)) {
    throw new Error(`tensor ${source.name}: cannot reshape [${source.shape}] to [${shape}]`);
  }
  return { name: source.name, shape, dtype: source.dtype, read: (start, count) => source.read(start, count) };
}

/** Reads a whole (small) tensor. */
export async function readAll(source: SourceTensor): Promise<Float32Array> {
  return source.read(0, elementCount(source.shape));
}

function checkRange(name: string, total: number, start: number, count: number): void {
  if (start < 0 || count < 0 || start + count > total) {
    throw new Error(`tensor ${name}: elements ${start}..${start + count} are outside its ${total} elements`);
  }
}
