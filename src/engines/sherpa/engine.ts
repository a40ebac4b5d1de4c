// SherpaEngine: sherpa-onnx models (Moonshine, SenseVoice, Paraformer, CTC, FireRed, Whisper-ONNX,
// streaming Zipformer…) in worker processes behind the shared WorkerPool. Offline kinds decode
// whole utterances; online kinds also open true streams (feed chunks, get hypotheses and endpoints).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PooledEngine } from '../pool/pooled-engine.js';
import {
  EngineError,
  SAMPLE_RATE,
  type Engine,
  type EngineInfo,
  type Segment,
  type StreamingRecognizer,
  type StreamingUpdate,
  type Transcript,
  type TranscribeOptions,
} from '../types.js';
import { compressionRatio } from '../whisper/segments.js';
import { splitAtPauses } from './chunking.js';
import { SherpaModelError, validateSherpaModel } from '../../models/sherpa/validate.js';
import type { SherpaDetails } from '../../models/sherpa/kinds.js';
import { KIND_INFO, type RecognizerSpec } from './kinds.js';
import type { RawSherpaResult, SherpaWorkerInfo } from './protocol.js';
import { SherpaWorkerProcess } from './worker-process.js';

export interface SherpaEngineOptions {
  modelId: string;
  /** the model's folder; `details.files` are relative to it */
  modelDir: string;
  details: SherpaDetails;
  /** languages the model transcribes (from its manifest); default: the kind's, else English */
  languages?: string[];
  /** CPU threads per worker */
  threads: number;
  processes: number;
  device: 'cpu' | 'cuda';
  maxQueue?: number;
  /** longest piece handed to an offline model at once; longer audio is cut at pauses */
  maxChunkSeconds?: number;
  minJobTimeoutMs?: number;
  jobTimeoutPerAudioSecond?: number;
  /** a cancelled job stops between chunks; a single chunk past this grace gets its worker killed */
  abortGraceMs?: number;
}

export class SherpaEngine extends PooledEngine<SherpaWorkerInfo, SherpaWorkerProcess> implements Engine {
  readonly info: EngineInfo;
  private readonly spec: RecognizerSpec;

  constructor(readonly options: SherpaEngineOptions) {
    const spec: RecognizerSpec = {
      kind: options.details.kind,
      files: Object.fromEntries(Object.entries(options.details.files).map(([role, file]) => [role, join(options.modelDir, file)])),
    };
    super(() => new SherpaWorkerProcess({ spec, threads: options.threads, provider: options.device }), {
      processes: options.processes,
      capacity: 1,
      maxQueue: options.maxQueue,
      minJobTimeoutMs: options.minJobTimeoutMs,
      jobTimeoutPerAudioSecond: options.jobTimeoutPerAudioSecond,
      abortGraceMs: options.abortGraceMs ?? 15_000,
    });
    this.spec = spec;
    const kind = KIND_INFO[options.details.kind];
    const languages = options.languages ?? kind.languages ?? ['en'];
    this.info = {
      modelId: options.modelId,
      kind: 'sherpa',
      device: options.device,
      languages,
      multilingual: languages.length > 1,
      canTranslate: kind.canTranslate && languages.length > 1,
      wordTimestamps: false,
      streaming: kind.mode === 'online',
      detail: { sherpaKind: this.spec.kind, mode: kind.mode, threads: options.threads, processes: options.processes },
    };
    this.launch();
  }

  protected override async prepare(): Promise<void> {
    try {
      await validateSherpaModel(this.options.modelDir, this.options.details);
    } catch (err) {
      if (err instanceof SherpaModelError) throw new EngineError('model_load_failed', `model ${this.info.modelId}: ${err.message}`);
      throw err;
    }
  }

  protected override started([first]: SherpaWorkerInfo[]): void {
    Object.assign(this.info.detail, { sherpaVersion: first!.sherpaVersion, loadSeconds: first!.loadSeconds, provider: first!.provider });
  }

  get streaming(): boolean {
    return KIND_INFO[this.spec.kind].mode === 'online';
  }

  private checkRequest(options: TranscribeOptions): void {
    if (options.task === 'translate' && !this.info.canTranslate) {
      throw new EngineError(
        'unsupported',
        `model ${this.info.modelId} (${this.spec.kind}) cannot translate; use a multilingual Whisper model for task=translate`,
      );
    }
    const language = options.language?.toLowerCase();
    if (language && language !== 'auto' && !this.info.languages.includes(language)) {
      throw new EngineError(
        'unsupported',
        `model ${this.info.modelId} transcribes ${(this.info.languages as string[]).join(', ')} only, not "${options.language}"`,
      );
    }
  }

  async transcribe(audio: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    this.checkAudio(audio);
    this.checkRequest(options);
    // Streaming models cut their own segments at endpoints; offline ones get pause-cut pieces.
    const chunks = this.streaming ? [[0, audio.length] as [number, number]] : splitAtPauses(audio, SAMPLE_RATE, this.options.maxChunkSeconds ?? 20);
    const { value, runSeconds } = await this.pool.run<RawSherpaResult>({
      audioSeconds: audio.length / SAMPLE_RATE,
      priority: options.priority,
      signal: options.signal,
      start: (worker, job) => worker.submit(job.id, job, audio, chunks),
    });
    const duration = audio.length / SAMPLE_RATE;
    const segments: Segment[] = value.segments
      .filter((s) => s.text.length > 0)
      .map((s, id) => ({
        id,
        seek: Math.round(s.start * 100),
        start: s.start,
        end: Math.min(s.end, duration),
        text: s.text,
        // sherpa hands out token strings, not ids, for most kinds
        tokens: [],
        temperature: 0,
        compressionRatio: compressionRatio(s.text),
        // avgLogprob / noSpeechProb: these models do not produce them, so they stay unset.
      }));
    for (const s of segments) options.onSegment?.(s);
    const reported = value.segments.find((s) => s.lang)?.lang;
    const language = reported || (options.language && options.language !== 'auto' ? options.language.toLowerCase() : (this.info.languages as string[])[0]!);
    return {
      text: segments
        .map((s) => s.text)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim(),
      language,
      duration,
      segments,
      task: 'transcribe',
      model: this.info.modelId,
      engine: 'sherpa',
      processingTime: runSeconds,
    };
  }

  /**
   * A true streaming session on an online model: feed 16 kHz chunks as they arrive, get the
   * hypothesis so far and an endpoint flag when an utterance ends. The stream lives in one worker;
   * if that worker dies, the stream's calls reject with worker_crashed.
   */
  async openStream(): Promise<StreamingRecognizer> {
    // Only online kinds: offline models (Moonshine…) serve live sessions through VAD-cut re-decodes.
    if (!this.streaming) throw new EngineError('unsupported', `model ${this.info.modelId} (${this.spec.kind}) is not a streaming model`);
    if (this.closed) throw new EngineError('closed', 'engine is closed');
    await this.ready();
    const worker = [...this.pool.liveWorkers()].filter((w) => w.alive).sort((a, b) => a.streams - b.streams)[0];
    if (!worker) throw new EngineError('worker_crashed', 'no sherpa worker is running');
    const id = randomUUID();
    worker.openStream(id);
    const toUpdates = (list: Awaited<ReturnType<SherpaWorkerProcess['streamCall']>>): StreamingUpdate[] =>
      list.map((h) => ({ text: h.text, endpoint: h.endpoint, audioSeconds: h.audioSeconds }));
    return {
      accept: async (samples) => toUpdates(await worker.streamCall(id, samples)),
      finish: async () => toUpdates(await worker.streamCall(id)),
      close: () => worker.closeStream(id),
    };
  }
}
