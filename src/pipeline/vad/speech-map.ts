// Per-frame speech probabilities laid over a piece of audio, so that the hallucination filter can
// ask "how much of [start, end) did the VAD hear as speech?" for a decoded segment.
import type { VadDetector } from './types.js';

export class SpeechMap {
  /**
   * @param probabilities one per frame
   * @param frameSize samples per frame
   * @param sampleRate of the audio the times refer to
   * @param firstFrameOffset where frame 0 starts, in samples relative to the audio's sample 0
   *   (negative when the audio starts inside a frame, e.g. an utterance cut out of a stream)
   * @param threshold probability at which a frame counts as speech
   */
  constructor(
    readonly probabilities: Float32Array,
    readonly frameSize: number,
    readonly sampleRate: number,
    readonly firstFrameOffset = 0,
    readonly threshold = 0.5,
  ) {}

  /** Runs a fresh detector over the whole audio (zero-padding the last frame). */
  static async compute(audio: Float32Array, detector: VadDetector, threshold = 0.5): Promise<SpeechMap> {
    detector.reset();
    const n = detector.frameSize;
    const frames = Math.ceil(audio.length / n);
    const probabilities = new Float32Array(frames);
    const frame = new Float32Array(n);
    for (let f = 0; f < frames; f++) {
      const chunk = audio.subarray(f * n, Math.min((f + 1) * n, audio.length));
      frame.fill(0);
      frame.set(chunk);
      probabilities[f] = await detector.process(frame);
    }
    detector.reset();
    return new SpeechMap(probabilities, n, detector.sampleRate, 0, threshold);
  }

  get duration(): number {
    return (this.probabilities.length * this.frameSize + this.firstFrameOffset) / this.sampleRate;
  }

  /** Fraction (0..1) of the frames overlapping [startSec, endSec) that are speech; NaN if none overlap. */
  speechRatio(startSec: number, endSec: number): number {
    const from = Math.floor((startSec * this.sampleRate - this.firstFrameOffset) / this.frameSize);
    const to = Math.ceil((endSec * this.sampleRate - this.firstFrameOffset) / this.frameSize);
    let total = 0;
    let speech = 0;
    for (let f = Math.max(0, from); f < Math.min(to, this.probabilities.length); f++) {
      total++;
      if (this.probabilities[f] >= this.threshold) speech++;
    }
    return total === 0 ? Number.NaN : speech / total;
  }

  /** Mean probability over [startSec, endSec); NaN if no frame overlaps. */
  meanProbability(startSec: number, endSec: number): number {
    const from = Math.floor((startSec * this.sampleRate - this.firstFrameOffset) / this.frameSize);
    const to = Math.ceil((endSec * this.sampleRate - this.firstFrameOffset) / this.frameSize);
    let total = 0;
    let sum = 0;
    for (let f = Math.max(0, from); f < Math.min(to, this.probabilities.length); f++) {
      total++;
      sum += this.probabilities[f];
    }
    return total === 0 ? Number.NaN : sum / total;
  }
}
