// A pool of engine worker processes shared by every engine family: a priority queue in front of
// the workers, cancellation, a watchdog per job, and respawn with backoff when a worker dies.
// Engines plug in how to spawn a worker and how to hand it one job; the pool never looks inside.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { EngineError, type EngineStats } from '../types.js';

/**
 * What the pool needs from one worker process. A worker emits 'idle' when a job ends and 'exit'
 * once, whatever ends the process; a dead worker rejects its own running jobs with worker_crashed.
 */
export interface PoolWorker<Info> extends EventEmitter {
  readonly pid: number | undefined;
  readonly alive: boolean;
  /** jobs running inside it now */
  readonly running: number;
  ready(): Promise<Info>;
  cancel(jobId: string): void;
  kill(reason?: string): void;
  shutdown(graceMs?: number): Promise<void>;
}

/** How a dispatched job reports back; exactly one of these settles it. */
export interface JobHandle<R> {
  id: string;
  resolve(result: R): void;
  reject(error: Error): void;
}

export interface PoolRequest<W, R> {
  /** audio length: the watchdog allows time in proportion */
  audioSeconds: number;
  priority?: 'high' | 'normal' | 'low';
  signal?: AbortSignal;
  /** sends the job to the chosen worker */
  start(worker: W, job: JobHandle<R>): void;
}

export interface PoolResult<R> {
  value: R;
  /** seconds from dispatch to result (queue time excluded) */
  runSeconds: number;
}

export interface WorkerPoolOptions<W> {
  spawn(): W;
  /** worker processes */
  size: number;
  /** jobs one worker runs at once */
  capacity: number;
  /** bound on queued jobs; past it run() rejects with 'overloaded' */
  maxQueue?: number;
  /** a job running longer than max(minJobTimeoutMs, audio seconds × this) is a hang: kill the worker */
  jobTimeoutPerAudioSecond?: number;
  minJobTimeoutMs?: number;
  /** how long a cancelled running job may take to stop before its worker is killed */
  abortGraceMs?: number;
  /** a worker died ('exit') or failed to come back ('respawn_failed') */
  onWorkerExit?(event: { pid: number | undefined; error?: string }): void;
  /** a job ended (resolved, failed or aborted, queued or running): feeds the metrics (queue wait, real-time factor, counts) */
  onJob?(event: PoolJobEvent): void;
}

/** One finished job, as the pool saw it. */
export interface PoolJobEvent {
  /** seconds from run() to dispatch (the whole life of a job aborted in the queue) */
  waitSeconds: number;
  /** seconds from dispatch to the end; 0 for a job that never reached a worker */
  runSeconds: number;
  audioSeconds: number;
  outcome: 'ok' | 'error' | 'aborted';
}

interface Pending<W> {
  id: string;
  request: PoolRequest<W, unknown>;
  priority: number;
  resolve(result: PoolResult<unknown>): void;
  reject(error: Error): void;
  worker?: W;
  enqueuedAt: number;
  dispatchedAt?: number;
  watchdog?: NodeJS.Timeout;
  abortTimer?: NodeJS.Timeout;
  detach?: () => void;
}

const PRIORITY = { high: 0, normal: 1, low: 2 } as const;

