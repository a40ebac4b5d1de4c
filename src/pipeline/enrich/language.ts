// Which prompt and which built-in extractor an utterance gets: Korean or English.
import type { EnrichLanguage } from './types.js';

const HANGUL = /[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]/gu;
const LETTER = /\p{L}/gu;

/**
 * 'ko' and 'en' (and their locale forms: ko-KR, KR as seed 004 spells it) are taken as given;
 * anything else is decided by the script: mostly Hangul letters → Korean.
 */
export function resolveLanguage(text: string, hint?: string): EnrichLanguage {
  const h = hint?.trim().toLowerCase();
  if (h === 'ko' || h === 'kr' || h?.startsWith('ko-') || h === 'korean') return 'ko';
  if (h === 'en' || h?.startsWith('en-') || h === 'english') return 'en';
  const hangul = text.match(HANGUL)?.length ?? 0;
  const letters = text.match(LETTER)?.length ?? 0;
  return letters > 0 && hangul / letters >= 0.3 ? 'ko' : 'en';
}
