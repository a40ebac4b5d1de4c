export type { VadDetector, VadFactory } from './types.js';
export { SileroVad, SileroVadModel, defaultSileroModelPath, SILERO_FRAME, SILERO_SAMPLE_RATE } from './silero.js';
export { EnergyVad, ENERGY_DEFAULT_THRESHOLD, ENERGY_STATE_DEFAULTS, rms } from './energy.js';
export {
  SpeechStateMachine,
  SPEECH_STATE_DEFAULTS,
  resolveSpeechStateOptions,
  type SpeechStateOptions,
  type SpeechEvent,
} from './speech-state.js';
export { SpeechMap } from './speech-map.js';
export { createVad, type VadKind, type CreatedVad } from './create.js';

export { speechRegions, speechWindows, SpeechTimeline, type SpeechRegion, type RegionOptions } from './speech-regions.js';
