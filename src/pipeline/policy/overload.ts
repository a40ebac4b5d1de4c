// Graceful overload for a live session: when the machine cannot keep up, give up niceties in a fixed
// order instead of letting the delay of finals grow.
//
//   normal          — partials at the session's cadence, speculative finals at pauses
//   fewer_partials  — partials at a third of the cadence, and none while one of this session's
//                     finals is queued or decoding (they would compete with it for the engine)
//   small_partials  — partials only from the session's smaller partial model (when it has one), at
//                     the reduced cadence; no speculative finals (a cancelled speculation is wasted
//                     work the session cannot afford now)
//   no_partials     — as small_partials, for a session without a partial model: finals only
//
// Past all of these the session's bounded backpressure drops the oldest pending audio (counted).
// The level is a pure function of two signals the session measures: how many ended utterances
// still wait for their final, and the lag (seconds since the oldest of them ended, or of input not
// yet through the VAD, whichever is larger). It is recomputed on every event, so it steps back down
// by itself as soon as the backlog clears.

export type LoadLevel = 'normal' | 'fewer_partials' | 'small_partials' | 'no_partials';

export interface LoadSignals {
  /** ended utterances whose final is not out yet (queued or decoding) */
  finalsWaiting: number;
  /** seconds behind real time (see above) */
  lagSeconds: number;
  /** a smaller, faster engine is available for partials */
  hasPartialEngine: boolean;
}

export interface OverloadThresholds {
  /** lag at which partials become fewer */
  fewerPartialsLagSec: number;
  /** lag at which partials move to the small model (or stop) */
  smallPartialsLagSec: number;
}

export const OVERLOAD_DEFAULTS: OverloadThresholds = { fewerPartialsLagSec: 1.5, smallPartialsLagSec: 3 };

/** partial cadence is divided by this at fewer_partials and beyond */
export const REDUCED_CADENCE_FACTOR = 3;

export function loadLevel(signals: LoadSignals, thresholds: OverloadThresholds = OVERLOAD_DEFAULTS): LoadLevel {
  // One final waiting is the normal state right after an utterance ends; two means the engine fell behind.
  if (signals.finalsWaiting >= 3 || signals.lagSeconds >= thresholds.smallPartialsLagSec) {
    return signals.hasPartialEngine ? 'small_partials' : 'no_partials';
  }
  if (signals.finalsWaiting >= 2 || signals.lagSeconds >= thresholds.fewerPartialsLagSec) return 'fewer_partials';
  return 'normal';
}
