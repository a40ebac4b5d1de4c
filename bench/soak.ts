// Reliability soak: a real server under mixed load for a long time, with faults injected, sampled every minute.
//   batch uploads     — clients posting real speech files to /transcribe and /v1/audio/transcriptions
//   live streams      — /ws sessions of real speech sent at real-time pace, one after another
//   dashboard viewers — /api/monitor WebSockets held open (reconnecting now and then) and the dashboard page
//   hot swaps         — the default model switched between two models through POST /api/models/load
//   worker kills      — a random engine worker SIGKILLed now and then
// Every minute it records requests, errors by status, p50/p95 latency, RSS and open fds of the server
// and its workers, the engines' queue depth and zombie processes. The verdict (bench/results/
// reliability-soak-*.md): no 5xx other than those the kills caused (each matched to its kill), no
// request without an answer, RSS and fds flat after the warm-up (≤ 10 % growth), no zombies, and no
// worker left behind when the server stops.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import WebSocket from 'ws';
import { decodeFile } from '../src/audio/decode.js';
import { float32ToS16le } from '../src/audio/pcm.js';
import { earshotHome } from '../src/config/env.js';
import { SAMPLE_RATE } from '../src/engines/types.js';
import { pocketsphinxClips } from '../src/eval/corpus.js';
import { loadAverageNow } from './lib/machine.js';
import { statusKb } from './lib/proc.js';
import { startServer } from './lib/server.js';
import { percentile, round } from './lib/stats.js';

export interface SoakPlan {
  durationSeconds: number;
  sampleSeconds: number;
  /** samples before this are warm-up: growth is measured from the first samples after it */
  warmupSeconds: number;
  /** the default model alternates between these (hot swap) */
  models: [string, string];
  swapEverySeconds: number;
  killEverySeconds: number;
  batchClients: number;
  /** pause between one client's uploads, seconds (uniform in the range) */
  batchPauseSeconds: [number, number];
  streams: number;
  clipsPerSession: number;
  monitorViewers: number;
  /** a request with no answer after this long counts as unanswered */
  requestTimeoutSeconds: number;
}

export function soakPlan(minutes: number): SoakPlan {
  const durationSeconds = Math.round(minutes * 60);
  const short = durationSeconds < 600;
  return {
    durationSeconds,
    sampleSeconds: short ? 15 : 60,
    warmupSeconds: short ? 15 : 300,
    models: ['tiny.en', 'base-q8_0'],
    swapEverySeconds: short ? 25 : 300,
    killEverySeconds: short ? 20 : 150,
    batchClients: 2,
    batchPauseSeconds: [2, 6],
    streams: 1,
    clipsPerSession: 4,
    monitorViewers: 2,
    requestTimeoutSeconds: 180,
  };
}

type Kind = 'batch-seed' | 'batch-openai' | 'stream' | 'monitor' | 'dashboard' | 'stats' | 'swap';

interface Outcome {
  kind: Kind;
  startedAt: number;
  endedAt: number;
  /** HTTP status; streams: 200 for a session that ended with `done`, else the error's status class */
  status: number | 'unanswered';
  code?: string;
  message?: string;
  /** the kill this failure is matched to (index into kills) */
  kill?: number;
}

interface Kill {
  at: number;
  pid: number;
  worker: string;
}

export interface SoakSample {
  minute: number;
  at: string;
  defaultModel: string | null;
  requests: number;
  ok: number;
  errorsByStatus: Record<string, number>;
  latency: { p50: number | null; p95: number | null };
  serverRssMiB: number | null;
  workersRssMiB: number;
  /** RSS of the workers holding each model (summed over that model's workers) */
  rssByModel: Record<string, number>;
  workers: number;
  serverFds: number | null;
  /** open fds per worker process (mean): worker count moves with swaps and respawns */
  fdsPerWorker: number | null;
  queueDepth: number;
  maxQueueDepth: number;
  /** zombies still there 5 s after the sample (a zombie between exit and reaping is normal; one that stays is not) */
  zombies: number;
  /** zombies seen at the sample instant, reaped within 5 s */
  transientZombies: number;
  loadAverage1m: number;
}

