// What every voice-activity detector in the pipeline looks like: one fixed-size frame of 16 kHz
// mono float audio in, one speech probability (0..1) out. Detectors are stateful (Silero carries
// an RNN state across frames), so each stream needs its own instance; reset() starts a new stream.

export interface VadDetector {
  /** 'silero' or 'energy' — shown in stats and logs */
  readonly kind: string;
  /** samples per frame the detector wants (512 for both built-in detectors at 16 kHz) */
  readonly frameSize: number;
  readonly sampleRate: number;
  /** probability that the frame holds speech; frame.length must equal frameSize */
  process(frame: Float32Array): Promise<number>;
  /** forget everything learnt from earlier frames */
  reset(): void;
}

/** Builds a fresh detector per stream (sessions and batch filters must not share state). */
export type VadFactory = () => VadDetector | Promise<VadDetector>;
