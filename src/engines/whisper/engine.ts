// WhisperEngine: a pool of worker processes (each: one model copy, `parallel` decoding states) behind
// the shared WorkerPool (priority queue, cancellation, watchdogs and restarts). The worker is the
// whisper.cpp binary or another program speaking its protocol (the CTranslate2 worker, ../ct2/).
import { EngineError, SAMPLE_RATE, type Engine, type EngineInfo, type Transcript, type TranscribeOptions } from '../types.js';
import { PooledEngine } from '../pool/pooled-engine.js';
import type { RawResult, WorkerInfo } from './protocol.js';
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

export class WhisperEngine extends PooledEngine<WorkerInfo, WorkerProcess> implements Engine {
  readonly info: EngineInfo;

  constructor(readonly options: WhisperEngineOptions) {
    super(() => new WorkerProcess(workerOptions(options)), {
      processes: options.processes,
      capacity: options.parallel,
      maxQueue: options.maxQueue,
      jobTimeoutPerAudioSecond: options.jobTimeoutPerAudioSecond,
      minJobTimeoutMs: options.minJobTimeoutMs,
      // The worker checks the abort flag between graph nodes; past this grace it is killed.
      abortGraceMs: options.abortGraceMs ?? 5_000,
    });
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
    this.launch();
  }

  protected override started(infos: WorkerInfo[]): void {
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
  }

  async transcribe(audio: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    this.checkAudio(audio);
    if (options.windows && !this.info.windows) {
      throw new EngineError('unsupported', `the ${this.info.kind} engine does not decode separate windows`);
    }
    if (options.task === 'translate' && !this.info.canTranslate) {
      throw new EngineError('unsupported', `model ${this.info.modelId} is English-only and cannot translate`);
    }
    const wire = this.wireOptions(options);
    const { value: raw, runSeconds } = await this.pool.run<RawResult>({
      audioSeconds: audio.length / SAMPLE_RATE,
      priority: options.priority,
      signal: options.signal,
      start: (worker, job) => {
        let segmentIndex = 0;
        worker.submit(
          {
            id: job.id,
            resolve: job.resolve,
            reject: job.reject,
            onSegment: options.onSegment ? (s) => options.onSegment!(toSegment(s, segmentIndex++)) : undefined,
            onProgress: options.onProgress,
          },
          audio,
          wire,
        );
      },
    });
    return this.toTranscript(raw, audio, options, runSeconds);
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
      ...(o.audioContextSeconds ? { audio_ctx_s: o.audioContextSeconds } : {}),
    };
  }

  private toTranscript(raw: RawResult, audio: Float32Array, options: TranscribeOptions, elapsed: number): Transcript {
    const duration = audio.length / SAMPLE_RATE;
    const segments = raw.segments.map((s, i) => toSegment(s, i, 0, duration));
    const probs = raw.language_probs ?? undefined;
    return {
      text: joinText(segments),
      language: raw.language,
      languageProbs: probs,
      duration: audio.length / SAMPLE_RATE,
      segments,
      task: options.task ?? 'transcribe',
      model: this.info.modelId,
      engine: this.info.kind,
      processingTime: elapsed,
      ...(raw.window_s !== undefined ? { windowSeconds: raw.window_s } : {}),
    };
  }
}

function workerOptions(options: WhisperEngineOptions): WorkerProcessOptions {
  return {
    modelPath: options.modelPath,
    threads: options.threads,
    parallel: options.parallel,
    gpu: options.device === 'cuda',
    gpuDevice: options.gpuDevice,
    flashAttn: options.flashAttn ?? true,
    dtw: options.dtw ?? true,
    launch: options.launch?.(),
  };
}