export class WorkerPool<Info, W extends PoolWorker<Info>> {
  private readonly workers: W[] = [];
  private readonly queue: Pending<W>[] = [];
  private readonly running = new Map<string, Pending<W>>();
  private readonly counters = { restarts: 0, completed: 0, failed: 0 };
  private closed = false;
  private restartDelayMs = 200;
  private respawnTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerPoolOptions<W>) {}

  /** Spawns every worker and waits until all are ready; answers their ready infos. */
  async start(): Promise<Info[]> {
    const spawned: W[] = [];
    try {
      for (let i = 0; i < this.options.size; i++) spawned.push(this.options.spawn());
      const infos = await Promise.all(spawned.map((w) => w.ready()));
      if (this.closed) throw new EngineError('closed', 'engine closed while starting');
      for (const w of spawned) this.adopt(w);
      this.pump();
      return infos;
    } catch (err) {
      for (const w of spawned) w.kill();
      throw err;
    }
  }

  /** live workers (for tests, the status panel and benchmarks) */
  liveWorkers(): readonly W[] {
    return this.workers;
  }

  stats(): EngineStats {
    return {
      workers: this.workers.length,
      busy: this.running.size,
      queued: this.queue.length,
      restarts: this.counters.restarts,
      completed: this.counters.completed,
      failed: this.counters.failed,
    };
  }

  run<R>(request: PoolRequest<W, R>): Promise<PoolResult<R>> {
    if (this.closed) return Promise.reject(new EngineError('closed', 'engine is closed'));
    if (request.signal?.aborted) return Promise.reject(new EngineError('aborted', 'transcription aborted'));
    const maxQueue = this.options.maxQueue ?? 256;
    if (this.queue.length >= maxQueue) {
      return Promise.reject(new EngineError('overloaded', `engine queue is full (${maxQueue} jobs waiting)`));
    }
    return new Promise<PoolResult<R>>((resolve, reject) => {
      const job: Pending<W> = {
        id: randomUUID(),
        request: request as PoolRequest<W, unknown>,
        priority: PRIORITY[request.priority ?? 'normal'],
        resolve: resolve as (r: PoolResult<unknown>) => void,
        reject,
        enqueuedAt: Date.now(),
      };
      if (request.signal) {
        const signal = request.signal;
        const onAbort = () => this.abort(job);
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      // Stable insert: after every job of the same or higher priority.
      let at = this.queue.length;
      while (at > 0 && this.queue[at - 1]!.priority > job.priority) at--;
      this.queue.splice(at, 0, job);
      this.pump();
    });
  }

  private adopt(worker: W): void {
    this.workers.push(worker);
    worker.on('idle', () => this.pump());
    worker.once('exit', () => {
      const index = this.workers.indexOf(worker);
      if (index >= 0) this.workers.splice(index, 1);
      if (this.closed) return;
      this.counters.restarts++;
      this.options.onWorkerExit?.({ pid: worker.pid });
      this.scheduleRespawn();
    });
  }

  /** Replaces a dead worker after a delay that doubles while workers keep dying (a corrupt model, say). */
  private scheduleRespawn(): void {
    // Not unref'd: queued jobs are waiting for this worker, the process must not exit under them.
    this.respawnTimer = setTimeout(() => this.respawn(), this.restartDelayMs);
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, 10_000);
  }

  private respawn(): void {
    if (this.closed) return;
    let worker: W;
    try {
      worker = this.options.spawn();
    } catch (err) {
      this.failQueue(err as Error);
      return;
    }
    worker
      .ready()
      .then(() => {
        if (this.closed) {
          worker.kill();
          return;
        }
        this.restartDelayMs = 200;
        this.adopt(worker);
        this.pump();
      })
      .catch((err: Error) => {
        this.options.onWorkerExit?.({ pid: worker.pid, error: err.message });
        if (!this.closed) {
          this.counters.restarts++;
          this.scheduleRespawn();
        }
      });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.workers.filter((w) => w.alive && w.running < this.options.capacity).sort((a, b) => a.running - b.running)[0];
      if (!worker) return;
      this.dispatch(this.queue.shift()!, worker);
    }
  }

  private dispatch(job: Pending<W>, worker: W): void {
    job.worker = worker;
    job.dispatchedAt = Date.now();
    this.running.set(job.id, job);
    const timeoutMs = Math.max(this.options.minJobTimeoutMs ?? 60_000, job.request.audioSeconds * 1000 * (this.options.jobTimeoutPerAudioSecond ?? 10));
    job.watchdog = setTimeout(() => {
      const why = `transcription exceeded ${Math.round(timeoutMs / 1000)} s (limits.jobTimeoutFloorSeconds / jobTimeoutPerAudioSecond): worker presumed hung, killed and restarted`;
      // This job fails as a timeout (not a crash); other jobs on the same worker fail as worker_crashed with this reason.
      this.settle(job, () => {
        throw new EngineError('worker_timeout', why);
      });
      worker.kill(why);
    }, timeoutMs);
    job.watchdog.unref();
    try {
      job.request.start(worker, {
        id: job.id,
        resolve: (value) => this.settle(job, () => job.resolve({ value, runSeconds: (Date.now() - job.dispatchedAt!) / 1000 })),
        reject: (err) =>
          this.settle(job, () => {
            throw err;
          }),
      });
    } catch (err) {
      this.settle(job, () => {
        throw err;
      });
    }
  }

  /** Ends a running job exactly once: `finish` resolves it, or throws to reject it. */
  private settle(job: Pending<W>, finish: () => void): void {
    if (!this.running.delete(job.id)) return;
    clearTimeout(job.watchdog);
    clearTimeout(job.abortTimer);
    job.detach?.();
    try {
      finish();
      this.counters.completed++;
      this.reportJob(job, 'ok');
    } catch (err) {
      this.counters.failed++;
      this.reportJob(job, err instanceof EngineError && err.code === 'aborted' ? 'aborted' : 'error');
      job.reject(err as Error);
    }
    this.pump();
  }

  private abort(job: Pending<W>): void {
    const queuedAt = this.queue.indexOf(job);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      job.detach?.();
      this.counters.failed++;
      this.reportJob(job, 'aborted');
      job.reject(new EngineError('aborted', 'transcription aborted'));
      return;
    }
    const worker = job.worker;
    if (!worker || !this.running.has(job.id)) return;
    worker.cancel(job.id);
    // Workers check for cancellation between compute steps; if it does not stop in time, kill.
    job.abortTimer = setTimeout(() => worker.kill('worker killed: cancelled job did not stop in time'), this.options.abortGraceMs ?? 30_000);
    job.abortTimer.unref();
  }

  private reportJob(job: Pending<W>, outcome: PoolJobEvent['outcome']): void {
    if (!this.options.onJob) return;
    const now = Date.now();
    const dispatched = job.dispatchedAt ?? now;
    this.options.onJob({
      waitSeconds: (dispatched - job.enqueuedAt) / 1000,
      runSeconds: (now - dispatched) / 1000,
      audioSeconds: job.request.audioSeconds,
      outcome,
    });
  }

  private failQueue(err: Error): void {
    const pending = this.queue.splice(0);
    for (const job of pending) {
      job.detach?.();
      this.counters.failed++;
      job.reject(err instanceof EngineError ? err : new EngineError('internal', err.message));
    }
  }

  /** Rejects queued work, lets running work finish up to the grace period, then kills. */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.respawnTimer);
    this.failQueue(new EngineError('closed', 'engine is shutting down'));
    await Promise.all(this.workers.map((w) => w.shutdown(graceMs)));
  }
}
