// A bounded work queue: at most `concurrency` tasks run, at most `maxPending` wait; under overload the
// oldest waiting task is dropped (its caller gets a DroppedError), because for live captions the newest
// utterance's keywords matter more than a stale one's.

export class DroppedError extends Error {
  constructor() {
    super('dropped from the enrichment queue under overload');
    this.name = 'DroppedError';
  }
}

interface Pending {
  start: () => void;
  drop: () => void;
}

export class DropOldestQueue {
  private running = 0;
  private readonly pending: Pending[] = [];
  private droppedCount = 0;

  constructor(
    readonly concurrency: number,
    readonly maxPending: number,
  ) {
    if (!(concurrency >= 1)) throw new RangeError('queue concurrency must be at least 1');
    if (!(maxPending >= 0)) throw new RangeError('queue maxPending must be 0 or more');
  }

  get size(): number {
    return this.pending.length;
  }

  get active(): number {
    return this.running;
  }

  /** Tasks dropped since the queue was made. */
  get dropped(): number {
    return this.droppedCount;
  }

  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const execute = () => {
        this.running++;
        let result: Promise<T>;
        try {
          result = task();
        } catch (err) {
          result = Promise.reject(err);
        }
        result.then(resolve, reject).finally(() => {
          this.running--;
          this.next();
        });
      };

      if (this.running < this.concurrency) {
        execute();
        return;
      }

      const onAbort = () => {
        const i = this.pending.indexOf(entry);
        if (i !== -1) this.pending.splice(i, 1);
        reject(signal!.reason);
      };
      const entry: Pending = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          execute();
        },
        drop: () => {
          signal?.removeEventListener('abort', onAbort);
          this.droppedCount++;
          reject(new DroppedError());
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.push(entry);
      while (this.pending.length > this.maxPending) this.pending.shift()!.drop();
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.pending.length > 0) this.pending.shift()!.start();
  }
}
