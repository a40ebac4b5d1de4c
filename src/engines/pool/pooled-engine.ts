// What every worker-pool engine family shares (whisper.cpp, CTranslate2, sherpa-onnx, CTC): the pool
// built the same way — hang watchdog, cancellation grace, bounded queue, the 'worker_exit' and 'job'
// events the metrics and the status panel listen to — readiness, worker pids, stats and close.
// A family supplies how to spawn its worker, what to do once the workers are up, and transcribe().
import { EventEmitter } from 'node:events';
import { EngineError, type EngineInfo, type EngineStats } from '../types.js';
import { WorkerPool, type PoolWorker } from './worker-pool.js';

export interface PoolSettings {
  /** worker processes (each loads the model once) */
  processes: number;
  /** jobs one worker runs at once */
  capacity: number;
  /** bound on queued jobs; past it transcribe() rejects with 'overloaded' */
  maxQueue?: number;
  /** a job running longer than max(minJobTimeoutMs, audio seconds × this) is a hang: kill the worker */
  jobTimeoutPerAudioSecond?: number;
  minJobTimeoutMs?: number;
  /** how long a cancelled running job may take to stop before its worker is killed */
  abortGraceMs: number;
}

export abstract class PooledEngine<Info, W extends PoolWorker<Info>> extends EventEmitter {
  abstract readonly info: EngineInfo;
  protected readonly pool: WorkerPool<Info, W>;
  protected closed = false;
  private readyPromise: Promise<void> | undefined;

  protected constructor(spawn: () => W, settings: PoolSettings) {
    super();
    this.pool = new WorkerPool<Info, W>({
      spawn,
      size: settings.processes,
      capacity: settings.capacity,
      maxQueue: settings.maxQueue,
      jobTimeoutPerAudioSecond: settings.jobTimeoutPerAudioSecond,
      minJobTimeoutMs: settings.minJobTimeoutMs,
      abortGraceMs: settings.abortGraceMs,
      onWorkerExit: (event) => this.emit('worker_exit', event),
      // 'job' (EngineJobEvent in app/metrics.ts): queue wait, run time and outcome of each finished job
      onJob: (event) => this.emit('job', { modelId: this.info.modelId, kind: this.info.kind, ...event }),
    });
  }

  /** Starts the workers; a subclass calls it at the end of its constructor, once `info` is set. */
  protected launch(): void {
    this.readyPromise = this.prepare()
      .then(() => this.pool.start())
      .then((infos) => this.started(infos));
    this.readyPromise.catch(() => undefined);
  }

  /** Runs before any worker is spawned (validate the model's files…); the default does nothing. */
  protected async prepare(): Promise<void> {}

  /** Runs once every worker is ready, with their ready infos (fill `info.detail`, check the device…). */
  protected abstract started(infos: Info[]): void | Promise<void>;

  ready(): Promise<void> {
    if (!this.readyPromise) throw new Error('engine not launched');
    return this.readyPromise;
  }

  /** pids of live workers (for tests, the status panel and benchmarks) */
  workerPids(): number[] {
    return this.pool
      .liveWorkers()
      .map((w) => w.pid)
      .filter((p): p is number => p !== undefined);
  }

  stats(): EngineStats {
    return this.pool.stats();
  }

  /** The checks every transcribe() starts with. */
  protected checkAudio(audio: Float32Array): void {
    if (this.closed) throw new EngineError('closed', 'engine is closed');
    if (audio.length === 0) throw new EngineError('bad_audio', 'no audio samples');
  }

  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close(graceMs);
  }
}
