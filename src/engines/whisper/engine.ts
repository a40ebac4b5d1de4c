// WhisperEngine: a pool of worker processes (each: one model copy, `parallel` decoding states), a
// priority queue in front of them, cancellation, watchdogs and restarts. The worker is the whisper.cpp
// binary or another program speaking its protocol (the CTranslate2 worker, ../ct2/).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  EngineError,
  SAMPLE_RATE,
  type Engine,
  type EngineInfo,
  type EngineStats,
  type Transcript,
  type TranscribeOptions,
} from '../types.js';
import type { RawResult } from './protocol.js';
import { joinText, toSegment } from './segments.js';
import { WorkerProcess, type WorkerLaunch, type WorkerProcessOptions } from './worker-process.js';

export interface WhisperEngineOptions {
  modelId: string;
  modelPath: string;
  /** which program runs the model: whisper.cpp (default) or CTranslate2 (see ../ct2/engine.ts) */
  kind?: 'whisper' | 'ct2';
  /** how to start a worker of that other kind; the whisper.cpp binary when omitted */
  launch?: () => WorkerLaunch;
  /** CPU threads per decoding state */
  threads: number;
  /** decoding states per process, sharing one copy of the weights */
  parallel: number;
  /** worker processes (each loads the model once) */
  processes: number;
  device: 'cpu' | 'cuda';
  gpuDevice?: number;
  /** flash attention (default on: a quarter to a third less encoder time on a CPU) */
  flashAttn?: boolean;
  /**
   * DTW word timing for jobs that ask for word times (default on: word times also for decodes
   * without timestamp tokens). The worker loads a DTW copy of the model on the first such job;
   * other jobs never pay DTW's cost and keep flash attention.
   */
  dtw?: boolean;
  /** how long a cancelled job may take to stop before its worker is killed (the worker checks for
   *  aborts between graph nodes, milliseconds apart; this is the safety net for a stuck one) */
  abortGraceMs?: number;
  /** a job running longer than max(minJobTimeoutMs, audio seconds × this) is a hang: kill the worker */
  jobTimeoutPerAudioSecond?: number;
  minJobTimeoutMs?: number;
  /** bound on queued jobs; past it transcribe() rejects with 'overloaded' */
  maxQueue?: number;
  languages?: string[] | '*';
}

interface PendingJob {
  id: string;
  audio: Float32Array;
  options: TranscribeOptions;
  wire: Record<string, unknown>;
  priority: number;
  enqueuedAt: number;
  resolve: (t: Transcript) => void;
  reject: (e: Error) => void;
  worker?: WorkerProcess;
  watchdog?: NodeJS.Timeout;
  abortTimer?: NodeJS.Timeout;
  detach?: () => void;
}

const PRIORITY = { high: 0, normal: 1, low: 2 } as const;

export class WhisperEngine extends EventEmitter implements Engine {
  readonly info: EngineInfo;
  private readonly workers: WorkerProcess[] = [];
  private readonly queue: PendingJob[] = [];
  private readonly running = new Map<string, PendingJob>();
  private readonly counters = { restarts: 0, completed: 0, failed: 0 };
  private closed = false;
  private readyPromise: Promise<void>;
  private restartDelayMs = 200;

  constructor(readonly options: WhisperEngineOptions) {
    super();
    this.info = {
      modelId: options.modelId,
      kind: options.kind ?? 'whisper',
      device: options.device,
      languages: options.languages ?? '*',
      multilingual: options.languages === undefined || options.languages === '*',
      canTranslate: options.languages === undefined || options.languages === '*',
      wordTimestamps: true,
      windows: options.kind === 'ct2',
      detail: { threads: options.threads, parallel: options.parallel, processes: options.processes, path: options.modelPath },
    };
    this.readyPromise = this.start();
    this.readyPromise.catch(() => undefined);
  }

  private workerOptions(): WorkerProcessOptions {
    return {
      modelPath: this.options.modelPath,
      threads: this.options.threads,
      parallel: this.options.parallel,
      gpu: this.options.device === 'cuda',
      gpuDevice: this.options.gpuDevice,
      flashAttn: this.options.flashAttn ?? true,
      dtw: this.options.dtw ?? true,
      launch: this.options.launch?.(),
    };
  }

