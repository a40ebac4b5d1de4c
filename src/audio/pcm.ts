// PCM helpers shared by the decoder, the streaming path and the wake-word client.
import { encodeWavS16 } from './wav.js';

/** The sample rate of all audio inside Earshot: decoders, the pipeline and the engines speak 16 kHz mono. */
export const SAMPLE_RATE = 16000;

export function s16leToFloat32(buf: Buffer): Float32Array {
  const n = Math.floor(buf.length / 2);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(i * 2) / 32768;
  return out;
}

export function f32leToFloat32(buf: Buffer): Float32Array {
  const n = Math.floor(buf.length / 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export function float32ToS16le(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    out.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), i * 2);
  }
  return out;
}

/** Joins 16-bit PCM chunks into one buffer. */
export function concatInt16(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A 16-bit PCM mono WAV file. */
export function encodeWav(samples: Float32Array, sampleRate = SAMPLE_RATE): Buffer {
  const data = float32ToS16le(samples);
  return encodeWavS16(new Int16Array(data.buffer, data.byteOffset, data.length / 2), sampleRate);
}

/** Linear resampling for live streams arriving at another rate (files go through ffmpeg instead). */
export function resampleLinear(input: Float32Array, fromRate: number, toRate = SAMPLE_RATE): Float32Array {
  if (fromRate === toRate) return input;
  const ratio = fromRate / toRate;
  const n = Math.floor(input.length / ratio);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = i * ratio;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, input.length - 1);
    const f = x - i0;
    out[i] = input[i0]! * (1 - f) + input[i1]! * f;
  }
  return out;
}

/** Linear resampler that keeps its phase across chunks, for live streams at another rate. */
export class StreamResampler {
  private readonly step: number;
  private pos = 0;
  private last: number | undefined;

  constructor(
    readonly fromRate: number,
    readonly toRate = SAMPLE_RATE,
  ) {
    this.step = fromRate / toRate;
  }

  push(input: Float32Array): Float32Array {
    if (this.fromRate === this.toRate) return input;
    // Position `pos` is measured from the sample before input[0] (the previous chunk's last).
    const prev = this.last;
    const get = (i: number) => (i < 0 ? (prev ?? input[0]!) : input[i]!);
    const out: number[] = [];
    let pos = this.pos;
    while (pos <= input.length - 1) {
      const i0 = Math.floor(pos);
      const f = pos - i0;
      out.push(get(i0 - 1) * (1 - f) + get(i0) * f);
      pos += this.step;
    }
    this.pos = pos - input.length;
    if (input.length > 0) this.last = input[input.length - 1];
    return Float32Array.from(out);
  }
}
