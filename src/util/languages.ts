// Whisper's language codes, and the seed APIs' aliases (seed 004 sends KR, EN, JA, ZH).
export const WHISPER_LANGUAGES: Record<string, string> = {
  en: 'english', zh: 'chinese', de: 'german', es: 'spanish', ru: 'russian', ko: 'korean', fr: 'french', ja: 'japanese',
  pt: 'portuguese', tr: 'turkish', pl: 'polish', ca: 'catalan', nl: 'dutch', ar: 'arabic', sv: 'swedish', it: 'italian',
  id: 'indonesian', hi: 'hindi', fi: 'finnish', vi: 'vietnamese', he: 'hebrew', uk: 'ukrainian', el: 'greek', ms: 'malay',
  cs: 'czech', ro: 'romanian', da: 'danish', hu: 'hungarian', ta: 'tamil', no: 'norwegian', th: 'thai', ur: 'urdu',
  hr: 'croatian', bg: 'bulgarian', lt: 'lithuanian', la: 'latin', mi: 'maori', ml: 'malayalam', cy: 'welsh', sk: 'slovak',
  te: 'telugu', fa: 'persian', lv: 'latvian', bn: 'bengali', sr: 'serbian', az: 'azerbaijani', sl: 'slovenian', kn: 'kannada',
  et: 'estonian', mk: 'macedonian', br: 'breton', eu: 'basque', is: 'icelandic', hy: 'armenian', ne: 'nepali', mn: 'mongolian',
  bs: 'bosnian', kk: 'kazakh', sq: 'albanian', sw: 'swahili', gl: 'galician', mr: 'marathi', pa: 'punjabi', si: 'sinhala',
  km: 'khmer', sn: 'shona', yo: 'yoruba', so: 'somali', af: 'afrikaans', oc: 'occitan', ka: 'georgian', be: 'belarusian',
  tg: 'tajik', sd: 'sindhi', gu: 'gujarati', am: 'amharic', yi: 'yiddish', lo: 'lao', uz: 'uzbek', fo: 'faroese',
  ht: 'haitian creole', ps: 'pashto', tk: 'turkmen', nn: 'nynorsk', mt: 'maltese', sa: 'sanskrit', lb: 'luxembourgish',
  my: 'myanmar', bo: 'tibetan', tl: 'tagalog', mg: 'malagasy', as: 'assamese', tt: 'tatar', haw: 'hawaiian', ln: 'lingala',
  ha: 'hausa', ba: 'bashkir', jw: 'javanese', su: 'sundanese', yue: 'cantonese',
};

const ALIASES: Record<string, string> = { kr: 'ko', jp: 'ja', cn: 'zh', kor: 'ko', eng: 'en', jpn: 'ja', zho: 'zh', chi: 'zh' };
const BY_NAME = Object.fromEntries(Object.entries(WHISPER_LANGUAGES).map(([code, name]) => [name, code]));

/**
 * Normalises a requested language: undefined for auto-detection, a Whisper code otherwise.
 * Throws for anything unknown so the caller can answer 422.
 */
export function normalizeLanguage(input: string | undefined | null): string | undefined {
  if (input === undefined || input === null) return undefined;
  const v = input.trim().toLowerCase();
  if (v === '' || v === 'auto') return undefined;
  if (WHISPER_LANGUAGES[v]) return v;
  if (ALIASES[v]) return ALIASES[v];
  if (BY_NAME[v]) return BY_NAME[v];
  const base = v.split(/[-_]/)[0]!;
  if (base !== v && WHISPER_LANGUAGES[base]) return base;
  throw new RangeError(`unsupported language "${input}": use an ISO 639-1 code such as "ko" or "en", "KR"/"EN", or "auto"`);
}