  private async start(): Promise<void> {
    const spawned: WorkerProcess[] = [];
    for (let i = 0; i < this.options.processes; i++) spawned.push(new WorkerProcess(this.workerOptions()));
    try {
      const infos = await Promise.all(spawned.map((w) => w.ready()));
      const first = infos[0]!;
      this.info.multilingual = first.multilingual;
      this.info.canTranslate = first.multilingual;
      if (!first.multilingual) this.info.languages = ['en'];
      Object.assign(this.info.detail, {
        whisperVersion: first.whisper_version,
        modelType: first.model_type,
        ftype: first.ftype,
        systemInfo: first.system_info,
      });
    } catch (err) {
      for (const w of spawned) w.kill();
      throw err;
    }
    for (const w of spawned) this.adopt(w);
    this.pump();
  }

  private adopt(worker: WorkerProcess): void {
    this.workers.push(worker);
    worker.on('idle', () => this.pump());
    worker.once('exit', () => {
      const index = this.workers.indexOf(worker);
      if (index >= 0) this.workers.splice(index, 1);
      if (this.closed) return;
      this.counters.restarts++;
      this.emit('worker_exit', { pid: worker.pid });
      this.scheduleRespawn();
    });
  }

  private respawnTimer: NodeJS.Timeout | undefined;

