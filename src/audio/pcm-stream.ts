// Interleaved integer PCM of any rate, width and channel count → 16 kHz mono float, chunk by chunk.
// Used by the protocol interfaces (Wyoming audio-chunk, OpenAI Realtime pcm16 at 24 kHz).
import { SAMPLE_RATE, StreamResampler } from './pcm.js';

export interface PcmFormat {
  /** Hz */
  rate: number;
  /** bytes per sample: 1 (signed 8-bit, as Python's audioop reads it), 2, 3 or 4 (signed little-endian) */
  width: number;
  channels: number;
}

export const MAX_RATE = 192_000;
export const MAX_CHANNELS = 32;

/** Why this format cannot be read, or null when it can. */
export function checkPcmFormat(f: PcmFormat): string | null {
  if (!Number.isInteger(f.rate) || f.rate < 1000 || f.rate > MAX_RATE) return `rate must be an integer from 1000 to ${MAX_RATE} Hz`;
  if (![1, 2, 3, 4].includes(f.width)) return 'width must be 1, 2, 3 or 4 bytes';
  if (!Number.isInteger(f.channels) || f.channels < 1 || f.channels > MAX_CHANNELS) return `channels must be an integer from 1 to ${MAX_CHANNELS}`;
  return null;
}

export function samePcmFormat(a: PcmFormat, b: PcmFormat): boolean {
  return a.rate === b.rate && a.width === b.width && a.channels === b.channels;
}

/** Keeps bytes of a split frame for the next chunk, so chunk borders never shift samples. */
export class PcmToMono16k {
  private carry: Buffer = Buffer.alloc(0);
  private readonly resampler: StreamResampler | undefined;
  private readonly frameBytes: number;

  constructor(readonly format: PcmFormat) {
    const problem = checkPcmFormat(format);
    if (problem) throw new RangeError(problem);
    this.frameBytes = format.width * format.channels;
    this.resampler = format.rate === SAMPLE_RATE ? undefined : new StreamResampler(format.rate, SAMPLE_RATE);
  }

  /** seconds of input audio converted so far */
  inputSeconds = 0;

  push(bytes: Buffer): Float32Array {
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const frames = Math.floor(buf.length / this.frameBytes);
    this.carry = Buffer.from(buf.subarray(frames * this.frameBytes));
    const { width, channels } = this.format;
    const mono = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += readSample(buf, (i * channels + c) * width, width);
      mono[i] = sum / channels;
    }
    this.inputSeconds += frames / this.format.rate;
    return this.resampler ? this.resampler.push(mono) : mono;
  }
}

function readSample(buf: Buffer, at: number, width: number): number {
  switch (width) {
    case 1:
      return buf.readInt8(at) / 128;
    case 2:
      return buf.readInt16LE(at) / 32768;
    case 3:
      return buf.readIntLE(at, 3) / 8388608;
    default:
      return buf.readInt32LE(at) / 2147483648;
  }
}
