// Server under load: C concurrent clients POSTing real clips to /transcribe (seed API) until a fixed
// number of requests has been sent. Throughput, latency percentiles, errors (anything but HTTP 200).
import { encodeWav } from '../src/audio/pcm.js';
import type { BenchClip } from './lib/corpus.js';
import { childPids, peakMiB } from './lib/proc.js';
import { startServer } from './lib/server.js';
import { percentile, round } from './lib/stats.js';

export interface LoadPlan {
  model: string;
  clients: number[];
  /** requests per level: max(clients × this, minRequests) */
  requestsPerClient: number;
  minRequests: number;
  /** a request taking longer than this is an error */
  requestTimeoutSeconds: number;
}

export interface LoadLevelResult {
  clients: number;
  requests: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  wallSeconds: number;
  requestsPerSecond: number;
  /** seconds of audio transcribed per wall second */
  audioSecondsPerSecond: number;
  latency: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
}

export interface LoadResult {
  model: string;
  clips: string[];
  levels: LoadLevelResult[];
  /** VmHWM after all levels: the Node server and its whisper.cpp worker(s) */
  peakMiB: { server: number | null; workers: Array<number | null> };
}

async function post(url: string, wav: Buffer, name: string, timeoutMs: number): Promise<void> {
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), `${name}.wav`);
  form.append('language', 'en');
  const res = await fetch(`${url}/transcribe`, { method: 'POST', body: form, signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
}

async function runLevel(url: string, clips: Array<{ clip: BenchClip; wav: Buffer }>, clients: number, plan: LoadPlan): Promise<LoadLevelResult> {
  const total = Math.max(clients * plan.requestsPerClient, plan.minRequests);
  let next = 0;
  const latencies: number[] = [];
  const errors: string[] = [];
  let audio = 0;
  const began = performance.now();
  const client = async () => {
    while (next < total) {
      const { clip, wav } = clips[next++ % clips.length]!;
      const t = performance.now();
      try {
        await post(url, wav, clip.id, plan.requestTimeoutSeconds * 1000);
        latencies.push((performance.now() - t) / 1000);
        audio += clip.duration;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const wall = (performance.now() - began) / 1000;
  return {
    clients,
    requests: total,
    ok: latencies.length,
    errors: errors.length,
    errorSamples: [...new Set(errors)].slice(0, 3),
    wallSeconds: round(wall)!,
    requestsPerSecond: round(latencies.length / wall)!,
    audioSecondsPerSecond: round(audio / wall)!,
    latency: {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(percentile(latencies, 99)),
      max: round(Math.max(...latencies)),
    },
  };
}

export async function runLoad(pool: BenchClip[], plan: LoadPlan, log: (line: string) => void): Promise<LoadResult> {
  const clips = pool.map((clip) => ({ clip, wav: encodeWav(clip.samples) }));
  const server = await startServer({ model: plan.model });
  try {
    const levels: LoadLevelResult[] = [];
    for (const c of plan.clients) {
      const r = await runLevel(server.url, clips, c, plan);
      levels.push(r);
      log(`load: ${c} clients, ${r.requests} requests: ${r.requestsPerSecond} req/s, p50 ${r.latency.p50} s p95 ${r.latency.p95} s, errors ${r.errors}`);
    }
    return {
      model: plan.model,
      clips: pool.map((c) => c.id),
      levels,
      peakMiB: {
        server: round(peakMiB(server.pid) ?? undefined, 1),
        // the engine workers of the default path: whisper.cpp, or CTranslate2's Python worker
        workers: childPids(server.pid, 'earshot-whisper-worker|ct2/worker\\.py').map((p) => round(peakMiB(p) ?? undefined, 1)),
      },
    };
  } finally {
    await server.stop();
  }
}
