// Any common container/codec → 16 kHz mono float32, through an ffmpeg subprocess fed as a stream.
import { formatBytes } from '../util/bytes.js';
import { ffmpegCommand } from '../config/env.js';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SAMPLE_RATE } from './pcm.js';
import { s16leToFloat32 } from './pcm.js';

export type AudioErrorCode = 'empty_audio' | 'undecodable_audio' | 'unsupported_media' | 'audio_too_large' | 'audio_too_long' | 'decoder_unavailable';

export class AudioError extends Error {
  constructor(
    readonly code: AudioErrorCode,
    message: string,
    /** audio_too_long: seconds decoded when the decode was stopped (the limit stops it early, not after all of it) */
    readonly decodedSeconds?: number,
  ) {
    super(message);
    this.name = 'AudioError';
  }
}

/**
 * NaN or ±Inf samples (float WAV or raw f32 written by a broken encoder, or crafted) would reach the
 * engines, whose mel and VAD arithmetic turn one of them into a whole window of garbage: refuse them.
 */
function refuseNonFinite(samples: Float32Array): void {
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      throw new AudioError('undecodable_audio', `the audio holds NaN or infinite samples (first at ${(i / SAMPLE_RATE).toFixed(3)} s)`);
    }
  }
}

export interface DecodeLimits {
  /** bytes of encoded input */
  maxBytes: number;
  /** seconds of decoded audio */
  maxSeconds: number;
}

export interface DecodeInput {
  /** the upload, as it arrives */
  stream: Readable;
  filename?: string;
  mimetype?: string;
  /** force raw PCM interpretation (seed 000 posts audio.raw: s16le, 16 kHz, mono) */
  raw?: { sampleRate: number; encoding: 'pcm_s16le' | 'pcm_f32le' };
}

export interface DecodedAudio {
  samples: Float32Array;
  duration: number;
  /** how it was read: 'ffmpeg' or 'raw' */
  via: 'ffmpeg' | 'raw';
  inputBytes: number;
}

const RAW_EXTENSIONS = /\.(raw|pcm|s16|s16le)$/i;
const RAW_MIME = /^audio\/(l16|pcm|x-raw|raw)/i;
const TEXT_MIME = /^(text\/|application\/(json|xml|javascript|pdf))/i;

/** Decide from the upload's name and type whether it is headerless PCM. */
export function looksRaw(filename?: string, mimetype?: string): boolean {
  return (filename !== undefined && RAW_EXTENSIONS.test(filename)) || (mimetype !== undefined && RAW_MIME.test(mimetype));
}

/** Counts bytes through a stream and fails it past the limit, so uploads are never buffered unbounded. */
async function* limited(stream: AsyncIterable<Buffer>, maxBytes: number, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    onBytes(total);
    if (total > maxBytes) throw new AudioError('audio_too_large', `audio exceeds the ${formatBytes(maxBytes)} upload limit`);
    yield chunk;
  }
}

export async function decodeAudio(input: DecodeInput, limits: DecodeLimits): Promise<DecodedAudio> {
  if (input.mimetype && TEXT_MIME.test(input.mimetype)) {
    input.stream.resume();
    throw new AudioError(
      'unsupported_media',
      `unsupported media type ${input.mimetype}: send audio (wav, flac, mp3, ogg/opus, webm, m4a) or raw 16 kHz s16le PCM`,
    );
  }
  const raw = input.raw ?? (looksRaw(input.filename, input.mimetype) ? { sampleRate: SAMPLE_RATE, encoding: 'pcm_s16le' as const } : undefined);
  if (raw && raw.sampleRate === SAMPLE_RATE) return decodeRawDirect(input.stream, raw.encoding, limits);
  return decodeWithFfmpeg(input, limits, raw);
}

async function decodeRawDirect(stream: Readable, encoding: 'pcm_s16le' | 'pcm_f32le', limits: DecodeLimits): Promise<DecodedAudio> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const bytesPerSample = encoding === 'pcm_s16le' ? 2 : 4;
  const maxBytes = Math.min(limits.maxBytes, Math.ceil(limits.maxSeconds * SAMPLE_RATE) * bytesPerSample);
  for await (const chunk of limited(stream, limits.maxBytes, (n) => (bytes = n))) {
    if (bytes > maxBytes) {
      stream.resume();
      throw new AudioError('audio_too_long', `audio is longer than the ${limits.maxSeconds} s limit`);
    }
    chunks.push(chunk);
  }
  const all = Buffer.concat(chunks);
  if (all.length < bytesPerSample) throw new AudioError('empty_audio', 'the audio upload is empty');
  const usable = all.subarray(0, all.length - (all.length % bytesPerSample));
  const samples =
    encoding === 'pcm_s16le' ? s16leToFloat32(usable) : new Float32Array(usable.buffer.slice(usable.byteOffset, usable.byteOffset + usable.length));
  if (encoding === 'pcm_f32le') refuseNonFinite(samples);
  return { samples, duration: samples.length / SAMPLE_RATE, via: 'raw', inputBytes: all.length };
}

