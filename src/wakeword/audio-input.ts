// Where the client's audio comes from: the microphone through whatever recorder the platform has, a file decoded
// by ffmpeg, or raw s16le 16 kHz mono on stdin. Everything comes out as 16 kHz mono int16 in 80 ms chunks.
import { executableSearch } from '../config/env.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { CHUNK_SAMPLES, SAMPLE_RATE } from './features.js';

export interface AudioInputOptions {
  /** 'mic', '-' for stdin, or a file path (any format ffmpeg reads). */
  input: string;
  /** Recorder-specific device name (ALSA/pulse name, avfoundation index or name, dshow name). */
  device?: string;
  /** Pace files and stdin at real time instead of as fast as they decode. */
  realtime?: boolean;
  /** Called with human-readable notices (device lost, reopening…). */
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

export interface RecorderCommand {
  command: string;
  args: string[];
}

/** Finds an executable on PATH (with Windows extensions), or null. */
export function which(name: string): string | null {
  const search = executableSearch();
  const exts = process.platform === 'win32' ? (search.extensions ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of search.dirs.split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // keep looking
      }
    }
  }
  return null;
}

const S16_16K_MONO = ['-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '1', '-ar', String(SAMPLE_RATE)];

/** The first microphone recorder this platform has, producing raw s16le 16 kHz mono on stdout. */
export function microphoneCommand(device?: string, platform = process.platform, has = (n: string) => which(n) !== null): RecorderCommand {
  const ffmpeg = (format: string, input: string): RecorderCommand => ({
    command: 'ffmpeg',
    args: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', format, '-i', input, ...S16_16K_MONO, '-'],
  });
  const sox = (): RecorderCommand => ({
    command: 'sox',
    args: [
      '-q',
      ...(device ? ['-t', platform === 'darwin' ? 'coreaudio' : 'alsa', device] : ['-d']),
      '-t',
      'raw',
      '-e',
      'signed-integer',
      '-b',
      '16',
      '-c',
      '1',
      '-r',
      String(SAMPLE_RATE),
      '-L',
      '-',
    ],
  });
  if (platform === 'linux') {
    if (has('arecord'))
      return { command: 'arecord', args: ['-q', '-t', 'raw', '-f', 'S16_LE', '-c', '1', '-r', String(SAMPLE_RATE), ...(device ? ['-D', device] : [])] };
    if (has('ffmpeg'))
      return has('pactl') || has('pulseaudio') || has('pipewire-pulse') ? ffmpeg('pulse', device ?? 'default') : ffmpeg('alsa', device ?? 'default');
    if (has('sox')) return sox();
  } else if (platform === 'darwin') {
    if (has('ffmpeg')) return ffmpeg('avfoundation', `:${device ?? '0'}`);
    if (has('sox')) return sox();
  } else if (platform === 'win32') {
    if (has('ffmpeg')) {
      if (!device) throw new Error('on Windows pass --device "<name>" (see earshot listen --list-devices)');
      return ffmpeg('dshow', `audio=${device}`);
    }
  }
  throw new Error(`no microphone recorder found for ${platform}: install ffmpeg${platform === 'linux' ? ', alsa-utils (arecord)' : ''} or sox`);
}

/** Lists capture devices with the platform's own tools; returns printable text. */
export async function listDevices(platform = process.platform): Promise<string> {
  const sections: string[] = [];
  const run = async (title: string, command: string, args: string[], stream: 'stdout' | 'stderr' = 'stdout') => {
    if (!which(command)) return;
    const { stdout, stderr } = await collect(command, args);
    const text = (stream === 'stdout' ? stdout : stderr).trim();
    if (text) sections.push(`# ${title}\n${text}`);
  };
  if (platform === 'linux') {
    await run('ALSA capture devices (arecord -l; pass the card as --device hw:CARD,DEV or a name below)', 'arecord', ['-l']);
    await run('ALSA PCM names (arecord -L)', 'arecord', ['-L']);
    await run('PulseAudio/PipeWire sources (pactl list short sources)', 'pactl', ['list', 'short', 'sources']);
  } else if (platform === 'darwin') {
    await run(
      'avfoundation devices (pass the audio index as --device)',
      'ffmpeg',
      ['-hide_banner', '-f', 'avfoundation', '-list_devices', 'true', '-i', ''],
      'stderr',
    );
  } else if (platform === 'win32') {
    await run(
      'DirectShow devices (pass the quoted audio name as --device)',
      'ffmpeg',
      ['-hide_banner', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy'],
      'stderr',
    );
  }
  return sections.length ? sections.join('\n\n') : 'no capture devices found (is arecord, pactl or ffmpeg installed?)';
}

function collect(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', () => resolve({ stdout, stderr }));
    child.on('close', () => resolve({ stdout, stderr }));
  });
}

