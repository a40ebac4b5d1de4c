// Shared by the protocol tests: the Python test venv, the Wyoming client script, test audio.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { ROOT } from '../helpers/server.js';
import { concat, decodeFile, silence, toBytes } from '../wakeword/helpers/audio.js';

export const VENV_PYTHON = join(ROOT, 'test', '.venv', 'bin', 'python');
const CLIENT = join(ROOT, 'test', 'protocols', 'wyoming_client.py');

/** Creates test/.venv with the `wyoming` package when it is missing (a second when it is there). */
export function ensureVenv(): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'test-venv.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export interface ClientLine {
  type: string;
  data?: Record<string, unknown>;
  /** seconds since the first audio chunk was sent */
  t?: number;
  after_stop?: boolean;
  [k: string]: unknown;
}

/** Runs the wyoming-package client; resolves with its JSON lines. */
export function runWyomingClient(args: string[], timeoutMs = 300_000): Promise<ClientLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(VENV_PYTHON, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`wyoming client exited ${code}:\n${err}\n${out}`));
      resolve(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ClientLine),
      );
    });
  });
}

export const workDir = mkdtempSync(join(tmpdir(), 'earshot-protocols-'));

/** 16 kHz mono int16 → raw PCM at another rate / channel count / sample width, through ffmpeg. */
export function rawPcm(audio: Int16Array, rate: number, channels: number, width: 2 | 4, name: string): string {
  const path = join(workDir, name);
  const codec = width === 2 ? 's16le' : 's32le';
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', '-', '-f', codec, '-ar', String(rate), '-ac', String(channels), '-'],
    { input: toBytes(audio), maxBuffer: 256 * 1024 * 1024 },
  );
  writeFileSync(path, raw);
  return path;
}

/** The five held-out LibriVox sentences with 1 s of silence around each, and their joined reference. */
export function librivoxStream(): { audio: Int16Array; reference: string; seconds: number } {
  const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
  const parts: Int16Array[] = [silence(1)];
  for (const c of clips) parts.push(decodeFile(c.path), silence(1));
  const audio = concat(...parts);
  return { audio, reference: clips.map((c) => c.reference).join(' '), seconds: audio.length / 16000 };
}
