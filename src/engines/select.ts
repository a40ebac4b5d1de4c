// Which engine runs a Whisper model on this machine: whisper.cpp (always there) or CTranslate2 (when
// the model keeps CTranslate2 weights and the runtime can be had). "auto" measures both once on the
// same audio — a short probe — and remembers the faster one in the store (engine-probes.json), keyed
// by model file, device and threads; "whisper" or "ct2" force one.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { InstalledModel } from '../models/store.js';
import { ct2WeightsOf } from '../models/ct2-weights.js';
import { EngineError, type Engine } from './types.js';
import type { WhisperEngine } from './whisper/engine.js';

export type EngineChoice = 'auto' | 'whisper' | 'ct2';

export interface ProbeResult {
  /** seconds of work per engine for the probe audio: CPU seconds on a CPU, wall seconds on CUDA */
  whisper: number;
  /** null: CTranslate2 could not be had (its runtime failed to install or start; see ct2Error) */
  ct2: number | null;
  winner: 'whisper' | 'ct2';
  measured: string;
  ct2Error?: string;
}

/** A CTranslate2 runtime that failed (offline, no venv module) is tried again after this long, not at every start. */
export const CT2_RETRY_MS = 24 * 3600_000;

/** 30 s of quiet deterministic noise: one full Whisper window, so the probe weighs encoder and decoder as real audio does. */
export function probeAudio(): Float32Array {
  const out = new Float32Array(16000 * 30);
  let x = 0x2545f491;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 0xffffffff - 0.5) * 0.002;
  }
  return out;
}

/** user+system CPU seconds of a process, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

export class ProbeCache {
  constructor(private readonly path: string) {}

  static key(model: InstalledModel, device: string, threads: number): string {
    return `${model.id}:${model.sha256.slice(0, 16)}:${device}:t${threads}`;
  }

  private read(): Record<string, ProbeResult> {
    if (!existsSync(this.path)) return {};
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, ProbeResult>;
    } catch {
      return {};
    }
  }

  get(key: string): ProbeResult | undefined {
    return this.read()[key];
  }

  async set(key: string, result: ProbeResult): Promise<void> {
    const all = { ...this.read(), [key]: result };
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(all, null, 2) + '\n');
    await rename(tmp, this.path);
  }
}

export function probeCachePath(home: string): string {
  return join(home, 'engine-probes.json');
}

/** The time one engine needs for the probe audio: the better of two runs after a warm-up. */
export async function measureEngine(engine: WhisperEngine, device: 'cpu' | 'cuda'): Promise<number> {
  await engine.ready();
  const audio = probeAudio();
  const options = { language: 'en', temperatureIncrement: 0, bestOf: 1, beamSize: 1 };
  await engine.transcribe(audio, options);
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const pids = engine.workerPids();
    const cpu0 = pids.map((p) => processCpuSeconds(p) ?? NaN);
    const t0 = performance.now();
    await engine.transcribe(audio, options);
    const wall = (performance.now() - t0) / 1000;
    const cpu = pids.reduce((sum, p, k) => sum + ((processCpuSeconds(p) ?? NaN) - cpu0[k]!), 0);
    best = Math.min(best, device === 'cpu' && Number.isFinite(cpu) ? cpu : wall);
  }
  return best;
}

export interface SelectDeps {
  choice: EngineChoice;
  model: InstalledModel;
  device: 'cpu' | 'cuda';
  threads: number;
  cache: ProbeCache;
  /** whether the CTranslate2 runtime is installed or may be installed now */
  ct2Available: () => boolean;
  createWhisper: () => WhisperEngine;
  createCt2: () => Promise<WhisperEngine>;
  log?: (line: string) => void;
}

/** Creates the engine to serve `model` with; for "auto" without a cached answer, probes both first. */
export async function selectEngine(d: SelectDeps): Promise<Engine> {
  const hasCt2 = d.model.format === 'ggml' && ct2WeightsOf(d.model.dir) !== undefined;
  if (d.choice === 'whisper' || (d.choice === 'auto' && (!hasCt2 || !d.ct2Available()))) return d.createWhisper();
  if (d.choice === 'ct2') {
    if (!hasCt2) throw new EngineError('unsupported', `model ${d.model.id} has no CTranslate2 weights (import it from a CTranslate2/faster-whisper folder)`);
    return d.createCt2();
  }
  const key = ProbeCache.key(d.model, d.device, d.threads);
  const known = d.cache.get(key);
  const failedRecently = known?.ct2 === null && Date.now() - Date.parse(known.measured) < CT2_RETRY_MS;
  if (known && (known.ct2 !== null || failedRecently)) return known.winner === 'ct2' ? d.createCt2() : d.createWhisper();

  d.log?.(`measuring whisper.cpp and CTranslate2 on ${d.model.id} (once; the answer is kept in the store)`);
  const whisper = d.createWhisper();
  let ct2: WhisperEngine | undefined;
  try {
    const whisperSeconds = await measureEngine(whisper, d.device);
    let ct2Seconds = Infinity;
    try {
      ct2 = await d.createCt2();
      ct2Seconds = await measureEngine(ct2, d.device);
    } catch (err) {
      // A runtime that cannot install or start (offline, say) is not a reason to fail: whisper.cpp
      // serves, and the failure is kept so the next starts do not wait for pip again (retried after a day).
      const reason = (err as Error).message;
      d.log?.(`CTranslate2 engine unavailable, whisper.cpp serves: ${reason}`);
      await ct2?.close(0).catch(() => undefined);
      await d.cache
        .set(key, { whisper: whisperSeconds, ct2: null, winner: 'whisper', measured: new Date().toISOString(), ct2Error: reason.slice(0, 500) })
        .catch(() => undefined);
      return whisper;
    }
    const winner = ct2Seconds < whisperSeconds ? 'ct2' : 'whisper';
    await d.cache.set(key, { whisper: whisperSeconds, ct2: ct2Seconds, winner, measured: new Date().toISOString() });
    d.log?.(`engine probe on ${d.model.id}: whisper.cpp ${whisperSeconds.toFixed(2)} s, CTranslate2 ${ct2Seconds.toFixed(2)} s → ${winner}`);
    const [keep, drop] = winner === 'ct2' ? [ct2, whisper] : [whisper, ct2];
    await drop.close(0).catch(() => undefined);
    return keep;
  } catch (err) {
    await whisper.close(0).catch(() => undefined);
    await ct2?.close(0).catch(() => undefined);
    throw err;
  }
}
