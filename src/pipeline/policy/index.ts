export { LocalAgreement, type AgreementState } from './local-agreement.js';
export { wordsFromSegments, joinWords, normalizeWord, type PolicyWord } from './words.js';
export { loadLevel, OVERLOAD_DEFAULTS, REDUCED_CADENCE_FACTOR, type LoadLevel, type LoadSignals, type OverloadThresholds } from './overload.js';
