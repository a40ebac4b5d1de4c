// The streaming peer: WhisperLiveKit (PyPI whisperlivekit, faster-whisper backend) under either of its
// policies, LocalAgreement or SimulStreaming (AlignAtt), on the same CTranslate2 base weights and the same
// stream layout as Earshot's stream section, driven over its own WebSocket (/asr, raw s16le PCM with
// --pcm-input) at real-time pace, one system at a time. It runs from a git-ignored venv (bench/.venv-wlk,
// made by bench/setup-whisperlivekit.sh); its code is never part of Earshot. Its Silero VAD is the copy
// bundled in the wheel, so nothing loads from GitHub.
//
// SimulStreaming encodes with faster-whisper (the CTranslate2 folder, --encoder-model-path) and decodes with
// WhisperLiveKit's copy of OpenAI's PyTorch Whisper, which needs an OpenAI-format checkpoint and the model's
// cross-attention alignment heads. Offline there is none, so bench/ct2-to-openai.py converts the very same
// CTranslate2 folder (cached in bench/.wlk-models/<model>/, keyed by model.bin's SHA-256).
//
// WhisperLiveKit has no per-utterance "final": it commits words (`lines`, with times) and shows the rest as
// `buffer_transcription`. So for each clip:
//   end-of-speech → final: from sending the clip's last speech sample (stream.ts speechBounds) to the first message whose committed lines
//                          reach the clip's end (last committed word ending within 0.5 s of it);
//   first text:            from sending the clip's first speech sample to the first message with more words
//                          (committed + buffer) than just before the clip began.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { encodeWav, float32ToS16le } from '../src/audio/pcm.js';
import { SAMPLE_RATE } from '../src/engines/types.js';
import { pooledWer } from '../src/eval/wer.js';
import { freePort } from '../src/util/free-port.js';
import type { BenchClip } from './lib/corpus.js';
import { BENCH_DIR, ct2ModelDir } from './lib/faster-whisper.js';
import { percentile, round, sum } from './lib/stats.js';
import { layout, type Placed } from './stream.js';

export const WLK_VENV = join(BENCH_DIR, '.venv-wlk');
/** OpenAI-format checkpoints converted from the CTranslate2 folders, for SimulStreaming's decoder (git-ignored) */
export const WLK_MODELS = join(BENCH_DIR, '.wlk-models');
/** the Whisper model both peers run: the CTranslate2 folder of the faster-whisper reference */
const MODEL = 'base';

export const WLK_POLICIES = ['localagreement', 'simulstreaming'] as const;
export type WlkPolicy = (typeof WLK_POLICIES)[number];

export interface WlkPlan {
  levels: number[];
  clipsPerStream: number;
  frameMs: number;
  drainTimeoutSeconds: number;
  sustainP95Seconds: number;
  policy: WlkPolicy;
}

export interface WlkLevel {
  streams: number;
  utterances: number;
  clipsWithoutFinal: number;
  finalLatency: { p50: number | null; p95: number | null; max: number | null };
  firstText: { p50: number | null; p95: number | null; measured: number };
  wer: number | null;
  errors: string[];
  sustained: boolean;
}

