export { LocalAgreement, type AgreementState } from './local-agreement.js';
export { wordsFromSegments, joinWords, normalizeWord, type PolicyWord } from './words.js';
