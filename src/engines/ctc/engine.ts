// CtcEngine: wav2vec2-family CTC models on onnxruntime, in worker processes behind the shared
// WorkerPool. The worker (./worker.ts, a Node process) speaks the whisper worker's framed protocol, so
// whisper's WorkerProcess runs it through its `launch` option. The worker returns each frame's greedy
// id and probability; here they become text (exactly as the HF tokenizer decodes them), words with
// times from frame indices, and segments split at pauses.
import { fileURLToPath } from 'node:url';
import { compressionRatio } from '../whisper/segments.js';
import { PooledEngine } from '../pool/pooled-engine.js';
import { WorkerProcess, type WorkerLaunch } from '../whisper/worker-process.js';
import { EngineError, SAMPLE_RATE, type Engine, type EngineInfo, type Segment, type Transcript, type TranscribeOptions, type Word } from '../types.js';
import { readCtcSettings, type CtcModelSettings } from '../../models/ctc-settings.js';
import { CtcTokenizer } from './tokenizer.js';

export interface CtcEngineOptions {
  modelId: string;
  /** the model's folder in the store (holds ctc.json and the ONNX graph) */
  modelDir: string;
  /** onnxruntime intra-op threads per worker */
  threads: number;
  processes: number;
  device: 'cpu' | 'cuda';
  /** languages the model transcribes (from the manifest) */
  languages: string[];
  /** long audio is decoded in chunks of this many seconds (HF pipeline's chunk_length_s); 0 = one pass */
  chunkSeconds: number;
  /** context dropped at each chunk edge (stride_length_s); default chunkSeconds / 6 */
  strideSeconds?: number;
  /** a pause between words at least this long starts a new segment */
  segmentGapSeconds?: number;
  maxQueue?: number;
  /** a job running longer than max(minJobTimeoutMs, audio seconds × this) is a hang: kill the worker */
  jobTimeoutPerAudioSecond?: number;
  minJobTimeoutMs?: number;
  /** how long a cancelled job may take to stop before its worker is killed (default 30 s) */
  abortGraceMs?: number;
}

/** What the CTC worker says when ready (it shares the whisper worker's frames, not its info). */
interface CtcWorkerInfo {
  device?: string;
  note?: string;
  onnxruntime?: string;
}

/** A CTC worker's result frame. */
interface CtcResult {
  ids: number[];
  probs: number[];
}

/** The worker entry point: the compiled worker.js next to this file, or worker.ts under tsx. */
function workerLaunch(options: CtcEngineOptions): WorkerLaunch {
  const self = fileURLToPath(import.meta.url);
  const underTsx = self.endsWith('.ts');
  const worker = self.replace(/engine\.(ts|js)$/, 'worker.$1');
  const loader = underTsx ? ['--import', import.meta.resolve('tsx')] : [];
  return {
    command: process.execPath,
    args: [...loader, worker, '--model', options.modelDir, '--threads', String(options.threads), '--device', options.device],
  };
}

export class CtcEngine extends PooledEngine<CtcWorkerInfo, WorkerProcess<CtcWorkerInfo>> implements Engine {
  readonly info: EngineInfo;
  private readonly settings: CtcModelSettings;
  private readonly tokenizer: CtcTokenizer;
  private readonly blankId: number;

  constructor(readonly options: CtcEngineOptions) {
    super(
      () =>
        new WorkerProcess<CtcWorkerInfo>({
          modelPath: options.modelDir,
          launch: workerLaunch(options),
          threads: options.threads,
          parallel: 1,
          gpu: options.device === 'cuda',
        }),
      {
        processes: options.processes,
        // The worker runs its jobs one at a time.
        capacity: 1,
        maxQueue: options.maxQueue,
        minJobTimeoutMs: options.minJobTimeoutMs,
        jobTimeoutPerAudioSecond: options.jobTimeoutPerAudioSecond,
        // Cancellation is read between chunks; one chunk of a large model can take seconds on a busy CPU.
        abortGraceMs: options.abortGraceMs ?? 30_000,
      },
    );
    this.settings = readCtcSettings(options.modelDir);
    this.tokenizer = new CtcTokenizer(this.settings.tokenizer);
    this.blankId = this.settings.tokenizer.vocab[this.tokenizer.pad] ?? -1;
    this.info = {
      modelId: options.modelId,
      kind: 'ctc',
      device: options.device,
      languages: options.languages,
      multilingual: false,
      canTranslate: false,
      wordTimestamps: true,
      detail: {
        threads: options.threads,
        processes: options.processes,
        path: options.modelDir,
        chunkSeconds: options.chunkSeconds,
        vocabulary: this.tokenizer.size,
        frameSeconds: this.settings.samplesPerFrame / this.settings.samplingRate,
      },
    };
    this.launch();
  }

