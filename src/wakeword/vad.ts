// Silero VAD (the LSTM version shipped with openWakeWord: inputs input/sr/h/c), scored per 80 ms chunk the way
// openWakeWord does it: two 640-sample frames, averaged.
import { floatTensor, int64Scalar, openSession, type Session } from './onnx.js';
import type * as ort from 'onnxruntime-node';

const FRAME_SAMPLES = 640;
const STATE_SIZE = 2 * 1 * 64;

export class SileroVad {
  private h = new Float32Array(STATE_SIZE);
  private c = new Float32Array(STATE_SIZE);
  private readonly sr = int64Scalar(16000);

  private constructor(private readonly session: Session) {}

  static async load(path: string): Promise<SileroVad> {
    return new SileroVad(await openSession(path));
  }

  reset(): void {
    this.h = new Float32Array(STATE_SIZE);
    this.c = new Float32Array(STATE_SIZE);
  }

  /** Mean speech probability over the chunk. */
  async score(chunk: Int16Array): Promise<number> {
    let sum = 0;
    let frames = 0;
    for (let start = 0; start < chunk.length; start += FRAME_SAMPLES) {
      const frame = chunk.subarray(start, start + FRAME_SAMPLES);
      const input = new Float32Array(frame.length);
      for (let i = 0; i < frame.length; i++) input[i] = frame[i] / 32767;
      const out: ort.InferenceSession.ReturnType = await this.session.run({
        input: floatTensor(input, [1, input.length]),
        sr: this.sr,
        h: floatTensor(this.h, [2, 1, 64]),
        c: floatTensor(this.c, [2, 1, 64]),
      });
      this.h = Float32Array.from(out.hn.data as Float32Array);
      this.c = Float32Array.from(out.cn.data as Float32Array);
      sum += (out.output.data as Float32Array)[0];
      frames++;
    }
    return frames ? sum / frames : 0;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
