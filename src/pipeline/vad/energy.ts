// Energy VAD: the fallback when the Silero model cannot load, and seed 002's original detector.
// Seed 002 calls a frame speech when its RMS (float audio, -1..1) reaches 0.02 and ends an
// utterance after 1.0 s below it. To share the probability-based state machine with Silero, the
// RMS is mapped to a pseudo-probability that crosses 0.5 exactly at the RMS threshold:
//   p = rms / (2 * threshold), clipped to [0, 1]
// so the state machine's default 0.5 threshold reproduces the seed's rule.
import type { SpeechStateOptions } from './speech-state.js';
import type { VadDetector } from './types.js';

export interface EnergyVadOptions {
  /** RMS on float audio where speech begins (seed 002: 0.02) */
  threshold?: number;
  frameSize?: number;
}

export const ENERGY_DEFAULT_THRESHOLD = 0.02;

/** State-machine settings that reproduce seed 002: one threshold (no hysteresis), 1.0 s of silence ends speech. */
export const ENERGY_STATE_DEFAULTS: Partial<SpeechStateOptions> = {
  threshold: 0.5,
  negThreshold: 0.5,
  minSilenceMs: 1000,
};

export function rms(frame: Float32Array, from = 0, to = frame.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += frame[i] * frame[i];
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

export class EnergyVad implements VadDetector {
  readonly kind = 'energy';
  readonly sampleRate = 16000;
  readonly frameSize: number;
  readonly threshold: number;

  constructor(options: EnergyVadOptions = {}) {
    this.threshold = options.threshold ?? ENERGY_DEFAULT_THRESHOLD;
    this.frameSize = options.frameSize ?? 512;
    if (!(this.threshold > 0)) throw new Error('energy VAD threshold must be > 0');
  }

  async process(frame: Float32Array): Promise<number> {
    return Math.min(1, rms(frame) / (2 * this.threshold));
  }

  reset(): void {
    // stateless
  }
}
