// Test audio: espeak-ng speech, Debian test recordings and silence, all as 16 kHz mono int16.
import { execFileSync } from 'node:child_process';
import { concatInt16 } from '../../../src/audio/pcm.js';

export const RATE = 16000;
export const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
export const SENTENCE_0870 = `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0870.wav`;
export const NOISE = '/usr/share/sounds/alsa/Noise.wav';

/** Decodes any audio file with ffmpeg to 16 kHz mono int16. */
export function decodeFile(path: string): Int16Array {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-i', path, '-f', 's16le', '-ac', '1', '-ar', String(RATE), '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2).slice();
}

/** espeak-ng speech, resampled to 16 kHz. */
export function speak(text: string, voice = 'en-gb-x-rp', speed = 150): Int16Array {
  const wav = execFileSync('espeak-ng', ['-v', voice, '-s', String(speed), '--stdout', text]);
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', '-', '-f', 's16le', '-ac', '1', '-ar', String(RATE), '-'], { input: wav });
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2).slice();
}

export function silence(seconds: number): Int16Array {
  return new Int16Array(Math.round(seconds * RATE));
}

export function concat(...parts: Int16Array[]): Int16Array {
  return concatInt16(parts);
}

/** Whole 1280-sample chunks, zero-padding the tail. */
export function* chunksOf(audio: Int16Array, size = 1280): Generator<Int16Array> {
  for (let at = 0; at < audio.length; at += size) {
    const chunk = audio.subarray(at, at + size);
    if (chunk.length === size) yield chunk;
    else {
      const padded = new Int16Array(size);
      padded.set(chunk);
      yield padded;
    }
  }
}

export function toBytes(audio: Int16Array): Buffer {
  return Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
}
