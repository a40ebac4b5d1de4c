// Helpers for the /v1/jobs tests: poll a job until it reaches a state, build long real speech, receive
// webhooks on a local HTTP server.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { loadClip, wavBytes } from './audio.js';

export interface JobJson {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  progress: number;
  node: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  result: unknown;
  [k: string]: unknown;
}

export async function getJob(base: string, id: string, headers: Record<string, string> = {}, query = ''): Promise<JobJson> {
  const res = await fetch(`${base}/v1/jobs/${id}${query}`, { headers });
  if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobJson;
}

/** Polls until `done(job)` holds; fails with the last state seen after `timeoutMs`. */
export async function waitForJob(
  base: string | (() => string),
  id: string,
  done: (job: JobJson) => boolean,
  opts: { timeoutMs?: number; headers?: Record<string, string>; intervalMs?: number } = {},
): Promise<JobJson> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let last: JobJson | string | undefined;
  for (;;) {
    try {
      const job = await getJob(typeof base === 'string' ? base : base(), id, opts.headers);
      last = job;
      if (done(job)) return job;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not reach the expected state in time; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

export const finished = (j: JobJson) => j.status === 'completed' || j.status === 'failed' || j.status === 'cancelled';

/** The five LibriVox clips of the pocketsphinx test data, repeated to at least `seconds` of real speech, as WAV bytes. */
export async function longSpeech(seconds: number): Promise<{ wav: Buffer; seconds: number }> {
  const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
  const parts: Float32Array[] = [];
  let total = 0;
  while (total < seconds * 16000) {
    for (const c of clips) {
      const s = await loadClip(c.path);
      parts.push(s);
      total += s.length;
    }
  }
  const all = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return { wav: wavBytes(all), seconds: total / 16000 };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A local webhook receiver: answers each POST with the next status of `statuses` (then 200). `host`: the
 * address it listens on and names in its URL (a cluster's hostAddress when nodes run in namespaces).
 */
export async function webhookReceiver(statuses: number[] = [], host = '127.0.0.1'): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}/hook`, received, close: () => new Promise((r) => server.close(() => r())) };
}