export interface SoakResult {
  schema: 1;
  started: string;
  plannedSeconds: number;
  wallSeconds: number;
  plan: SoakPlan;
  liveModel: string | null;
  loadAverage: { start: number[]; end: number[]; mean1m: number };
  totals: {
    requests: number;
    byKind: Record<string, { requests: number; ok: number; errors: Record<string, number> }>;
    errorsByStatus: Record<string, number>;
    fiveXx: number;
    fiveXxFromKills: number;
    fiveXxUnexplained: number;
    unanswered: number;
    kills: number;
    swaps: number;
    streamSeconds: number;
    batchAudioSeconds: number;
  };
  kills: Array<Kill & { errors: number }>;
  unexplained: Outcome[];
  samples: SoakSample[];
  growth: {
    serverRss: number | null;
    serverFds: number | null;
    workersRssByModel: Record<string, number | null>;
    workersFds: number | null;
  };
  end: { leftoverProcesses: number; zombiesMax: number; workersBeforeStop: number; workersReported: number };
  criteria: Array<{ name: string; pass: boolean; detail: string }>;
  pass: boolean;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  cmd: string;
}

function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        // a zombie has no command line
      }
      out.push({ pid: Number(name), ppid: Number(fields[1]), state: fields[0]!, cmd });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

function descendants(root: number, table = processTable()): ProcInfo[] {
  const found: ProcInfo[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** Engine workers: the whisper.cpp binary and the sherpa-onnx / onnxruntime Node workers. */
const WORKER_PATTERN = /earshot-whisper-worker|sherpa\/worker-main|ctc\/worker|ct2/;

/** The model a worker holds, from its command line (a path in the model store). */
function workerModel(cmd: string): string {
  return cmd.match(/models\/([^/"\s]+)\//)?.[1] ?? 'unknown';
}

function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const rand = (a: number, b: number) => a + Math.random() * (b - a);

interface Clip {
  name: string;
  wav: Buffer;
  samples: Float32Array;
}

async function loadClips(): Promise<Clip[]> {
  const clips: Clip[] = [];
  for (const c of pocketsphinxClips()) {
    if (c.set !== 'librivox' && c.set !== 'cards') continue;
    clips.push({ name: basename(c.path), wav: readFileSync(c.path), samples: (await decodeFile(c.path)).samples });
  }
  return clips;
}

/** A home of its own (history, temp files) that reads the models installed in the user's store. */
function soakHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'earshot-soak-'));
  const shared = earshotHome();
  for (const name of ['models', 'cache', 'runtimes', 'engine-probes.json']) {
    if (existsSync(join(shared, name))) symlinkSync(join(shared, name), join(home, name));
  }
  return home;
}

export async function runSoak(plan: SoakPlan, log: (line: string) => void): Promise<SoakResult> {
  const clips = await loadClips();
  const home = soakHome();
  const started = new Date().toISOString();
  const loadStart = loadAverageNow();
  const server = await startServer({
    model: plan.models[0],
    config: { history: { enabled: true }, logLevel: 'warn' },
    env: { EARSHOT_HOME: home },
  });
  log(`soak: server pid ${server.pid} at ${server.url}, ${plan.durationSeconds} s planned`);
  const outcomes: Outcome[] = [];
  const kills: Kill[] = [];
  let swaps = 0;
  let streamSeconds = 0;
  let batchAudioSeconds = 0;
  const began = Date.now();
  const endAt = began + plan.durationSeconds * 1000;
  let stopping = false;
  const running = () => !stopping && Date.now() < endAt;
  const record = (o: Outcome) => outcomes.push(o);
  const timeout = plan.requestTimeoutSeconds * 1000;

  /** One HTTP request: its status and error code, or 'unanswered' when none came within the timeout. */
  async function http(kind: Kind, path: string, init: RequestInit = {}): Promise<Record<string, unknown> | undefined> {
    const startedAt = Date.now();
    try {
      const res = await fetch(server.url + path, { ...init, signal: AbortSignal.timeout(timeout) });
      const text = await res.text();
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      const error = (body?.error ?? body) as Record<string, unknown> | undefined;
      record({
        kind,
        startedAt,
        endedAt: Date.now(),
        status: res.status,
        code: res.ok ? undefined : String(error?.code ?? error?.type ?? ''),
        message: res.ok ? undefined : String(error?.message ?? text).slice(0, 300),
      });
      return res.ok ? body : undefined;
    } catch (err) {
      record({ kind, startedAt, endedAt: Date.now(), status: 'unanswered', message: (err as Error).message });
      return undefined;
    }
  }

  async function batchClient(index: number): Promise<void> {
    while (running()) {
      const clip = clips[Math.floor(Math.random() * clips.length)]!;
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(clip.wav)], { type: 'audio/wav' }), clip.name);
      if (index % 2 === 0) {
        await http('batch-seed', '/transcribe', { method: 'POST', body: form });
      } else {
        form.append('model', 'whisper-1');
        await http('batch-openai', '/v1/audio/transcriptions', { method: 'POST', body: form });
      }
      batchAudioSeconds += clip.samples.length / SAMPLE_RATE;
      await sleep(rand(...plan.batchPauseSeconds) * 1000);
    }
  }

  /** One /ws session: clips with silences between, real-time pace; answered = `done` arrived after `stop`. */
  async function streamSession(): Promise<void> {
    const gap = new Float32Array(Math.round(1.5 * SAMPLE_RATE));
    const parts: Float32Array[] = [];
    for (let i = 0; i < plan.clipsPerSession; i++) parts.push(clips[Math.floor(Math.random() * clips.length)]!.samples, gap);
    const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      samples.set(p, at);
      at += p.length;
    }
    const pcm = float32ToS16le(samples);
    const startedAt = Date.now();
    const errors: Array<{ code: string; message: string; fatal: boolean }> = [];
    let done = false;
    let finals = 0;
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`);
    let onReady!: () => void;
    let onDone!: () => void;
    const ready = new Promise<void>((r) => (onReady = r));
    const finished = new Promise<void>((r) => (onDone = r));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      if (msg.type === 'ready') onReady();
      else if (msg.type === 'final') finals++;
      else if (msg.type === 'error') errors.push({ code: String(msg.code), message: String(msg.message), fatal: Boolean(msg.fatal) });
      else if (msg.type === 'done') {
        done = true;
        onDone();
      }
    });
    ws.on('close', () => {
      onReady();
      onDone();
    });
    ws.on('error', (err) => errors.push({ code: 'socket', message: err.message, fatal: true }));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: SAMPLE_RATE, encoding: 'pcm_s16le', enrich: false }));
      await ready;
      const frameMs = 40;
      const frameSamples = (frameMs / 1000) * SAMPLE_RATE;
      const frames = Math.ceil(samples.length / frameSamples);
      const t0 = performance.now();
      for (let k = 0; k < frames && ws.readyState === WebSocket.OPEN; k++) {
        await sleep(t0 + k * frameMs - performance.now());
        ws.send(pcm.subarray(k * frameSamples * 2, Math.min(samples.length, (k + 1) * frameSamples) * 2));
      }
      streamSeconds += samples.length / SAMPLE_RATE;
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'stop' }));
      await Promise.race([finished, sleep(timeout)]);
    } catch (err) {
      errors.push({ code: 'socket', message: (err as Error).message, fatal: true });
    } finally {
      ws.terminate();
    }
    // Errors inside a session are reported per utterance; the session as a whole is the request.
    for (const e of errors) {
      const status = e.code === 'socket' ? 'unanswered' : /crash|overloaded|closed|timeout|internal|model_load/.test(e.code) ? 503 : 400;
      record({ kind: 'stream', startedAt, endedAt: Date.now(), status, code: e.code, message: e.message.slice(0, 300) });
    }
    if (errors.length === 0) {
      record(
        done
          ? { kind: 'stream', startedAt, endedAt: Date.now(), status: 200, message: `${finals} finals` }
          : { kind: 'stream', startedAt, endedAt: Date.now(), status: 'unanswered', message: 'no done after stop' },
      );
    }
  }

  async function streamer(): Promise<void> {
    while (running()) await streamSession();
  }

  /** A dashboard viewer: the page, then the monitor feed held open for a few minutes, again and again. */
  async function viewer(): Promise<void> {
    while (running()) {
      await http('dashboard', '/', { headers: { accept: 'text/html' } });
      const startedAt = Date.now();
      const holdMs = Math.min(rand(60, 180) * 1000, Math.max(1000, endAt - Date.now()));
      const result = await new Promise<Outcome>((resolve) => {
        const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/monitor`);
        let messages = 0;
        let timer: NodeJS.Timeout | undefined;
        const end = (o: Omit<Outcome, 'kind' | 'startedAt' | 'endedAt'>) => {
          clearTimeout(timer);
          ws.terminate();
          resolve({ kind: 'monitor', startedAt, endedAt: Date.now(), ...o });
        };
        ws.on('message', () => messages++);
        ws.on('open', () => {
          timer = setTimeout(() => end(messages > 0 ? { status: 200 } : { status: 'unanswered', message: 'no monitor message while open' }), holdMs);
        });
        ws.on('unexpected-response', (_req, res) => end({ status: res.statusCode ?? 0, message: 'upgrade refused' }));
        ws.on('error', (err) => end({ status: 'unanswered', message: err.message }));
        ws.on('close', (code) => {
          if (!stopping) end({ status: 'unanswered', code: String(code), message: 'monitor closed by the server' });
        });
      });
      record(result);
    }
  }

  async function swapper(): Promise<void> {
    let next = 1;
    while (running()) {
      await sleep(Math.min(plan.swapEverySeconds * 1000, endAt - Date.now()));
      if (!running()) break;
      log(`soak: hot swap → ${plan.models[next]}`);
      await http('swap', '/api/models/load', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: plan.models[next], default: true, wait: true }),
      });
      swaps++;
      next = 1 - next;
    }
  }

  async function killer(): Promise<void> {
    while (running()) {
      await sleep(rand(0.5, 1.5) * plan.killEverySeconds * 1000);
      if (!running()) break;
      const workers = descendants(server.pid).filter((p) => p.state !== 'Z' && WORKER_PATTERN.test(p.cmd));
      const victim = workers[Math.floor(Math.random() * workers.length)];
      if (!victim) continue;
      try {
        process.kill(victim.pid, 'SIGKILL');
        kills.push({ at: Date.now(), pid: victim.pid, worker: victim.cmd.includes('whisper') ? 'whisper.cpp' : victim.cmd.split(' ').slice(0, 2).join(' ') });
        log(`soak: SIGKILL worker ${victim.pid} (${kills.at(-1)!.worker})`);
      } catch {
        // exited by itself meanwhile
      }
    }
  }

  // Sampling: a fast loop for the queue depth (it moves in seconds), the full sample every sampleSeconds.
  const samples: SoakSample[] = [];
  let queueMax = 0;
  let lastQueue = 0;
  let zombiesMax = 0;
  let defaultModel: string | null = plan.models[0];
  let liveModel: string | null = null;
  async function pollStats(): Promise<void> {
    const status = await http('stats', '/api/stats');
    const models = (status?.models ?? []) as Array<{ id: string; queued: number; default: boolean; kind: string }>;
    lastQueue = models.reduce((n, m) => n + (m.queued ?? 0), 0);
    queueMax = Math.max(queueMax, lastQueue);
    defaultModel = models.find((m) => m.default)?.id ?? defaultModel;
    liveModel ??= models.find((m) => !m.default && m.kind === 'sherpa')?.id ?? null;
  }
  let sampledUpTo = began;
  async function takeSample(): Promise<void> {
    const now = Date.now();
    const window = outcomes.filter((o) => o.endedAt > sampledUpTo && o.endedAt <= now && o.kind !== 'stats');
    sampledUpTo = now;
    const errorsByStatus: Record<string, number> = {};
    for (const o of window) if (o.status !== 200) errorsByStatus[String(o.status)] = (errorsByStatus[String(o.status)] ?? 0) + 1;
    const latencies = window.filter((o) => o.kind.startsWith('batch') && o.status === 200).map((o) => (o.endedAt - o.startedAt) / 1000);
    const table = processTable();
    const family = descendants(server.pid, table);
    const workers = family.filter((p) => p.state !== 'Z' && WORKER_PATTERN.test(p.cmd));
    const seen = family.filter((p) => p.state === 'Z').map((p) => p.pid);
    const rss = statusKb(server.pid, 'VmRSS');
    const rssByModel: Record<string, number> = {};
    for (const w of workers) rssByModel[workerModel(w.cmd)] = round((rssByModel[workerModel(w.cmd)] ?? 0) + (statusKb(w.pid, 'VmRSS') ?? 0) / 1024, 1)!;
    const workerFds = workers.map((w) => fdCount(w.pid)).filter((n): n is number => n !== null);
    let zombies = 0;
    if (seen.length) {
      await sleep(5000);
      zombies = processTable().filter((p) => seen.includes(p.pid) && p.state === 'Z').length;
    }
    zombiesMax = Math.max(zombiesMax, zombies);
    const sample: SoakSample = {
      minute: round((now - began) / 60_000, 2)!,
      at: new Date(now).toISOString(),
      defaultModel,
      requests: window.length,
      ok: window.filter((o) => o.status === 200).length,
      errorsByStatus,
      latency: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)) },
      serverRssMiB: rss === null ? null : round(rss / 1024, 1),
      workersRssMiB: round(
        Object.values(rssByModel).reduce((a, b) => a + b, 0),
        1,
      )!,
      rssByModel,
      workers: workers.length,
      serverFds: fdCount(server.pid),
      fdsPerWorker: workerFds.length ? round(workerFds.reduce((a, b) => a + b, 0) / workerFds.length, 1) : null,
      queueDepth: lastQueue,
      maxQueueDepth: queueMax,
      zombies,
      transientZombies: seen.length - zombies,
      loadAverage1m: loadAverageNow()[0]!,
    };
    queueMax = lastQueue;
    samples.push(sample);
    log(
      `soak: ${sample.minute} min, ${sample.requests} requests (${JSON.stringify(errorsByStatus)}), p95 ${sample.latency.p95} s, server ${sample.serverRssMiB} MiB/${sample.serverFds} fds, ${sample.workers} workers ${sample.workersRssMiB} MiB, queue max ${sample.maxQueueDepth}, zombies ${zombies} (+${sample.transientZombies} reaped), load ${sample.loadAverage1m}`,
    );
  }
  async function sampler(): Promise<void> {
    let nextSample = began + plan.sampleSeconds * 1000;
    while (!stopping) {
      await pollStats();
      if (Date.now() >= nextSample) {
        await takeSample();
        nextSample += plan.sampleSeconds * 1000;
      }
      await sleep(2000);
    }
  }

  let result: SoakResult;
  try {
    const samplerDone = sampler();
    const load = [
      ...Array.from({ length: plan.batchClients }, (_, i) => batchClient(i)),
      ...Array.from({ length: plan.streams }, () => streamer()),
      ...Array.from({ length: plan.monitorViewers }, () => viewer()),
      swapper(),
      killer(),
    ];
    await Promise.all(load);
    stopping = true;
    await samplerDone;
    await takeSample();
    // Idle now: every worker the server reports must be a process, and none other may exist.
    const idle = (await (await fetch(`${server.url}/api/stats`)).json()) as { models: Array<{ workers: number }> };
    const workersReported = idle.models.reduce((n, m) => n + m.workers, 0);
    const workersBeforeStop = descendants(server.pid).filter((p) => p.state !== 'Z' && WORKER_PATTERN.test(p.cmd)).length;
    const family = descendants(server.pid).map((p) => p.pid);
    await server.stop();
    await sleep(1000);
    const leftover = family.filter((pid) => existsSync(`/proc/${pid}`)).length;
    result = verdict({
      plan,
      started,
      began,
      loadStart,
      outcomes,
      kills,
      samples,
      swaps,
      streamSeconds,
      batchAudioSeconds,
      liveModel,
      end: { leftoverProcesses: leftover, zombiesMax, workersBeforeStop, workersReported },
    });
  } finally {
    stopping = true;
    await server.stop().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
  return result;
}

