// 16-bit float conversions. Node 20 has no Float16Array, and ggml needs IEEE binary16 with
// round-to-nearest-even (what F16C's _cvtss_sh and ggml's software fallback both produce).

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE binary16 bits → number, built once as a 64 Ki lookup table (fast for bulk decode). */
const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    let value: number;
    if (exp === 0) value = mant * 2 ** -24;
    else if (exp === 0x1f) value = mant ? NaN : Infinity;
    else value = (1 + mant / 1024) * 2 ** (exp - 15);
    table[h] = sign * value;
  }
  return table;
})();

export function halfToFloat(bits: number): number {
  return HALF_TO_FLOAT[bits & 0xffff];
}

/** number (taken as float32) → IEEE binary16 bits, round to nearest, ties to even. */
export function floatToHalf(value: number): number {
  scratch.setFloat32(0, value);
  return halfFromBits(scratch.getUint32(0));
}

/** Decodes little-endian binary16 values from `bytes` into `out`. */
export function decodeHalfArray(bytes: Uint8Array, out: Float32Array): void {
  const n = out.length;
  for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = HALF_TO_FLOAT[bytes[j] | (bytes[j + 1] << 8)];
}

/** Decodes little-endian bfloat16 values from `bytes` into `out`. */
export function decodeBfloat16Array(bytes: Uint8Array, out: Float32Array): void {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) u32[i] = (bytes[j] | (bytes[j + 1] << 8)) << 16;
}

/** Encodes float32 values as little-endian binary16 into `out` (2 bytes per value). */
export function encodeHalfArray(values: Float32Array, out: Uint8Array): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0, j = 0; i < values.length; i++, j += 2) {
    const h = halfFromBits(bits[i]);
    out[j] = h & 0xff;
    out[j + 1] = h >>> 8;
  }
}

/** float32 bit pattern → binary16 bits, round to nearest, ties to even. */
function halfFromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Result is subnormal (or zero): shift the full significand down into 2^-24 units.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}
