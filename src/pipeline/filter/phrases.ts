// Built-in hallucination phrases: text Whisper is known to produce on silence, music or noise,
// learnt from subtitle tails in its training data (broadcast sign-offs, YouTube outros, subtitle
// credits). Seed 002 shipped 37 such patterns for Korean and English; these lists cover the same
// ground and more.
//
// kinds:
//   phrase — compared after normalisation (NFKC, lower case, only letters and digits kept, so
//            spacing and punctuation never matter: "시청해 주셔서 감사합니다." = "시청해주셔서감사합니다")
//   regex  — tested on the raw text (trimmed), case-insensitive, for shapes a phrase can't express
// where:
//   whole    — the segment is nothing but this
//   trailing — the segment ends with it after real speech: the phrase is cut off, the rest kept
//   both     — either
// quietOnly: ordinary words that are hallucinations only over near-silence ("Thank you.", "you");
//   dropped only when the audio around the segment is (almost) not speech.

export type PatternWhere = 'whole' | 'trailing' | 'both';

export interface PhrasePattern {
  kind: 'phrase';
  text: string;
  where: PatternWhere;
  quietOnly?: boolean;
}

export interface RegexPattern {
  kind: 'regex';
  /** source, compiled case-insensitive with the u flag */
  source: string;
  where: PatternWhere;
  quietOnly?: boolean;
  /** shown in stats instead of the source */
  label?: string;
}

export type HallucinationPattern = PhrasePattern | RegexPattern;

const p = (text: string, where: PatternWhere = 'both', quietOnly = false): PhrasePattern => ({ kind: 'phrase', text, where, quietOnly });
const r = (label: string, source: string, where: PatternWhere = 'whole', quietOnly = false): RegexPattern => ({
  kind: 'regex',
  label,
  source,
  where,
  quietOnly,
});

/** Any language: non-speech captions and symbols. */
export const UNIVERSAL_PATTERNS: HallucinationPattern[] = [
  r('♪ (music notes only)', '[\\s♪♫♬♩🎵🎶~.,!?…-]*[♪♫♬♩🎵🎶][\\s♪♫♬♩🎵🎶~.,!?…-]*'),
  r('trailing ♪', '\\s*[♪♫♬♩🎵🎶]+$', 'trailing'),
  r(
    '[Music] / (applause) captions',
    '[\\[(（【]\\s*(music|upbeat music|soft music|applause|laughter|laughs|silence|blank_audio|blank audio|no audio|noise|inaudible|static|음악|박수|웃음|침묵|배경음악)\\s*[\\])）】][.\\s]*',
  ),
  r('[BLANK_AUDIO] anywhere', '.*\\[blank_audio\\].*'),
  r('dots only', '[\\s.…·]+'),
  r('bare URL', '(https?://)?(www\\.)?[a-z0-9-]+(\\.[a-z0-9-]+)*\\.(com|org|net|kr|io|ai)(/\\S*)?[.\\s]*', 'whole', true),
];

export const ENGLISH_PATTERNS: HallucinationPattern[] = [
  p('Thanks for watching'),
  p('Thank you for watching'),
  p('Thank you so much for watching'),
  p('Thanks for watching and see you next time'),
  p('Please subscribe'),
  p('Please subscribe to my channel'),
  p('Subscribe to my channel'),
  p('Like and subscribe'),
  p('Please subscribe and like'),
  p('Subscribe and like'),
  p("Don't forget to like and subscribe"),
  p("Don't forget to subscribe"),
  p('Please like, comment and subscribe'),
  p('Subtitles by the Amara.org community'),
  p('See you in the next video'),
  p('I will see you in the next video'),
  p("I'll see you in the next one"),
  r('subtitles/captions by …', '(english\\s+)?(subtitles?|captions?|captioning|transcription|translation)\\s+(made\\s+|provided\\s+)?by\\b.*'),
  r('transcribed by otter.ai', '.*transcri(bed|pt|ption)\\s+by\\s+(https?://)?(www\\.)?otter\\.ai.*'),
  r('© transcript Emily Beynon', '.*transcript\\s+emily\\s+beynon.*'),
  p('you', 'whole', true),
  p('Thank you', 'whole', true),
  p('Thank you very much', 'whole', true),
  p('Thanks for listening', 'whole', true),
  p('See you next time', 'whole', true),
  p('Bye', 'whole', true),
  p('The end', 'whole', true),
  p('Okay', 'whole', true),
];

export const KOREAN_PATTERNS: HallucinationPattern[] = [
  p('시청해주셔서 감사합니다'),
  p('시청해주셔서 고맙습니다'),
  p('시청 감사합니다'),
  p('끝까지 시청해주셔서 감사합니다'),
  p('오늘도 시청해주셔서 감사합니다'),
  p('구독과 좋아요 부탁드립니다'),
  p('구독과 좋아요'),
  p('좋아요와 구독 부탁드립니다'),
  p('구독 좋아요 알림설정'),
  p('구독 좋아요 알림설정 부탁드립니다'),
  p('구독 부탁드립니다'),
  p('다음 영상에서 만나요'),
  p('다음 영상에서 뵙겠습니다'),
  p('오늘 영상은 여기까지입니다'),
  p('이 영상은 유료광고를 포함하고 있습니다'),
  r('MBC 뉴스 …입니다', '(mbc|kbs|sbs|jtbc|ytn|mbn)\\s*뉴스\\s*[가-힣]{2,5}\\s*(입니다|이었습니다)[.\\s]*', 'both'),
  r('자막 제공/편집/by …', '(한글\\s*)?자막\\s*(제공|편집|제작|by).*'),
  p('영상 봐주셔서 감사합니다'),
  p('감사합니다', 'whole', true),
  p('고맙습니다', 'whole', true),
  p('네', 'whole', true),
  p('다음 시간에 만나요', 'whole', true),
];

export const BUILTIN_PATTERNS: Record<string, HallucinationPattern[]> = {
  '*': UNIVERSAL_PATTERNS,
  en: ENGLISH_PATTERNS,
  ko: KOREAN_PATTERNS,
};

export function builtinPatternCount(): number {
  return Object.values(BUILTIN_PATTERNS).reduce((n, list) => n + list.length, 0);
}
