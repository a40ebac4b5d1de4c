// Streaming openWakeWord front end: audio → log-mel frames → speech embeddings, framed exactly like the
// reference Python AudioFeatures class so the classifier heads see the same inputs they were trained on.
import { floatTensor, openSession, runSingle, type Session } from './onnx.js';

export const SAMPLE_RATE = 16000;
/** The reference processes audio in 80 ms steps; each step yields 8 mel frames and one embedding. */
export const CHUNK_SAMPLES = 1280;
export const EMBEDDING_DIM = 96;

const MEL_BINS = 32;
/** Extra samples before each chunk so the mel model's 25 ms windows straddle chunk borders (3 hops of 160). */
const MEL_CONTEXT_SAMPLES = 480;
const EMBEDDING_WINDOW = 76;
const EMBEDDING_STRIDE = 8;
/** Seconds of noise whose embeddings pre-fill the feature buffer, as the reference does at start-up. */
const WARMUP_NOISE_SAMPLES = 4 * SAMPLE_RATE;

export class AudioFeatures {
  /** Tail of the previous chunk, prepended as mel context. */
  private context = new Int16Array(0);
  private melRows: Float32Array[] = [];
  private embeddings: Float32Array[] = [];
  private warmupEmbeddings: Float32Array[] = [];

  private constructor(
    private readonly mel: Session,
    private readonly embedder: Session,
    /** How many embeddings to keep: the widest classifier window. */
    private readonly keep: number,
  ) {}

  static async create(melPath: string, embeddingPath: string, keep = 120): Promise<AudioFeatures> {
    const [mel, embedder] = await Promise.all([openSession(melPath), openSession(embeddingPath)]);
    const features = new AudioFeatures(mel, embedder, keep);
    features.warmupEmbeddings = await features.embedClip(seededNoise(WARMUP_NOISE_SAMPLES));
    features.reset();
    return features;
  }

  /** Back to the start-up state: mel buffer of ones, embeddings of low-level noise, no audio history. */
  reset(): void {
    this.context = new Int16Array(0);
    this.melRows = Array.from({ length: EMBEDDING_WINDOW }, () => new Float32Array(MEL_BINS).fill(1));
    this.embeddings = this.warmupEmbeddings.slice(-this.keep);
  }

  /** Feeds exactly one 1280-sample chunk and appends one embedding. */
  async push(chunk: Int16Array): Promise<void> {
    if (chunk.length !== CHUNK_SAMPLES) throw new Error(`expected ${CHUNK_SAMPLES} samples, got ${chunk.length}`);
    // The very first chunk has no context (5 mel frames); every later one yields 8, as in the reference.
    const input = new Float32Array(this.context.length + CHUNK_SAMPLES);
    input.set(this.context, 0);
    input.set(chunk, this.context.length);
    this.context = chunk.slice(CHUNK_SAMPLES - MEL_CONTEXT_SAMPLES);

    for (const row of await this.melFrames(input)) this.melRows.push(row);
    if (this.melRows.length > EMBEDDING_WINDOW) this.melRows.splice(0, this.melRows.length - EMBEDDING_WINDOW);

    const window = new Float32Array(EMBEDDING_WINDOW * MEL_BINS);
    for (const [i, row] of this.melRows.entries()) window.set(row, i * MEL_BINS);
    const [embedding] = await this.embed(window, 1);
    this.embeddings.push(embedding);
    if (this.embeddings.length > this.keep) this.embeddings.splice(0, this.embeddings.length - this.keep);
  }

  /** The last n embeddings, oldest first, flattened as a [1, n, 96] classifier input. */
  lastEmbeddings(n: number): Float32Array {
    if (n > this.embeddings.length) throw new Error(`only ${this.embeddings.length} embeddings buffered, ${n} requested`);
    const out = new Float32Array(n * EMBEDDING_DIM);
    const start = this.embeddings.length - n;
    for (let i = 0; i < n; i++) out.set(this.embeddings[start + i], i * EMBEDDING_DIM);
    return out;
  }

  /** Log-mel frames, rescaled as the reference does (x / 10 + 2) to match Google's speech_embedding input. */
  private async melFrames(samples: Float32Array): Promise<Float32Array[]> {
    const data = await runSingle(this.mel, floatTensor(samples, [1, samples.length]));
    const rows: Float32Array[] = [];
    for (let f = 0; f < data.length / MEL_BINS; f++) {
      const row = new Float32Array(MEL_BINS);
      for (let b = 0; b < MEL_BINS; b++) row[b] = data[f * MEL_BINS + b] / 10 + 2;
      rows.push(row);
    }
    return rows;
  }

  private async embed(windows: Float32Array, count: number): Promise<Float32Array[]> {
    const data = await runSingle(this.embedder, floatTensor(windows, [count, EMBEDDING_WINDOW, MEL_BINS, 1]));
    return Array.from({ length: count }, (_, i) => data.slice(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM));
  }

  /** Whole-clip embeddings (non-streaming), used once for the warm-up buffer. */
  private async embedClip(samples: Int16Array): Promise<Float32Array[]> {
    const rows = await this.melFrames(Float32Array.from(samples));
    const starts: number[] = [];
    for (let i = 0; i + EMBEDDING_WINDOW <= rows.length; i += EMBEDDING_STRIDE) starts.push(i);
    const windows = new Float32Array(starts.length * EMBEDDING_WINDOW * MEL_BINS);
    starts.forEach((s, w) => {
      for (let r = 0; r < EMBEDDING_WINDOW; r++) windows.set(rows[s + r], (w * EMBEDDING_WINDOW + r) * MEL_BINS);
    });
    return this.embed(windows, starts.length);
  }

  async release(): Promise<void> {
    await Promise.all([this.mel.release(), this.embedder.release()]);
  }
}

/**
 * The reference seeds its feature buffer with embeddings of random int16 noise in [-1000, 1000).
 * A fixed-seed generator keeps our start-up deterministic; only the first ~16 frames can depend on it.
 */
function seededNoise(n: number, seed = 0x5eed): Int16Array {
  let state = seed >>> 0;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) >>> 0; // mulberry32
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = Math.floor(u * 2000) - 1000;
  }
  return out;
}
