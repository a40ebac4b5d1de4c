// The openWakeWord pipeline: shared features, any number of classifier heads, the reference's warm-up rule,
// and an optional Silero VAD gate that skips the heavy models while nobody is speaking.
import { AudioFeatures, CHUNK_SAMPLES } from './features.js';
import { WakewordClassifier } from './classifier.js';
import { SileroVad } from './vad.js';
import { featureModelPaths, pretrainedModelDir, resolveWakewordModel } from './wakeword-models.js';

/** The reference reports 0 for the first five frames after start or reset, while its buffers fill. */
const WARMUP_FRAMES = 5;
/** The reference keeps ~10 s of embeddings; only the widest head's window matters for scoring. */
const FEATURE_HISTORY = 120;

export interface VadGateOptions {
  /** Speech probability that opens the gate (default 0.5). */
  threshold?: number;
  /** Audio replayed through the pipeline when speech starts, so the onset and warm-up are not lost (s). */
  replaySeconds?: number;
  /** How long the pipeline keeps running after the last speech chunk (s); covers the score peak after a word. */
  hangoverSeconds?: number;
}

export interface DetectorOptions {
  /** Built-in names or .onnx paths; default hey_jarvis. */
  wakewords?: string[];
  modelDir?: string;
  vad?: boolean | VadGateOptions;
}

export interface FrameScores {
  /** Score per label for this 80 ms chunk (all zero while gated or warming up). */
  scores: Map<string, number>;
  /** True when the VAD gate skipped the wake-word models for this chunk. */
  gated: boolean;
}

export class WakewordDetector {
  private framesSinceReset = 0;
  private gate: VadGate | null;

  private constructor(
    private readonly features: AudioFeatures,
    private readonly classifiers: WakewordClassifier[],
    vad: SileroVad | null,
    vadOptions: VadGateOptions,
  ) {
    this.gate = vad ? new VadGate(vad, vadOptions) : null;
  }

  static async create(options: DetectorOptions = {}): Promise<WakewordDetector> {
    const dir = options.modelDir ?? pretrainedModelDir();
    const paths = featureModelPaths(dir);
    const refs = (options.wakewords?.length ? options.wakewords : ['hey_jarvis']).map((w) => resolveWakewordModel(w, dir));
    const classifiers = await Promise.all(refs.map((r) => WakewordClassifier.load(r)));
    const keep = Math.max(FEATURE_HISTORY, ...classifiers.map((c) => c.frames));
    const features = await AudioFeatures.create(paths.melspectrogram, paths.embedding, keep);
    const vad = options.vad ? await SileroVad.load(paths.vad) : null;
    return new WakewordDetector(features, classifiers, vad, typeof options.vad === 'object' ? options.vad : {});
  }

  /** Every label this detector can report, in model order. */
  get labels(): string[] {
    return this.classifiers.flatMap((c) => c.labels.filter((l): l is string => l !== null));
  }

  /** Scores one 1280-sample (80 ms) chunk of 16 kHz mono int16 audio. */
  async process(chunk: Int16Array): Promise<FrameScores> {
    if (!this.gate) return { scores: await this.score(chunk), gated: false };
    const decision = await this.gate.admit(chunk);
    if (decision.kind === 'closed') return { scores: this.zeroScores(), gated: true };
    if (decision.kind === 'opened') {
      // Restart from a clean state and catch up on the audio that led into the speech.
      this.reset();
      for (const past of decision.replay) await this.score(past);
    }
    return { scores: await this.score(chunk), gated: false };
  }

  /** Forget all audio, as the reference's Model.reset() does; used after a detection so it cannot re-fire. */
  reset(): void {
    this.features.reset();
    this.framesSinceReset = 0;
  }

  /** Reset including the VAD state (fresh stream). */
  resetAll(): void {
    this.reset();
    this.gate?.reset();
  }

  async release(): Promise<void> {
    await Promise.all([this.features.release(), ...this.classifiers.map((c) => c.release()), this.gate?.release()]);
  }

  private async score(chunk: Int16Array): Promise<Map<string, number>> {
    await this.features.push(chunk);
    const scores = new Map<string, number>();
    for (const classifier of this.classifiers) {
      for (const [label, score] of await classifier.score(this.features.lastEmbeddings(classifier.frames))) {
        scores.set(label, this.framesSinceReset < WARMUP_FRAMES ? 0 : score);
      }
    }
    this.framesSinceReset++;
    return scores;
  }

  private zeroScores(): Map<string, number> {
    return new Map(this.labels.map((l) => [l, 0]));
  }
}

type GateDecision = { kind: 'closed' } | { kind: 'open' } | { kind: 'opened'; replay: Int16Array[] };

/** Keeps the wake-word models asleep during silence and noise; wakes them (with replay) when speech starts. */
class VadGate {
  private readonly threshold: number;
  private readonly replayChunks: number;
  private readonly hangoverChunks: number;
  private history: Int16Array[] = [];
  private open = false;
  private quietChunks = 0;

  constructor(
    private readonly vad: SileroVad,
    options: VadGateOptions,
  ) {
    const chunksPerSecond = 16000 / CHUNK_SAMPLES;
    this.threshold = options.threshold ?? 0.5;
    this.replayChunks = Math.round((options.replaySeconds ?? 2) * chunksPerSecond);
    this.hangoverChunks = Math.round((options.hangoverSeconds ?? 2) * chunksPerSecond);
  }

  async admit(chunk: Int16Array): Promise<GateDecision> {
    const speech = (await this.vad.score(chunk)) >= this.threshold;
    let decision: GateDecision;
    if (this.open) {
      this.quietChunks = speech ? 0 : this.quietChunks + 1;
      if (this.quietChunks > this.hangoverChunks) this.open = false;
      decision = this.open ? { kind: 'open' } : { kind: 'closed' };
    } else if (speech) {
      this.open = true;
      this.quietChunks = 0;
      decision = { kind: 'opened', replay: this.history.slice() };
    } else {
      decision = { kind: 'closed' };
    }
    this.history.push(chunk);
    if (this.history.length > this.replayChunks) this.history.shift();
    return decision;
  }

  reset(): void {
    this.vad.reset();
    this.history = [];
    this.open = false;
    this.quietChunks = 0;
  }

  release(): Promise<void> {
    return this.vad.release();
  }
}
