// Utterances waiting for the server. One upload at a time, in order; when the server is down the utterance stays
// queued and is retried with backoff while the client keeps listening.
import { setTimeout as sleep } from 'node:timers/promises';
import { TranscribeError } from './transcribe-client.js';

export interface UploadQueueOptions<J, R> {
  send(job: J, signal: AbortSignal): Promise<R>;
  onResult(job: J, result: R, latencyMs: number): void | Promise<void>;
  onFailure(job: J, error: Error): void;
  /** Called before each wait; `queued` counts the job being retried. */
  onRetry?(job: J, error: Error, delayMs: number, queued: number): void;
  /** How long a job may keep being retried, from when it was queued (ms). */
  retryWindowMs?: number;
  /** Oldest jobs are dropped beyond this many. */
  maxQueued?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Entry<J> {
  job: J;
  queuedAt: number;
}

export class UploadQueue<J, R> {
  private readonly entries: Entry<J>[] = [];
  private running: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly options: UploadQueueOptions<J, R>) {}

  get size(): number {
    return this.entries.length;
  }

  enqueue(job: J): void {
    this.entries.push({ job, queuedAt: Date.now() });
    const max = this.options.maxQueued ?? 20;
    while (this.entries.length > max) {
      const dropped = this.entries.splice(1, 1)[0]; // keep the one in flight at index 0
      this.options.onFailure(dropped.job, new Error(`dropped: more than ${max} utterances waiting for the server`));
    }
    this.running ??= this.work().finally(() => (this.running = null));
  }

  /** Resolves once every queued job has been delivered or given up on. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops retrying; jobs still queued are reported as failed. */
  close(): void {
    this.abort.abort();
  }

  private async work(): Promise<void> {
    const initial = this.options.initialBackoffMs ?? 1000;
    const max = this.options.maxBackoffMs ?? 30_000;
    const window = this.options.retryWindowMs ?? 300_000;
    let backoff = initial;
    while (this.entries.length) {
      const entry = this.entries[0];
      const started = performance.now();
      try {
        const result = await this.options.send(entry.job, this.abort.signal);
        this.entries.shift();
        backoff = initial;
        await this.options.onResult(entry.job, result, performance.now() - started);
      } catch (err) {
        const error = err as Error;
        const retryable = error instanceof TranscribeError && error.retryable && !this.abort.signal.aborted;
        const deadline = entry.queuedAt + window;
        if (!retryable || Date.now() + backoff > deadline) {
          this.entries.shift();
          this.options.onFailure(entry.job, retryable ? new Error(`${error.message}; gave up after ${Math.round(window / 1000)} s`) : error);
          continue;
        }
        this.options.onRetry?.(entry.job, error, backoff, this.entries.length);
        await sleep(backoff, undefined, { signal: this.abort.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, max);
      }
    }
  }
}