  protected override started([info]: CtcWorkerInfo[]): void {
    if (!info) return;
    // The worker tells the device it really got (no CUDA provider in this onnxruntime build → cpu).
    if (info.device === 'cpu' || info.device === 'cuda') this.info.device = info.device;
    Object.assign(this.info.detail, { onnxruntime: info.onnxruntime, ...(info.note ? { note: info.note } : {}) });
  }

  async transcribe(audio: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    this.checkAudio(audio);
    if (options.task === 'translate') {
      throw new EngineError(
        'unsupported',
        `model ${this.info.modelId} is a CTC model: it transcribes ${this.options.languages.join(', ') || 'one language'} and cannot translate`,
      );
    }
    if (options.windows) throw new EngineError('unsupported', 'the ctc engine does not decode separate windows');
    const wire = { chunk_seconds: this.options.chunkSeconds, stride_seconds: this.options.strideSeconds };
    const { value, runSeconds } = await this.pool.run<CtcResult>({
      audioSeconds: audio.length / SAMPLE_RATE,
      priority: options.priority,
      signal: options.signal,
      start: (worker, job) => worker.submit({ id: job.id, resolve: (raw) => job.resolve(raw as unknown as CtcResult), reject: job.reject }, audio, wire),
    });
    return this.toTranscript(value, audio, options, runSeconds);
  }

  private toTranscript(frame: CtcResult, audio: Float32Array, options: TranscribeOptions, elapsed: number): Transcript {
    const { ids, probs } = frame;
    const duration = audio.length / SAMPLE_RATE;
    const frameSeconds = this.settings.samplesPerFrame / this.settings.samplingRate;
    const decoded = this.tokenizer.decode(ids);
    const words: Word[] = decoded.words.map((w) => ({
      word: w.word,
      start: Math.min(w.start * frameSeconds, duration),
      end: Math.min(w.end * frameSeconds, duration),
      probability: mean(probs, w.start, w.end),
    }));
    return {
      text: decoded.text,
      language: this.options.languages[0] ?? options.language ?? 'und',
      duration,
      segments: splitSegments(words, this.options.segmentGapSeconds ?? 0.8, ids, decoded.words, this.blankId),
      task: 'transcribe',
      model: this.info.modelId,
      engine: 'ctc',
      processingTime: elapsed,
    };
  }
}

function mean(values: number[], from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  return to > from ? sum / (to - from) : 0;
}

/** Segments: runs of words with no pause longer than `gap` between them. */
export function splitSegments(words: Word[], gap: number, ids: number[], offsets: Array<{ start: number; end: number }>, blank: number): Segment[] {
  const segments: Segment[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const first = run[0]!;
    const last = run[run.length - 1]!;
    const text = run.map((i) => words[i]!.word).join(' ');
    // The greedy ids behind these words, repeats and blanks collapsed (what a token list means for CTC).
    const tokens: number[] = [];
    for (let f = offsets[first]!.start; f < offsets[last]!.end; f++) if (ids[f] !== ids[f - 1] && ids[f] !== blank) tokens.push(ids[f]!);
    segments.push({
      id: segments.length,
      seek: 0,
      start: words[first]!.start,
      end: words[last]!.end,
      text,
      tokens,
      temperature: 0,
      compressionRatio: compressionRatio(text),
      words: run.map((i) => words[i]!),
    });
    run = [];
  };
  words.forEach((w, i) => {
    if (run.length > 0 && w.start - words[run[run.length - 1]!]!.end >= gap) flush();
    run.push(i);
  });
  flush();
  return segments;
}