  /** Replaces a dead worker after a delay that doubles while workers keep dying (a corrupt model, say). */
  private scheduleRespawn(): void {
    // Not unref'd: queued jobs are waiting for this worker, the process must not exit under them.
    this.respawnTimer = setTimeout(() => this.respawn(), this.restartDelayMs);
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, 10_000);
  }

  private respawn(): void {
    if (this.closed) return;
    let worker: WorkerProcess;
    try {
      worker = new WorkerProcess(this.workerOptions());
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
        this.emit('worker_exit', { pid: worker.pid, error: err.message });
        if (!this.closed) {
          this.counters.restarts++;
          this.scheduleRespawn();
        }
      });
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** pids of live workers (for tests and the status panel) */
  workerPids(): number[] {
    return this.workers.map((w) => w.pid!).filter((p) => p !== undefined);
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

  transcribe(audio: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    if (this.closed) return Promise.reject(new EngineError('closed', 'engine is closed'));
    if (audio.length === 0) return Promise.reject(new EngineError('bad_audio', 'no audio samples'));
    if (options.signal?.aborted) return Promise.reject(new EngineError('aborted', 'transcription aborted'));
    if (options.windows && !this.info.windows) {
      return Promise.reject(new EngineError('unsupported', `the ${this.info.kind} engine does not decode separate windows`));
    }
    if (options.task === 'translate' && !this.info.canTranslate) {
      return Promise.reject(new EngineError('unsupported', `model ${this.info.modelId} is English-only and cannot translate`));
    }
    const maxQueue = this.options.maxQueue ?? 256;
    if (this.queue.length >= maxQueue) {
      return Promise.reject(new EngineError('overloaded', `engine queue is full (${maxQueue} jobs waiting)`));
    }
    return new Promise<Transcript>((resolve, reject) => {
      const job: PendingJob = {
        id: randomUUID(),
        audio,
        options,
        wire: this.wireOptions(options),
        priority: PRIORITY[options.priority ?? 'normal'],
        enqueuedAt: Date.now(),
        resolve,
        reject,
      };
      if (options.signal) {
        const onAbort = () => this.abort(job);
        options.signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => options.signal!.removeEventListener('abort', onAbort);
      }
      // Stable insert: after every job of the same or higher priority.
      let at = this.queue.length;
      while (at > 0 && this.queue[at - 1]!.priority > job.priority) at--;
      this.queue.splice(at, 0, job);
      this.pump();
    });
  }

  private wireOptions(o: TranscribeOptions): Record<string, unknown> {
    const language = o.language && o.language !== 'auto' ? o.language : 'auto';
    return {
      language,
      translate: o.task === 'translate',
      beam_size: o.beamSize ?? 1,
      best_of: o.bestOf ?? 5,
      temperature: o.temperature ?? 0,
      temperature_inc: o.temperatureIncrement ?? 0.2,
      initial_prompt: o.initialPrompt ?? '',
      word_timestamps: o.wordTimestamps ?? false,
      no_context: o.noContext ?? false,
      single_segment: o.singleSegment ?? false,
      no_timestamps: o.withoutTimestamps ?? false,
      stream_segments: Boolean(o.onSegment),
      progress: Boolean(o.onProgress),
      ...(o.windows ? { clips: o.windows } : {}),
    };
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.workers
        .filter((w) => w.alive && w.info && w.running < this.options.parallel)
        .sort((a, b) => a.running - b.running)[0];
      if (!worker) return;
      const job = this.queue.shift()!;
      this.dispatch(job, worker);
    }
  }

  private dispatch(job: PendingJob, worker: WorkerProcess): void {
    job.worker = worker;
    this.running.set(job.id, job);
    const seconds = job.audio.length / SAMPLE_RATE;
    const timeoutMs = Math.max(this.options.minJobTimeoutMs ?? 60_000, seconds * 1000 * (this.options.jobTimeoutPerAudioSecond ?? 10));
    job.watchdog = setTimeout(() => {
      worker.kill(`transcription exceeded ${Math.round(timeoutMs / 1000)} s: worker presumed hung and was killed`);
    }, timeoutMs);
    job.watchdog.unref();
    const started = Date.now();
    let segmentIndex = 0;
    worker.submit(
      {
        id: job.id,
        resolve: (raw) => this.settle(job, () => job.resolve(this.toTranscript(raw, job, (Date.now() - started) / 1000))),
        reject: (err) => this.settle(job, () => {
          throw err;
        }),
        onSegment: job.options.onSegment ? (raw) => job.options.onSegment!(toSegment(raw, segmentIndex++)) : undefined,
        onProgress: job.options.onProgress,
      },
      job.audio,
      job.wire,
    );
  }

  /** Ends a running job exactly once: `finish` resolves it, or throws to reject it. */
  private settle(job: PendingJob, finish: () => void): void {
    if (!this.running.delete(job.id)) return;
    clearTimeout(job.watchdog);
    clearTimeout(job.abortTimer);
    job.detach?.();
    try {
      finish();
      this.counters.completed++;
    } catch (err) {
      this.counters.failed++;
      job.reject(err as Error);
    }
    this.pump();
  }

  private toTranscript(raw: RawResult, job: PendingJob, elapsed: number): Transcript {
    const duration = job.audio.length / SAMPLE_RATE;
    const segments = raw.segments.map((s, i) => toSegment(s, i, 0, duration));
    const probs = raw.language_probs ?? undefined;
    return {
      text: joinText(segments),
      language: raw.language,
      languageProbs: probs,
      duration: job.audio.length / SAMPLE_RATE,
      segments,
      task: job.options.task ?? 'transcribe',
      model: this.info.modelId,
      engine: this.info.kind,
      processingTime: elapsed,
    };
  }

  private abort(job: PendingJob): void {
    const queuedAt = this.queue.indexOf(job);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      job.detach?.();
      this.counters.failed++;
      job.reject(new EngineError('aborted', 'transcription aborted'));
      return;
    }
    const worker = job.worker;
    if (!worker || !this.running.has(job.id)) return;
    worker.cancel(job.id);
    // The worker checks the abort flag between graph nodes; if it still does not stop in time, kill.
    job.abortTimer = setTimeout(() => worker.kill('worker killed: cancelled job did not stop in time'), this.options.abortGraceMs ?? 5_000);
    job.abortTimer.unref();
  }

  private failQueue(err: Error): void {
    const pending = this.queue.splice(0);
    for (const job of pending) {
      job.detach?.();
      this.counters.failed++;
      job.reject(err instanceof EngineError ? err : new EngineError('internal', err.message));
    }
  }

  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.respawnTimer);
    this.failQueue(new EngineError('closed', 'engine is shutting down'));
    await Promise.all(this.workers.map((w) => w.shutdown(graceMs)));
  }
}