export interface WlkResult {
  system: string;
  version: string | null;
  policy: string;
  settings: string[];
  levels: WlkLevel[];
  maxSustainedStreams: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** "0:00:03.20" / "3.2" → seconds */
function seconds(v: unknown): number {
  if (typeof v === 'number') return v;
  const parts = String(v ?? '0')
    .split(':')
    .map(Number);
  return parts.reduce((a, p) => a * 60 + p, 0);
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

interface Snapshot {
  at: number;
  committedText: string;
  committedEnd: number;
  totalWords: number;
}

/** Run a venv Python script to completion; its stderr tail goes into the error when it fails. */
function runPython(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const py = spawn(join(WLK_VENV, 'bin', 'python'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    py.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    py.on('error', reject);
    py.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited with ${code}:\n${err}`))));
  });
}

/** The OpenAI-format checkpoint of `model` for SimulStreaming's decoder, converted from its CTranslate2 folder when missing or stale. */
export async function ensureDecoderCheckpoint(model: string, log: (line: string) => void): Promise<{ dir: string; alignmentHeads: string }> {
  const dir = join(WLK_MODELS, model);
  const started = performance.now();
  await runPython([join(BENCH_DIR, 'ct2-to-openai.py'), ct2ModelDir(model), dir]);
  const seconds = (performance.now() - started) / 1000;
  if (seconds > 2) log(`whisperlivekit: converted ${model} to an OpenAI-format checkpoint in ${seconds.toFixed(1)} s (${dir})`);
  return { dir, alignmentHeads: readFileSync(join(dir, 'alignment-heads.txt'), 'utf8').trim() };
}

/** The server's command-line flags for each policy; both encode with faster-whisper on the same CTranslate2 folder. */
async function policyArgs(policy: WlkPolicy, log: (line: string) => void): Promise<string[]> {
  const ct2 = ct2ModelDir(MODEL);
  if (policy === 'localagreement') return ['--backend', 'faster-whisper', '--backend-policy', 'localagreement', '--model-path', ct2];
  const decoder = await ensureDecoderCheckpoint(MODEL, log);
  return [
    '--backend',
    'faster-whisper',
    '--backend-policy',
    'simulstreaming',
    '--encoder-model-path',
    ct2,
    '--decoder-model-path',
    decoder.dir,
    // a checkpoint outside its own download table gets no heads by name: pass the folder's own
    '--custom-alignment-heads',
    decoder.alignmentHeads,
  ];
}

async function startWlk(plan: WlkPlan, warmupWav: string, log: (line: string) => void): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const bin = join(WLK_VENV, 'bin', 'whisperlivekit-server');
  if (!existsSync(bin)) throw new Error(`WhisperLiveKit is not installed (${bin}): run bench/setup-whisperlivekit.sh`);
  const port = await freePort();
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    ...(await policyArgs(plan.policy, log)),
    '--lan',
    'en',
    '--pcm-input',
    '--log-level',
    'WARNING',
    // its default warm-up file is a download; warm it on a local clip instead, as Earshot warms its engine
    '--warmup-file',
    warmupWav,
  ];
  // the same thread budget and wait policy as the faster-whisper reference; no network
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' };
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`WhisperLiveKit exited during startup:\n${out.slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`WhisperLiveKit not ready in 180 s:\n${out.slice(-3000)}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  log(`whisperlivekit: ready on ${url} (${plan.policy})`);
  return { url, child, output: () => out };
}

async function runStream(url: string, pool: BenchClip[], index: number, plan: WlkPlan): Promise<{ placed: Placed[]; snaps: Snapshot[]; errors: string[] }> {
  const { placed, samples } = layout(pool, index, plan.clipsPerStream);
  const pcm = float32ToS16le(samples);
  const frameSamples = Math.round((plan.frameMs / 1000) * SAMPLE_RATE);
  const snaps: Snapshot[] = [];
  const errors: string[] = [];
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/asr?language=en`);
  let onDone!: () => void;
  const done = new Promise<void>((r) => (onDone = r));
  ws.on('message', (data) => {
    const at = performance.now();
    const msg = JSON.parse(data.toString()) as Record<string, unknown>;
    if (msg.type === 'ready_to_stop') return onDone();
    if (msg.type === 'error' || msg.error) errors.push(String(msg.error ?? msg.message));
    if (!Array.isArray(msg.lines)) return;
    const lines = (msg.lines as Array<Record<string, unknown>>).filter((l) => typeof l.text === 'string' && (l.text as string).trim());
    const committedText = lines.map((l) => String(l.text).trim()).join(' ');
    const committedEnd = Math.max(0, ...lines.map((l) => seconds(l.end)));
    snaps.push({ at, committedText, committedEnd, totalWords: words(committedText) + words(String(msg.buffer_transcription ?? '')) });
  });
  ws.on('close', () => onDone());
  ws.on('error', (err) => errors.push(`socket: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const frames = Math.ceil(samples.length / frameSamples);
  const t0 = performance.now();
  for (let k = 0; k < frames; k++) {
    await sleep(t0 + k * plan.frameMs - performance.now());
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(pcm.subarray(k * frameSamples * 2, Math.min(samples.length, (k + 1) * frameSamples) * 2));
    const sentAt = performance.now();
    const to = (k + 1) * frameSamples;
    for (const p of placed) {
      if (p.startSentAt === undefined && Math.round(p.speechStart * SAMPLE_RATE) < to) p.startSentAt = sentAt;
      if (p.endSentAt === undefined && Math.round(p.speechEnd * SAMPLE_RATE) - 1 < to) p.endSentAt = sentAt;
    }
  }
  // an empty message is WhisperLiveKit's end of stream; it answers ready_to_stop when everything is out
  if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.alloc(0));
  await Promise.race([done, sleep(plan.drainTimeoutSeconds * 1000)]);
  ws.terminate();
  return { placed, snaps, errors };
}

async function runLevel(url: string, pool: BenchClip[], streams: number, plan: WlkPlan): Promise<WlkLevel> {
  const runs = await Promise.all(Array.from({ length: streams }, (_, i) => runStream(url, pool, i, plan)));
  const latencies: number[] = [];
  const firstTexts: number[] = [];
  let missing = 0;
  const werPairs: Array<{ reference: string; hypothesis: string }> = [];
  for (const { placed, snaps } of runs) {
    for (const p of placed) {
      const final = snaps.find((s) => s.committedEnd >= p.speechEnd - 0.5);
      if (!final || p.endSentAt === undefined) missing++;
      else latencies.push(Math.max(0, (final.at - p.endSentAt) / 1000));
      if (p.startSentAt !== undefined) {
        const before = [...snaps].reverse().find((s) => s.at <= p.startSentAt!)?.totalWords ?? 0;
        const first = snaps.find((s) => s.at > p.startSentAt! && s.totalWords > before);
        if (first) firstTexts.push((first.at - p.startSentAt) / 1000);
      }
    }
    werPairs.push({ reference: placed.map((p) => p.clip.reference).join(' '), hypothesis: snaps.at(-1)?.committedText ?? '' });
  }
  const errors = runs.flatMap((r) => r.errors);
  const p95 = percentile(latencies, 95);
  return {
    streams,
    utterances: sum(runs.map((r) => r.placed.length)),
    clipsWithoutFinal: missing,
    finalLatency: { p50: round(percentile(latencies, 50)), p95: round(p95), max: round(Math.max(...latencies)) },
    firstText: { p50: round(percentile(firstTexts, 50)), p95: round(percentile(firstTexts, 95)), measured: firstTexts.length },
    wer: round(pooledWer(werPairs), 4),
    errors,
    sustained: errors.length === 0 && missing === 0 && p95 <= plan.sustainP95Seconds,
  };
}

export async function runWhisperLiveKit(pool: BenchClip[], plan: WlkPlan, log: (line: string) => void): Promise<WlkResult> {
  const warmupWav = join(mkdtempSync(join(tmpdir(), 'earshot-wlk-')), 'warmup.wav');
  writeFileSync(warmupWav, encodeWav(pool[0]!.samples));
  const server = await startWlk(plan, warmupWav, log);
  try {
    const levels: WlkLevel[] = [];
    for (const n of plan.levels) {
      const r = await runLevel(server.url, pool, n, plan);
      levels.push(r);
      log(
        `whisperlivekit ${plan.policy}: ${n} stream(s): committed p50 ${r.finalLatency.p50} s p95 ${r.finalLatency.p95} s, first text p50 ${r.firstText.p50} s, missing ${r.clipsWithoutFinal}, WER ${r.wer}`,
      );
    }
    const version = await new Promise<string | null>((resolve) => {
      const py = spawn(join(WLK_VENV, 'bin', 'python'), ['-c', 'import importlib.metadata as m; print(m.version("whisperlivekit"))']);
      let v = '';
      py.stdout.on('data', (d: Buffer) => (v += d.toString()));
      py.on('exit', () => resolve(v.trim() || null));
      py.on('error', () => resolve(null));
    });
    return {
      system: 'WhisperLiveKit',
      version,
      policy: plan.policy,
      settings: [
        plan.policy === 'localagreement'
          ? `--backend faster-whisper --backend-policy localagreement --pcm-input --lan en, the CTranslate2 ${MODEL} folder of the faster-whisper reference (--model-path)`
          : `--backend faster-whisper --backend-policy simulstreaming --pcm-input --lan en: faster-whisper encoder on the CTranslate2 ${MODEL} folder (--encoder-model-path), PyTorch decoder on an OpenAI-format checkpoint converted from that folder by bench/ct2-to-openai.py (--decoder-model-path), its alignment heads (--custom-alignment-heads); its defaults otherwise (greedy, --frame-threshold 25, no CIF model, so the last word of each pass waits)`,
        'its bundled Silero VAD (VAC on, the default); warmed up on a local clip; OMP_NUM_THREADS=2, OMP_WAIT_POLICY=PASSIVE; torchaudio left out (not imported on this path)',
        'final = the first message whose committed lines reach the end of the speech in the clip (within 0.5 s); first text = first message with more words than before the clip',
      ],
      levels,
      maxSustainedStreams: Math.max(0, ...levels.filter((l) => l.sustained).map((l) => l.streams)),
    };
  } finally {
    server.child.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.child.once('exit', r)), sleep(5000)]);
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
}