/** The 5xx answers caused by a kill: a worker_crashed failure that ended within a minute after a kill. */
function matchKills(outcomes: Outcome[], kills: Kill[]): void {
  for (const o of outcomes) {
    if (typeof o.status !== 'number' || o.status < 500) continue;
    if (o.code !== 'worker_crashed') continue;
    const k = kills.findLastIndex((kill) => kill.at <= o.endedAt && o.endedAt - kill.at < 60_000);
    if (k >= 0) o.kill = k;
  }
}

/** Growth from the first samples after the warm-up to the last ones (medians of 3 each), as a fraction. */
function growth(values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  if (v.length < 4) return null;
  const n = Math.min(3, Math.floor(v.length / 2));
  const first = percentile(v.slice(0, n), 50);
  const last = percentile(v.slice(-n), 50);
  return first > 0 ? round((last - first) / first, 4) : null;
}

interface VerdictInput {
  plan: SoakPlan;
  started: string;
  began: number;
  loadStart: number[];
  outcomes: Outcome[];
  kills: Kill[];
  samples: SoakSample[];
  swaps: number;
  streamSeconds: number;
  batchAudioSeconds: number;
  liveModel: string | null;
  end: SoakResult['end'];
}

function verdict(input: VerdictInput): SoakResult {
  const { plan, outcomes, kills, samples } = input;
  matchKills(outcomes, kills);
  const counted = outcomes.filter((o) => o.kind !== 'stats');
  const errorsByStatus: Record<string, number> = {};
  const byKind: SoakResult['totals']['byKind'] = {};
  for (const o of outcomes) {
    byKind[o.kind] ??= { requests: 0, ok: 0, errors: {} };
    const k = byKind[o.kind]!;
    k.requests++;
    if (o.status === 200) k.ok++;
    else {
      k.errors[String(o.status)] = (k.errors[String(o.status)] ?? 0) + 1;
      errorsByStatus[String(o.status)] = (errorsByStatus[String(o.status)] ?? 0) + 1;
    }
  }
  const fiveXx = outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500);
  const unexplained = fiveXx.filter((o) => o.kill === undefined);
  const unanswered = outcomes.filter((o) => o.status === 'unanswered');
  const steady = samples.filter((s) => s.minute * 60 >= plan.warmupSeconds);
  const rssGrowth = growth(steady.map((s) => s.serverRssMiB));
  const fdGrowth = growth(steady.map((s) => s.serverFds));
  const workerFdGrowth = growth(steady.map((s) => s.fdsPerWorker));
  const workersRssByModel: Record<string, number | null> = {};
  for (const model of new Set(steady.flatMap((s) => Object.keys(s.rssByModel)))) {
    workersRssByModel[model] = growth(steady.map((s) => s.rssByModel[model] ?? null));
  }
  const flat = (g: number | null) => g === null || g <= 0.1;
  const pct = (g: number | null) => (g === null ? 'n/a (too few samples)' : `${(g * 100).toFixed(1)} %`);
  const criteria = [
    {
      name: 'no 5xx other than those the kills caused',
      pass: unexplained.length === 0,
      detail: `${fiveXx.length} 5xx, ${fiveXx.length - unexplained.length} matched to ${kills.length} kills, ${unexplained.length} unexplained`,
    },
    { name: 'every request answered', pass: unanswered.length === 0, detail: `${unanswered.length} of ${counted.length} without an answer` },
    { name: 'server RSS flat after warm-up (≤ 10 %)', pass: flat(rssGrowth), detail: pct(rssGrowth) },
    { name: 'server fds flat after warm-up (≤ 10 %)', pass: flat(fdGrowth), detail: pct(fdGrowth) },
    {
      name: 'worker RSS flat after warm-up, per model (≤ 10 %)',
      pass: Object.values(workersRssByModel).every(flat),
      detail: Object.entries(workersRssByModel)
        .map(([m, g]) => `${m} ${pct(g)}`)
        .join(', '),
    },
    { name: 'fds per worker flat after warm-up (≤ 10 %)', pass: flat(workerFdGrowth), detail: pct(workerFdGrowth) },
    {
      name: 'no zombie processes',
      pass: input.end.zombiesMax === 0,
      detail: `max ${input.end.zombiesMax} still unreaped 5 s after a sample; ${samples.reduce((n, s) => n + s.transientZombies, 0)} seen at a sample instant and reaped within 5 s`,
    },
    {
      name: 'no worker leaked',
      pass: input.end.leftoverProcesses === 0 && input.end.workersBeforeStop === input.end.workersReported,
      detail: `${input.end.workersBeforeStop} worker processes vs ${input.end.workersReported} reported before stop; ${input.end.leftoverProcesses} left after stop`,
    },
  ];
  const loadEnd = loadAverageNow();
  return {
    schema: 1,
    started: input.started,
    plannedSeconds: plan.durationSeconds,
    wallSeconds: Math.round((Date.now() - input.began) / 1000),
    plan,
    liveModel: input.liveModel,
    loadAverage: { start: input.loadStart, end: loadEnd, mean1m: round(samples.reduce((n, s) => n + s.loadAverage1m, 0) / Math.max(1, samples.length), 2)! },
    totals: {
      requests: counted.length,
      byKind,
      errorsByStatus,
      fiveXx: fiveXx.length,
      fiveXxFromKills: fiveXx.length - unexplained.length,
      fiveXxUnexplained: unexplained.length,
      unanswered: unanswered.length,
      kills: kills.length,
      swaps: input.swaps,
      streamSeconds: Math.round(input.streamSeconds),
      batchAudioSeconds: Math.round(input.batchAudioSeconds),
    },
    kills: kills.map((k, i) => ({ ...k, errors: outcomes.filter((o) => o.kill === i).length })),
    unexplained: [...unexplained, ...unanswered].slice(0, 50),
    samples,
    growth: { serverRss: rssGrowth, serverFds: fdGrowth, workersRssByModel, workersFds: workerFdGrowth },
    end: input.end,
    criteria,
    pass: criteria.every((c) => c.pass),
  };
}