/** ISO-BMFF (mp4/m4a/mov) keeps its index where it likes, often at the end: those need a seekable file. */
function needsSeekableInput(head: Buffer): boolean {
  return head.length >= 12 && head.toString('latin1', 4, 8) === 'ftyp';
}

async function decodeWithFfmpeg(input: DecodeInput, limits: DecodeLimits, raw?: DecodeInput['raw']): Promise<DecodedAudio> {
  let inputBytes = 0;
  const source = limited(input.stream as AsyncIterable<Buffer>, limits.maxBytes, (n) => (inputBytes = n));
  // Peek at the first chunk to choose between piping and spooling.
  const first = await source.next();
  if (first.done || first.value.length === 0) throw new AudioError('empty_audio', 'the audio upload is empty');
  const head = first.value;
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    yield* source;
  }

  let spoolDir: string | undefined;
  const inputArgs: string[] = raw ? ['-f', raw.encoding === 'pcm_s16le' ? 's16le' : 'f32le', '-ar', String(raw.sampleRate), '-ac', '1'] : [];
  let inputPath = 'pipe:0';
  try {
    if (!raw && needsSeekableInput(head)) {
      spoolDir = await mkdtemp(join(tmpdir(), 'earshot-decode-'));
      inputPath = join(spoolDir, 'input');
      await pipeline(Readable.from(rest()), createWriteStream(inputPath));
    }
    return await runFfmpeg([...inputArgs, '-i', inputPath], inputPath === 'pipe:0' ? Readable.from(rest()) : undefined, limits, () => inputBytes);
  } finally {
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  }
}

function runFfmpeg(inputArgs: string[], stdin: Readable | undefined, limits: DecodeLimits, inputBytes: () => number): Promise<DecodedAudio> {
  const maxSamples = Math.ceil(limits.maxSeconds * SAMPLE_RATE);
  return new Promise<DecodedAudio>((resolve, reject) => {
    const ff = spawn(
      ffmpegCommand(),
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-threads',
        '1',
        ...inputArgs,
        '-vn',
        '-map',
        '0:a:0',
        '-ac',
        '1',
        '-ar',
        String(SAMPLE_RATE),
        '-f',
        'f32le',
        'pipe:1',
      ],
      { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: AudioError | undefined;
    const fail = (err: AudioError) => {
      if (!failure) failure = err;
      ff.kill('SIGKILL');
    };
    ff.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= new AudioError(
        'decoder_unavailable',
        err.code === 'ENOENT' ? 'ffmpeg is not installed (Debian: apt-get install ffmpeg)' : `ffmpeg failed to start: ${err.message}`,
      );
    });
    ff.stdout!.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes / 4 > maxSamples) {
        fail(new AudioError('audio_too_long', `audio is longer than the ${limits.maxSeconds} s limit`, outBytes / 4 / SAMPLE_RATE));
        return;
      }
      chunks.push(chunk);
    });
    ff.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    if (stdin && ff.stdin) {
      ff.stdin.on('error', () => undefined); // ffmpeg may stop reading early (bad data, limit): not our error
      stdin.on('error', (err) => fail(err instanceof AudioError ? err : new AudioError('undecodable_audio', `upload failed: ${err.message}`)));
      stdin.pipe(ff.stdin);
    }
    ff.on('close', (code) => {
      if (failure) return reject(failure);
      const all = Buffer.concat(chunks);
      const usable = all.subarray(0, all.length - (all.length % 4));
      if (code !== 0 || usable.length === 0) {
        return reject(classifyFfmpegError(stderr, code, usable.length === 0));
      }
      const samples = new Float32Array(usable.buffer.slice(usable.byteOffset, usable.byteOffset + usable.length));
      try {
        refuseNonFinite(samples);
      } catch (err) {
        return reject(err);
      }
      resolve({ samples, duration: samples.length / SAMPLE_RATE, via: 'ffmpeg', inputBytes: inputBytes() });
    });
  });
}

function classifyFfmpegError(stderr: string, code: number | null, noOutput: boolean): AudioError {
  const detail = stderr
    .trim()
    .split('\n')
    .slice(-2)
    .join(' ')
    .replace(/pipe:0|\/tmp\/\S+/g, 'input')
    // "[pcm_s16le @ 0x55d0c8a3f800] " names a heap address, nothing a client can use
    .replace(/\[([\w,]+) @ 0x[0-9a-f]+\] ?/g, '$1: ');
  if (/matches no streams|does not contain any stream|Output file #0 does not contain/i.test(stderr)) {
    return new AudioError('unsupported_media', 'the upload contains no audio stream');
  }
  if (code === 0 && noOutput) return new AudioError('empty_audio', 'the audio contains no samples');
  return new AudioError('undecodable_audio', `could not decode the audio${detail ? `: ${detail}` : ''}`);
}

/** Decode a file on disk (CLI, tests, benchmarks). */
export async function decodeFile(path: string, limits: DecodeLimits = { maxBytes: 2 ** 40, maxSeconds: 24 * 3600 }): Promise<DecodedAudio> {
  const { createReadStream } = await import('node:fs');
  const { basename } = await import('node:path');
  return decodeAudio({ stream: createReadStream(path), filename: basename(path) }, limits);
}
