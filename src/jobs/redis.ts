// Jobs in BullMQ on Redis, for a cluster. One BullMQ queue per model (see queueOf): a node works only
// on the queues of the models it serves. What BullMQ gives: a job is leased to one worker (its lock,
// renewed while it runs); a node that dies or freezes stops renewing, and after the lease the
// stalled-job check on any other node puts the job back in its queue (jobs.maxRetries times). Jobs,
// progress and results are in Redis, so every node sees them and they survive a restart of every node.
//
// What is ours, beside BullMQ's keys (prefix "earshot"):
//   earshot:jobs:meta:<id>       the job's queue and spec (a GET on any node finds the job's queue)
//   earshot:jobs:result:<id>     the transcript, written once (SET NX): a run retried after its node was
//                                lost and a late finish of the lost run cannot make two results, and a
//                                retry that finds a result reuses it instead of decoding again
//   earshot:jobs:cancel:<id>     cancellation asked; the pub/sub channel earshot:jobs:cancel tells the
//                                node running it to abort the decode
//   earshot:jobs:cancelled:<id>  the last state of a job cancelled while queued (removed from its queue)
//   earshot:jobs:index[:<owner>] sorted sets of job ids by creation time, for listing
// Webhooks go through a BullMQ queue of their own ("webhooks", job id = the job's): durable, retried with
// backoff, and added at most once per job.
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Transcript } from '../engines/types.js';
import { isAbort, jobError } from './errors.js';
import { CANCELLED_REASON, type JobBackend, type JobSpec, type JobState, type WorkOptions } from './types.js';

const PREFIX = 'earshot';
const K = {
  meta: (id: string) => `${PREFIX}:jobs:meta:${id}`,
  result: (id: string) => `${PREFIX}:jobs:result:${id}`,
  cancel: (id: string) => `${PREFIX}:jobs:cancel:${id}`,
  cancelled: (id: string) => `${PREFIX}:jobs:cancelled:${id}`,
  index: (owner?: string) => (owner === undefined ? `${PREFIX}:jobs:index` : `${PREFIX}:jobs:index:${owner}`),
  cancelChannel: `${PREFIX}:jobs:cancel`,
};
const WEBHOOK_QUEUE = 'webhooks';

interface Progress {
  fraction: number;
  node: string;
}

interface Meta {
  queue: string;
  spec: JobSpec;
}

export interface RedisBackendOptions {
  url: string;
  node: string;
  leaseMs: number;
  maxRetries: number;
  retentionMs: number;
  log: { warn(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void };
}

export class RedisJobBackend implements JobBackend {
  readonly kind = 'redis' as const;
  /** commands from requests: they fail at once while Redis is away instead of queueing up */
  private readonly client: Redis;
  private readonly sub: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private lastError?: string;
  private closing = false;