/** Yields 80 ms chunks (1280 samples) from the configured input until it ends or the signal aborts. */
export async function* audioChunks(options: AudioInputOptions): AsyncGenerator<Int16Array> {
  const chunks = options.input === 'mic' ? microphoneBytes(options) : fileBytes(options);
  const paced = options.realtime && options.input !== 'mic' ? pace(chunks) : chunks;
  yield* rechunk(paced);
}

async function* fileBytes(options: AudioInputOptions): AsyncGenerator<Buffer> {
  if (options.input === '-') {
    yield* readable(process.stdin, options.signal);
    return;
  }
  if (!which('ffmpeg')) throw new Error('ffmpeg is needed to decode audio files; install it or pipe raw s16le 16 kHz mono into --input -');
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', options.input, '-vn', ...S16_16K_MONO, '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = tail(child);
  try {
    yield* readable(child.stdout!, options.signal);
  } finally {
    const code = await exited(child);
    if (code !== 0 && code !== null && !options.signal?.aborted) {
      // biome-ignore lint/correctness/noUnsafeFinally: ffmpeg's own failure says more than the stream's end it caused
      throw new Error(`ffmpeg could not decode ${options.input}: ${stderr().trim() || `exit ${code}`}`);
    }
  }
}

/** The microphone, reopened with exponential backoff whenever the recorder exits (device unplugged, server restart). */
async function* microphoneBytes(options: AudioInputOptions): AsyncGenerator<Buffer> {
  let backoffMs = 500;
  for (;;) {
    if (options.signal?.aborted) return;
    const recorder = microphoneCommand(options.device);
    const child = spawn(recorder.command, recorder.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = tail(child);
    let received = 0;
    try {
      for await (const buf of readable(child.stdout!, options.signal)) {
        received += buf.length;
        if (received > SAMPLE_RATE * 2) backoffMs = 500; // a second of audio: the device works again
        yield buf;
      }
    } finally {
      if (child.exitCode === null) child.kill();
    }
    const code = await exited(child);
    if (options.signal?.aborted) return;
    options.onNotice?.(
      `microphone (${recorder.command}) stopped${code !== null ? ` with exit ${code}` : ''}${stderr().trim() ? `: ${stderr().trim().split('\n').pop()}` : ''}; reopening in ${(backoffMs / 1000).toFixed(1)} s`,
    );
    await sleep(backoffMs, undefined, { signal: options.signal }).catch(() => undefined);
    backoffMs = Math.min(backoffMs * 2, 30_000);
  }
}

async function* readable(stream: Readable, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const onAbort = () => stream.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const buf of stream) {
      if (signal?.aborted) return;
      yield buf as Buffer;
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Cuts a byte stream into 1280-sample int16 chunks; the tail is zero-padded to a whole chunk. */
export async function* rechunk(bytes: AsyncIterable<Buffer>): AsyncGenerator<Int16Array> {
  const chunkBytes = CHUNK_SAMPLES * 2;
  let pending: Buffer = Buffer.alloc(0);
  for await (const buf of bytes) {
    pending = pending.length ? Buffer.concat([pending, buf]) : buf;
    let offset = 0;
    while (pending.length - offset >= chunkBytes) {
      yield toInt16(pending.subarray(offset, offset + chunkBytes));
      offset += chunkBytes;
    }
    pending = pending.subarray(offset);
  }
  if (pending.length >= 2) {
    const last = new Int16Array(CHUNK_SAMPLES);
    last.set(toInt16(pending.subarray(0, pending.length - (pending.length % 2))));
    yield last;
  }
}

function toInt16(bytes: Buffer): Int16Array {
  const out = new Int16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

/** Holds a byte stream back to real time (16 kHz int16 = 32000 bytes a second). */
async function* pace(bytes: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const started = performance.now();
  let sent = 0;
  for await (const buf of bytes) {
    const dueMs = (sent / (SAMPLE_RATE * 2)) * 1000;
    const waitMs = dueMs - (performance.now() - started);
    if (waitMs > 1) await sleep(waitMs);
    sent += buf.length;
    yield buf;
  }
}

function tail(child: ChildProcess, limit = 4000): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text = (text + d.toString()).slice(-limit);
  });
  return () => text;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
}