export function renderSoakMarkdown(r: SoakResult): string {
  const t = r.totals;
  const lines = [
    `# Reliability soak — ${r.started.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `**${r.pass ? 'PASS' : 'FAIL'}** — ${Math.round(r.wallSeconds / 60)} min of mixed load (planned ${Math.round(r.plannedSeconds / 60)} min), ` +
      `${t.requests} requests, ${t.kills} worker kills, ${t.swaps} hot swaps. Load average 1 min: ${r.loadAverage.start[0]} at start, ` +
      `${r.loadAverage.mean1m} mean over the samples, ${r.loadAverage.end[0]} at the end (shared 2-core machine: other engineers' work was part of the load).`,
    '',
    `Load: ${r.plan.batchClients} batch clients (real speech, /transcribe and /v1/audio/transcriptions, ${r.plan.batchPauseSeconds.join('–')} s apart), ` +
      `${r.plan.streams} live /ws stream at real-time pace (${t.streamSeconds} s of audio, live model ${r.liveModel ?? 'the default'}), ` +
      `${r.plan.monitorViewers} dashboard viewers (/api/monitor held 1–3 min, page reloads), /api/stats polled every 2 s; ` +
      `default model swapped ${r.plan.models.join(' ↔ ')} every ${r.plan.swapEverySeconds} s; a random engine worker SIGKILLed every ~${r.plan.killEverySeconds} s.`,
    '',
    '## Pass criteria',
    '',
    '| criterion | result | detail |',
    '|---|---|---|',
    ...r.criteria.map((c) => `| ${c.name} | ${c.pass ? 'pass' : '**FAIL**'} | ${c.detail} |`),
    '',
    '## Totals',
    '',
    '| kind | requests | ok | errors |',
    '|---|---|---|---|',
    ...Object.entries(t.byKind).map(([k, v]) => `| ${k} | ${v.requests} | ${v.ok} | ${JSON.stringify(v.errors)} |`),
    '',
    `Batch audio transcribed: ${t.batchAudioSeconds} s; live audio streamed: ${t.streamSeconds} s. ` +
      `5xx: ${t.fiveXx} (${t.fiveXxFromKills} matched to a kill, ${t.fiveXxUnexplained} unexplained); unanswered: ${t.unanswered}.`,
    '',
    '## Kills',
    '',
    '| at (min) | worker | failures it caused |',
    '|---|---|---|',
    ...r.kills.map((k) => `| ${((k.at - Date.parse(r.started)) / 60_000).toFixed(1)} | ${k.worker} | ${k.errors} |`),
    '',
    '## Every sample',
    '',
    '| min | default | requests | ok | errors | p50 s | p95 s | server RSS MiB | server fds | workers | workers RSS MiB (by model) | fds/worker | queue (max) | zombies | load 1m |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.samples.map(
      (s) =>
        `| ${s.minute} | ${s.defaultModel} | ${s.requests} | ${s.ok} | ${JSON.stringify(s.errorsByStatus)} | ${s.latency.p50 ?? '–'} | ${s.latency.p95 ?? '–'} | ${s.serverRssMiB} | ${s.serverFds} | ${s.workers} | ${s.workersRssMiB} (${Object.entries(
          s.rssByModel,
        )
          .map(([m, v]) => `${m} ${v}`)
          .join(
            ', ',
          )}) | ${s.fdsPerWorker ?? '–'} | ${s.queueDepth} (${s.maxQueueDepth}) | ${s.zombies}${s.transientZombies ? ` (+${s.transientZombies} reaped)` : ''} | ${s.loadAverage1m} |`,
    ),
    '',
    `Growth is the median of the last 3 samples against the median of the first 3 after the ${r.plan.warmupSeconds} s warm-up; ` +
      'worker RSS is compared per model (the workers holding it, found by the model path on their command line), over the samples where that model was loaded. ' +
      'Latency is per batch request, queue wait included.',
  ];
  if (r.unexplained.length) {
    lines.push('', '## Unexplained failures', '', ...r.unexplained.map((o) => `- ${o.kind} ${o.status} ${o.code ?? ''}: ${o.message ?? ''}`));
  }
  return lines.join('\n');
}
