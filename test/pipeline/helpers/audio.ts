// Test-only audio helpers: decode real files with ffmpeg to 16 kHz mono float32, build streams
// from speech, silence and noise, and know where the speech was put.
import { execFileSync } from 'node:child_process';

export const SR = 16000;
export const POCKETSPHINX = '/usr/share/pocketsphinx/test/data';
export const LIBRIVOX = `${POCKETSPHINX}/librivox`;
export const CARDS = `${POCKETSPHINX}/cards`;
export const ALSA_NOISE = '/usr/share/sounds/alsa/Noise.wav';

export const librivox = (id: string) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${id}.wav`;
export const card = (id: string) => `${CARDS}/${id}.wav`;

const cache = new Map<string, Float32Array>();

/** Decodes any file ffmpeg reads to 16 kHz mono float32 (cached per path). */
export function decode16k(path: string): Float32Array {
  const hit = cache.get(path);
  if (hit) return hit;
  const out = execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-i', path, '-ar', String(SR), '-ac', '1', '-f', 'f32le', '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  const audio = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  cache.set(path, audio);
  return audio;
}

export function silence(seconds: number): Float32Array {
  return new Float32Array(Math.round(seconds * SR));
}

export function scaled(audio: Float32Array, gain: number): Float32Array {
  return audio.map((x) => x * gain);
}

export interface Piece {
  kind: 'speech' | 'silence' | 'noise';
  audio: Float32Array;
  label?: string;
}

export interface PlacedPiece extends Piece {
  start: number; // seconds
  end: number;
}

/** Joins pieces into one stream and reports where each one landed. */
export function compose(pieces: Piece[]): { audio: Float32Array; placed: PlacedPiece[] } {
  const total = pieces.reduce((n, p) => n + p.audio.length, 0);
  const audio = new Float32Array(total);
  const placed: PlacedPiece[] = [];
  let at = 0;
  for (const p of pieces) {
    audio.set(p.audio, at);
    placed.push({ ...p, start: at / SR, end: (at + p.audio.length) / SR });
    at += p.audio.length;
  }
  return { audio, placed };
}

/** Splits audio into chunks of varying sizes, the way a network client delivers it. */
export function* chunked(audio: Float32Array, sizes: number[] = [160, 1024, 4000, 333, 8000]): Generator<Float32Array> {
  let at = 0;
  let i = 0;
  while (at < audio.length) {
    const n = sizes[i++ % sizes.length];
    yield audio.subarray(at, Math.min(at + n, audio.length));
    at += n;
  }
}

export function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}