  constructor(private readonly opts: RedisBackendOptions) {
    this.client = new Redis(opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(2000, 100 * n) });
    this.client.on('error', (err: Error) => (this.lastError = err.message));
    this.client.on('ready', () => (this.lastError = undefined));
    this.sub = new Redis(opts.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(2000, 100 * n) });
    this.sub.on('error', () => {});
    this.sub.on('message', (_channel: string, id: string) => {
      for (const w of this.workers) w.cancelJob(id, CANCELLED_REASON);
    });
    void this.sub.subscribe(K.cancelChannel).catch(() => {});
  }

  /** Resolves once Redis answers (or after `ms`, still unavailable: the node runs on and retries). */
  async ready(ms = 5000): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.client.on('ready', onReady);
    });
  }

  unavailable(): string | undefined {
    if (this.closing) return 'the server is shutting down';
    if (this.client.status === 'ready') return undefined;
    const where = redactedUrl(this.opts.url);
    return `the job queue (Redis at ${where}) is unreachable${this.lastError ? `: ${this.lastError}` : ''}; jobs resume when it is back`;
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.client, prefix: PREFIX });
      q.on('error', (err: Error) => (this.lastError = err.message));
      this.queues.set(name, q);
    }
    return q;
  }

  async add(queue: string, spec: JobSpec): Promise<void> {
    const created = Date.parse(spec.createdAt);
    const meta: Meta = { queue, spec };
    await this.client.multi().set(K.meta(spec.id), JSON.stringify(meta)).zadd(K.index(), created, spec.id).zadd(K.index(spec.owner), created, spec.id).exec();
    const retention = Math.ceil(this.opts.retentionMs / 1000);
    await this.queue(queue).add('transcribe', spec, {
      jobId: spec.id,
      // a failed transcription is not retried (bad audio stays bad); a lost node is handled by the lease
      attempts: 1,
      removeOnComplete: { age: retention },
      removeOnFail: { age: retention },
    });
  }

  async get(id: string): Promise<JobState | undefined> {
    const [metaRaw, snapshot] = await this.client.mget(K.meta(id), K.cancelled(id));
    if (snapshot) return JSON.parse(snapshot) as JobState;
    if (!metaRaw) return undefined;
    const meta = JSON.parse(metaRaw) as Meta;
    const job = await this.queue(meta.queue).getJob(id);
    if (!job) return undefined;
    return this.stateOf(meta.spec, job);
  }

  private async stateOf(spec: JobSpec, job: Job): Promise<JobState> {
    const bullState = await job.getState();
    const progress = (typeof job.progress === 'object' ? job.progress : undefined) as Progress | undefined;
    const state: JobState = {
      spec,
      status: 'queued',
      progress: progress?.fraction ?? 0,
      attempts: job.attemptsStarted,
      ...(progress?.node ? { node: progress.node } : {}),
      ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
    };
    if (bullState === 'active') state.status = 'running';
    else if (bullState === 'completed' || bullState === 'failed') {
      state.finishedAt = new Date(job.finishedOn ?? Date.now()).toISOString();
      if (bullState === 'completed') {
        state.status = 'completed';
        state.progress = 1;
        const result = await this.client.get(K.result(spec.id));
        if (result) state.result = JSON.parse(result) as Transcript;
      } else if (job.failedReason === CANCELLED_REASON) {
        state.status = 'cancelled';
        state.error = { code: 'cancelled', message: CANCELLED_REASON };
      } else {
        state.status = 'failed';
        state.error = parseFailure(job.failedReason);
      }
    }
    return state;
  }

  async list(owner: string | undefined, limit: number): Promise<JobState[]> {
    const ids = await this.client.zrevrange(K.index(owner), 0, limit * 2);
    const out: JobState[] = [];
    const gone: string[] = [];
    for (const id of ids) {
      if (out.length >= limit) break;
      const state = await this.get(id);
      if (state) out.push({ ...state, result: undefined });
      else gone.push(id);
    }
    // expired by retention: forget them
    if (gone.length > 0) {
      const m = this.client.multi().zrem(K.index(), ...gone);
      if (owner !== undefined) m.zrem(K.index(owner), ...gone);
      for (const id of gone) m.del(K.meta(id));
      await m.exec();
    }
    return out;
  }

  async cancel(id: string): Promise<JobState | undefined> {
    const state = await this.get(id);
    if (!state || (state.status !== 'queued' && state.status !== 'running')) return state;
    const retention = Math.ceil(this.opts.retentionMs / 1000);
    await this.client.set(K.cancel(id), '1', 'EX', retention);
    const metaRaw = await this.client.get(K.meta(id));
    const job = metaRaw ? await this.queue((JSON.parse(metaRaw) as Meta).queue).getJob(id) : undefined;
    if (state.status === 'queued' && job) {
      try {
        // refused when a node took it meanwhile (locked): then it is cancelled as a running job below
        await job.remove();
        const snapshot: JobState = {
          ...state,
          status: 'cancelled',
          finishedAt: new Date().toISOString(),
          error: { code: 'cancelled', message: CANCELLED_REASON },
        };
        await this.client.set(K.cancelled(id), JSON.stringify(snapshot), 'EX', retention);
        return snapshot;
      } catch {
        // running now
      }
    }
    await this.client.publish(K.cancelChannel, id);
    // the node running it aborts its decode and records the cancellation; report what it ends in
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await this.get(id);
      if (now?.status !== 'running' || Date.now() > deadline) return now;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async remove(id: string): Promise<boolean> {
    const state = await this.get(id);
    if (!state || state.status === 'queued' || state.status === 'running') return false;
    const metaRaw = await this.client.get(K.meta(id));
    const job = metaRaw ? await this.queue((JSON.parse(metaRaw) as Meta).queue).getJob(id) : undefined;
    await job?.remove();
    await this.client.multi().del(K.meta(id), K.result(id), K.cancel(id), K.cancelled(id)).zrem(K.index(), id).zrem(K.index(state.spec.owner), id).exec();
    return true;
  }

  async work(opts: WorkOptions): Promise<void> {
    const connection = () => {
      const c = new Redis(this.opts.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(2000, 100 * n) });
      c.on('error', () => {});
      return c;
    };
    const retention = Math.ceil(this.opts.retentionMs / 1000);
    const webhooks = this.queue(WEBHOOK_QUEUE);
    for (const name of opts.queues) {
      const worker = new Worker(name, (job, token, signal) => this.process(job, token, signal, opts, webhooks, retention), {
        connection: connection(),
        prefix: PREFIX,
        concurrency: opts.concurrency,
        lockDuration: this.opts.leaseMs,
        stalledInterval: this.opts.leaseMs,
        maxStalledCount: this.opts.maxRetries,
        removeOnComplete: { age: retention },
        removeOnFail: { age: retention },
      });
      worker.on('error', (err: Error) => (this.lastError = err.message));
      worker.on('failed', (job, err) => {
        if (job && err?.message !== CANCELLED_REASON) this.opts.log.warn({ job: job.id, err: err?.message }, 'job failed');
      });
      worker.on('completed', (job) => void this.finished(job.id!, opts));
      worker.on('failed', (job) => job && void this.finished(job.id!, opts));
      this.workers.push(worker);
    }
    const hooks = new Worker(
      WEBHOOK_QUEUE,
      async (job) => {
        const state = await this.get(job.id!);
        if (state) await opts.deliverWebhook(state);
      },
      { connection: connection(), prefix: PREFIX, concurrency: 4, removeOnComplete: { age: retention }, removeOnFail: { age: retention } },
    );
    hooks.on('error', (err: Error) => (this.lastError = err.message));
    this.workers.push(hooks);
  }

  private async finished(id: string, opts: WorkOptions): Promise<void> {
    const state = await this.get(id).catch(() => undefined);
    if (state && state.status !== 'queued' && state.status !== 'running') await Promise.resolve(opts.onFinished?.(state)).catch(() => {});
  }

  private async process(job: Job, token: string | undefined, signal: AbortSignal | undefined, opts: WorkOptions, webhooks: Queue, retention: number) {
    const spec = job.data as JobSpec;
    const node = this.opts.node;
    if (await this.client.exists(K.cancel(spec.id))) throw new UnrecoverableError(CANCELLED_REASON);
    await job.updateProgress({ fraction: 0, node } satisfies Progress);
    let stored = await this.client.get(K.result(spec.id));
    if (!stored) {
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let last = 0;
      let sent = 0;
      try {
        const transcript = await opts.run(spec, {
          signal: controller.signal,
          progress: (f) => {
            last = Math.max(last, Math.min(1, f));
            // at most twice a second: progress is a Redis write and an event to every listener
            if (Date.now() - sent < 500) return;
            sent = Date.now();
            void job.updateProgress({ fraction: last, node } satisfies Progress).catch(() => {});
          },
        });
        // first result wins: a lost run that finishes late, or a retry, cannot make a second one
        await this.client.set(K.result(spec.id), JSON.stringify(transcript), 'EX', retention, 'NX');
      } catch (err) {
        if (this.closing && token) {
          // this node is shutting down: the job goes back to its queue for another node now
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (controller.signal.aborted || isAbort(err)) {
          if (await this.client.exists(K.cancel(spec.id))) throw new UnrecoverableError(CANCELLED_REASON);
        }
        throw new UnrecoverableError(JSON.stringify(jobError(err)));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      stored = 'stored';
    }
    if (spec.webhookUrl) {
      // the job id makes this at most one webhook job per transcription job, however often this runs
      await webhooks.add(
        'deliver',
        { id: spec.id },
        {
          jobId: spec.id,
          attempts: opts.webhookAttempts,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: retention },
          removeOnFail: { age: retention },
        },
      );
    }
    return { node };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.workers) w.cancelAllJobs('server shutting down');
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.sub.disconnect();
    this.client.disconnect();
  }
}

function parseFailure(reason: string | undefined): { code: string; message: string } {
  try {
    const parsed = JSON.parse(reason ?? '') as { code?: string; message?: string };
    if (parsed.code && parsed.message) return { code: parsed.code, message: parsed.message };
  } catch {
    // BullMQ's own reasons (e.g. "job stalled more than allowable limit")
  }
  return { code: /stalled/i.test(reason ?? '') ? 'node_lost' : 'internal_error', message: reason || 'failed' };
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'the configured URL';
  }
}
