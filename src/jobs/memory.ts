// Jobs in this process, for the single-node server (no Redis configured): the same contract as the
// BullMQ backend — a FIFO queue per model, `concurrency` jobs at a time, progress, cancellation,
// webhooks with retries — without durability: queued and finished jobs are lost on restart. Written
// here rather than with a library because it is a small array and a counter; what needs a real queue
// (leases, stalled-job recovery, several nodes) is BullMQ's job in redis.ts.
import { CANCELLED_REASON, type JobBackend, type JobSpec, type JobState, type WorkOptions } from './types.js';
import { isAbort, jobError } from './errors.js';

interface Entry {
  queue: string;
  state: JobState;
  controller?: AbortController;
  /** settles when the running attempt has ended */
  ended?: Promise<void>;
}

export interface MemoryBackendOptions {
  node: string;
  retentionMs: number;
  /** most queued + running jobs held at once (each may hold an upload in the audio store) */
  maxPending?: number;
}

export class MemoryJobBackend implements JobBackend {
  readonly kind = 'memory' as const;
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private running = 0;
  private working?: WorkOptions;
  private closed = false;
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly opts: MemoryBackendOptions) {
    this.sweep = setInterval(() => this.prune(), Math.min(60_000, opts.retentionMs)).unref();
  }

  unavailable(): string | undefined {
    return this.closed ? 'the server is shutting down' : undefined;
  }

  async add(queue: string, spec: JobSpec): Promise<void> {
    const max = this.opts.maxPending ?? 1000;
    if (this.waiting.length + this.running >= max) throw Object.assign(new Error(`${max} jobs are already waiting; retry later`), { code: 'queue_full' });
    this.jobs.set(spec.id, { queue, state: { spec, status: 'queued', progress: 0, attempts: 0 } });
    this.waiting.push(spec.id);
    this.pump();
  }

  async get(id: string): Promise<JobState | undefined> {
    const e = this.jobs.get(id);
    return e ? { ...e.state } : undefined;
  }

  async list(owner: string | undefined, limit: number): Promise<JobState[]> {
    return [...this.jobs.values()]
      .map((e) => e.state)
      .filter((s) => owner === undefined || s.spec.owner === owner)
      .sort((a, b) => b.spec.createdAt.localeCompare(a.spec.createdAt))
      .slice(0, limit)
      .map((s) => ({ ...s }));
  }

  async cancel(id: string): Promise<JobState | undefined> {
    const e = this.jobs.get(id);
    if (!e) return undefined;
    if (e.state.status === 'queued') {
      this.waiting.splice(this.waiting.indexOf(id), 1);
      this.finish(e, { status: 'cancelled', error: { code: 'cancelled', message: CANCELLED_REASON } });
    } else if (e.state.status === 'running') {
      e.controller?.abort(new Error(CANCELLED_REASON));
      // the runner's decode stops at its next abort check; report the state it ends in
      await e.ended;
    }
    return { ...e.state };
  }

  async remove(id: string): Promise<boolean> {
    const e = this.jobs.get(id);
    if (!e || e.state.status === 'queued' || e.state.status === 'running') return false;
    return this.jobs.delete(id);
  }

  async work(opts: WorkOptions): Promise<void> {
    this.working = opts;
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    for (const e of this.jobs.values()) e.controller?.abort(new Error('server shutting down'));
  }

  private pump(): void {
    const work = this.working;
    if (!work || this.closed) return;
    while (this.running < work.concurrency) {
      const idx = this.waiting.findIndex((id) => work.queues.includes(this.jobs.get(id)!.queue));
      if (idx === -1) return;
      const [id] = this.waiting.splice(idx, 1);
      const e = this.jobs.get(id!)!;
      e.ended = this.runOne(e, work);
    }
  }

  private async runOne(e: Entry, work: WorkOptions): Promise<void> {
    this.running++;
    const controller = new AbortController();
    e.controller = controller;
    Object.assign(e.state, { status: 'running', node: this.opts.node, startedAt: new Date().toISOString(), attempts: e.state.attempts + 1 });
    try {
      const result = await work.run(e.state.spec, {
        signal: controller.signal,
        progress: (f) => (e.state.progress = Math.max(e.state.progress, Math.min(1, f))),
      });
      this.finish(e, { status: 'completed', progress: 1, result });
      if (e.state.spec.webhookUrl) void this.deliver(e.state, work);
    } catch (err) {
      const cancelled = controller.signal.aborted && isAbort(err);
      this.finish(e, cancelled ? { status: 'cancelled', error: { code: 'cancelled', message: CANCELLED_REASON } } : { status: 'failed', error: jobError(err) });
    } finally {
      e.controller = undefined;
      this.running--;
      this.pump();
    }
  }

  private finish(e: Entry, patch: Partial<JobState>): void {
    Object.assign(e.state, patch, { finishedAt: new Date().toISOString() });
    void Promise.resolve(this.working?.onFinished?.({ ...e.state })).catch(() => {});
  }

  /** attempts with exponential backoff from 1 s */
  private async deliver(state: JobState, work: WorkOptions): Promise<void> {
    for (let attempt = 1; attempt <= work.webhookAttempts && !this.closed; attempt++) {
      try {
        await work.deliverWebhook({ ...state });
        return;
      } catch {
        if (attempt < work.webhookAttempts) await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)).unref());
      }
    }
  }

  private prune(): void {
    const cutoff = Date.now() - this.opts.retentionMs;
    for (const [id, e] of this.jobs) {
      if (e.state.finishedAt && Date.parse(e.state.finishedAt) < cutoff) this.jobs.delete(id);
    }
  }
}
