// ggml's block quantization formats, computed exactly as ggml's reference quantizers do
// (float32 arithmetic at each step), so our files match whisper-quantize's byte for byte.
//   q8_0: blocks of 32 values → f16 scale d = amax/127, then 32 × int8 round(x/d)      (34 bytes)
//   q5_0: blocks of 32 values → f16 scale d = max/-16 (max = value of largest magnitude),
//         then 32 × 5-bit (x/d + 16.5 truncated, capped at 31): low nibbles packed in pairs
//         (value j with value j+16), the 32 fifth bits in a little-endian u32             (22 bytes)
import { encodeHalfArray, floatToHalf } from './half.js';

export type GgmlOutputType = 'f32' | 'f16' | 'q8_0' | 'q5_0';

export const BLOCK_SIZE = 32;

/** ggml_type ids as stored per tensor in the file. */
export const GGML_TYPE = { f32: 0, f16: 1, q5_0: 6, q8_0: 8 } as const;

/** Bytes needed for `count` values (count must be a multiple of 32 for the block types). */
export function encodedSize(type: GgmlOutputType, count: number): number {
  switch (type) {
    case 'f32':
      return count * 4;
    case 'f16':
      return count * 2;
    case 'q8_0':
      return (count / BLOCK_SIZE) * 34;
    case 'q5_0':
      return (count / BLOCK_SIZE) * 22;
  }
}

/** Encodes float32 values into the given ggml storage type. */
export function encodeValues(type: GgmlOutputType, values: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(encodedSize(type, values.length));
  switch (type) {
    case 'f32':
      for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i], i * 4);
      break;
    case 'f16':
      encodeHalfArray(values, out);
      break;
    case 'q8_0':
      quantizeQ8_0(values, out);
      break;
    case 'q5_0':
      quantizeQ5_0(values, out);
      break;
  }
  return out;
}

const f = Math.fround;

/** C's roundf: halves go away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

function checkBlocks(values: Float32Array): void {
  if (values.length % BLOCK_SIZE !== 0) {
    throw new Error(`cannot block-quantize ${values.length} values: not a multiple of ${BLOCK_SIZE}`);
  }
}

export function quantizeQ8_0(values: Float32Array, out: Uint8Array): void {
  checkBlocks(values);
  for (let block = 0, o = 0; block < values.length; block += BLOCK_SIZE, o += 34) {
    let amax = 0;
    for (let j = 0; j < BLOCK_SIZE; j++) amax = Math.max(amax, Math.abs(values[block + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    const h = floatToHalf(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < BLOCK_SIZE; j++) out[o + 2 + j] = roundHalfAway(f(values[block + j] * id)) & 0xff;
  }
}

export function quantizeQ5_0(values: Float32Array, out: Uint8Array): void {
  checkBlocks(values);
  const half = BLOCK_SIZE / 2;
  for (let block = 0, o = 0; block < values.length; block += BLOCK_SIZE, o += 22) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < BLOCK_SIZE; j++) {
      const v = values[block + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -16);
    const id = d ? f(1 / d) : 0;
    const h = floatToHalf(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    let qh = 0;
    for (let j = 0; j < half; j++) {
      const q0 = Math.min(31, Math.trunc(f(f(values[block + j] * id) + 16.5)));
      const q1 = Math.min(31, Math.trunc(f(f(values[block + half + j] * id) + 16.5)));
      out[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + half);
    }
    out[o + 2] = qh & 0xff;
    out[o + 3] = (qh >>> 8) & 0xff;
    out[o + 4] = (qh >>> 16) & 0xff;
    out[o + 5] = (qh >>> 24) & 0xff;
  }
}
