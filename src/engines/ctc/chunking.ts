// What the Hugging Face feature extractor and ASR pipeline do around a CTC model, as pure functions:
// per-utterance normalisation, and long-audio chunking with strides whose logits are trimmed
// before concatenation (transformers' chunk_iter + rescale_stride + postprocess).

/** Wav2Vec2FeatureExtractor with do_normalize: zero mean, unit variance over the utterance. */
export function normalize(samples: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  const mean = sum / samples.length;
  let squares = 0;
  for (let i = 0; i < samples.length; i++) squares += (samples[i]! - mean) ** 2;
  const scale = 1 / Math.sqrt(squares / samples.length + 1e-7);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i]! - mean) * scale;
  return out;
}

export interface ChunkSettings {
  /** seconds per chunk; 0 = one pass over the whole input */
  chunkSeconds: number;
  /** seconds of context on each side whose frames are dropped; default chunkSeconds / 6 */
  strideSeconds?: number;
  sampleRate: number;
  /** samples per logit frame (the conv strides' product) */
  samplesPerFrame: number;
}

export interface Chunk {
  start: number;
  end: number;
  /** logit frames to drop at the left / right edge */
  dropLeft: number;
  dropRight: number;
  /** the pipeline's estimate of the chunk's frame count (right trimming counts from it) */
  frames: number;
}

/** Python's round(): halves go to the even neighbour (the pipeline's arithmetic, reproduced exactly). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const alignTo = (seconds: number, s: ChunkSettings) => roundHalfEven((seconds * s.sampleRate) / s.samplesPerFrame) * s.samplesPerFrame;

/** The chunks transformers' pipeline(chunk_length_s, stride_length_s) feeds the model. */
export function planChunks(totalSamples: number, s: ChunkSettings): Chunk[] {
  const whole = (): Chunk[] => [{ start: 0, end: totalSamples, dropLeft: 0, dropRight: 0, frames: Number.MAX_SAFE_INTEGER }];
  if (!s.chunkSeconds || s.chunkSeconds <= 0) return whole();
  const chunkLen = alignTo(s.chunkSeconds, s);
  const stride = alignTo(s.strideSeconds ?? s.chunkSeconds / 6, s);
  if (chunkLen < 2 * stride) throw new RangeError('chunk length must be at least twice the stride');
  const step = chunkLen - 2 * stride;
  const chunks: Chunk[] = [];
  for (let start = 0; start < totalSamples; start += step) {
    const end = Math.min(start + chunkLen, totalSamples);
    const isLast = start + chunkLen >= totalSamples;
    const left = start === 0 ? 0 : stride;
    const right = isLast ? 0 : stride;
    const length = end - start;
    if (length > left) {
      const frames = roundHalfEven(length / s.samplesPerFrame);
      chunks.push({
        start,
        end,
        frames,
        dropLeft: roundHalfEven((left / length) * frames),
        dropRight: roundHalfEven((right / length) * frames),
      });
    }
    if (isLast) break;
  }
  return chunks;
}

/** Frames of one chunk's output that are kept: [dropLeft, frames - dropRight), clamped to what the model gave. */
export function keptRange(chunk: Chunk, modelFrames: number): [number, number] {
  const stop = chunk.frames === Number.MAX_SAFE_INTEGER ? modelFrames : Math.min(modelFrames, chunk.frames - chunk.dropRight);
  return [Math.min(chunk.dropLeft, stop), stop];
}

/** Samples the conv encoder turns into `frames` logits: its receptive field must fit at least once. */
export function framesFor(samples: number, kernels: number[], strides: number[]): number {
  let n = samples;
  for (let i = 0; i < kernels.length; i++) n = Math.floor((n - kernels[i]!) / strides[i]!) + 1;
  return Math.max(0, n);
}
