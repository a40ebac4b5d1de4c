// Korean keyword candidates without a morphological analyser: strip particles (은/는/이/가/을/를/에서…)
// using the batchim rule that picks their allomorphs, recognise verb/adjective endings, keep the
// nouns. "서울에서" → "서울", "회의를" → "회의", "발표했습니다" → "발표".
import { candidateKey, type BuiltinCategory, type Candidate } from './candidate.js';

const SYLLABLE_FIRST = 0xac00;
const SYLLABLE_LAST = 0xd7a3;

function isSyllable(ch: string | undefined): boolean {
  if (!ch) return false;
  const c = ch.codePointAt(0)!;
  return c >= SYLLABLE_FIRST && c <= SYLLABLE_LAST;
}

/** The final consonant index of a Hangul syllable (0 = none, 8 = ㄹ, 20 = ㅆ, 4 = ㄴ); -1 for non-Hangul. */
function finalOf(ch: string | undefined): number {
  if (!isSyllable(ch)) return -1;
  return (ch!.codePointAt(0)! - SYLLABLE_FIRST) % 28;
}

const FINAL_NONE = 0;
const FINAL_N = 4; // ㄴ
const FINAL_L = 8; // ㄹ
const FINAL_SS = 20; // ㅆ

function syllableCount(s: string): number {
  let n = 0;
  for (const ch of s) if (isSyllable(ch)) n++;
  return n;
}

function lastChar(s: string): string | undefined {
  const chars = [...s];
  return chars[chars.length - 1];
}

// ---- particles ---------------------------------------------------------------------------------

type Attach = 'consonant' | 'vowel' | 'vowel_or_l' | 'any';

/** Case particles (and their allomorph condition on the preceding syllable). */
const CASE_PARTICLES: Array<[string, Attach]> = [
  ['이', 'consonant'],
  ['가', 'vowel'],
  ['을', 'consonant'],
  ['를', 'vowel'],
  ['은', 'consonant'],
  ['는', 'vowel'],
  ['과', 'consonant'],
  ['와', 'vowel'],
  ['으로', 'consonant'],
  ['로', 'vowel_or_l'],
  ['으로서', 'consonant'],
  ['로서', 'vowel_or_l'],
  ['으로써', 'consonant'],
  ['로써', 'vowel_or_l'],
  ['으로부터', 'consonant'],
  ['로부터', 'vowel_or_l'],
  ['이나', 'consonant'],
  ['나', 'vowel'],
  ['이랑', 'consonant'],
  ['랑', 'vowel'],
  ['이라고', 'consonant'],
  ['라고', 'vowel'],
  ['이라는', 'consonant'],
  ['라는', 'vowel'],
  ['이라도', 'consonant'],
  ['라도', 'vowel'],
  ['이란', 'consonant'],
  ['란', 'vowel'],
  ['이든지', 'consonant'],
  ['든지', 'vowel'],
  ['이며', 'consonant'],
  ['며', 'vowel'],
  ['의', 'any'],
  ['에', 'any'],
  ['에서', 'any'],
  ['에게', 'any'],
  ['에게서', 'any'],
  ['한테', 'any'],
  ['한테서', 'any'],
  ['께', 'any'],
  ['께서', 'any'],
  ['도', 'any'],
  ['만', 'any'],
  ['까지', 'any'],
  ['부터', 'any'],
  ['에서부터', 'any'],
  ['처럼', 'any'],
  ['보다', 'any'],
  ['마다', 'any'],
  ['조차', 'any'],
  ['마저', 'any'],
  ['밖에', 'any'],
  ['뿐', 'any'],
  ['하고', 'any'],
  ['같이', 'any'],
  ['만큼', 'any'],
  ['대로', 'any'],
  ['씩', 'any'],
  ['쯤', 'any'],
];

/** Particles that stack after a case particle: 서울에서는, 회의에서도, 친구와의, 오늘까지만. */
const STACKING: Array<[string, Attach]> = [
  ['은', 'consonant'],
  ['는', 'vowel'],
  ['도', 'any'],
  ['만', 'any'],
  ['의', 'any'],
  ['요', 'any'],
  ['까지', 'any'],
  ['부터', 'any'],
  ['이나', 'consonant'],
  ['나', 'vowel'],
  ['라도', 'vowel'],
  ['이라도', 'consonant'],
];
const STACK_BASES = new Set([
  '에',
  '에서',
  '에게',
  '한테',
  '께서',
  '으로',
  '로',
  '와',
  '과',
  '까지',
  '부터',
  '처럼',
  '보다',
  '만',
  '하고',
  '이랑',
  '랑',
  '에게서',
  '한테서',
  '로부터',
  '으로부터',
  '밖에',
  '마다',
  '대로',
  '만큼',
]);

function attaches(attach: Attach, prev: string | undefined): boolean {
  const f = finalOf(prev);
  if (f === -1) return true; // after Latin letters or digits ("AI를", "3시에" is Hangul) either form is seen
  switch (attach) {
    case 'any':
      return true;
    case 'consonant':
      return f !== FINAL_NONE;
    case 'vowel':
      return f === FINAL_NONE;
    case 'vowel_or_l':
      return f === FINAL_NONE || f === FINAL_L;
  }
}

/** All particle sequences with their condition on the stem's last syllable, longest first. */
const PARTICLES: Array<[string, Attach]> = (() => {
  const all: Array<[string, Attach]> = [...CASE_PARTICLES];
  for (const [base, attach] of CASE_PARTICLES) {
    if (!STACK_BASES.has(base)) continue;
    for (const [stack, stackAttach] of STACKING) {
      if (stack === base) continue;
      if (attaches(stackAttach, lastChar(base))) all.push([base + stack, attach]);
    }
  }
  return all.sort((a, b) => b[0].length - a[0].length);
})();

/**
 * One-syllable particles that end more two-syllable nouns (회의, 정도, 불만) than they follow
 * one-syllable ones: never stripped down to a one-syllable stem. Other particles are stripped
 * (a one-syllable stem is then dropped), with the common nouns they would cut listed in WHOLE_NOUNS.
 */
const AMBIGUOUS_ENDINGS = new Set(['의', '도', '만']);

/** Nouns that end in a particle-like syllable and stems that must not be cut. */
const WHOLE_NOUNS = new Set([
  '휴가',
  '주가',
  '화가',
  '대가',
  '도로',
  '미로',
  '피로',
  '과로',
  '결과',
  '성과',
  '학과',
  '일과',
  '기와',
  '먹이',
  '고양이',
  '원숭이',
  '어린이',
  '바나나',
  '어른',
  '가게',
  '무게',
  '역할',
  '이해',
  '피해',
  '방해',
  '필요',
  '중요',
  '주요',
  '수요',
  '아이',
  '나이',
  '사이',
  '오이',
  '종이',
  '놀이',
  '길이',
  '높이',
  '넓이',
  '깊이',
  '거리',
  '우리나라',
  '마을',
  '가을',
  '하늘',
  '기린',
  '아이디어',
  '데이터',
  '서비스',
  '시스템',
  '프로그램',
  '카메라',
]);

// ---- endings -----------------------------------------------------------------------------------

/** Copula endings after a noun: 학생입니다, 친구예요, 회의였다. */
const COPULA: Array<[string, Attach]> = [
  ['입니다', 'any'],
  ['이었습니다', 'consonant'],
  ['였습니다', 'vowel'],
  ['이에요', 'consonant'],
  ['예요', 'vowel'],
  ['이었다', 'consonant'],
  ['였다', 'vowel'],
  ['이었어요', 'consonant'],
  ['였어요', 'vowel'],
  ['이다', 'consonant'],
  ['인데', 'any'],
  ['인데요', 'any'],
  ['이지만', 'consonant'],
  ['이고', 'consonant'],
  ['이야', 'consonant'],
  ['이라서', 'consonant'],
  ['이라', 'consonant'],
  ['이죠', 'consonant'],
  ['이잖아요', 'consonant'],
  ['이네요', 'consonant'],
  ['인가요', 'any'],
  ['일까요', 'consonant'],
];

/** 하다/되다/시키다 verbs built on a noun: 발표했습니다 → 발표, 준비하고 → 준비, 완료된 → 완료. */
const VERBALIZERS = [
  '하겠습니다',
  '했습니다',
  '합니다',
  '하였다',
  '했다',
  '한다',
  '하다',
  '했어요',
  '해요',
  '했어',
  '하고',
  '하는',
  '하여',
  '해서',
  '하면',
  '하기',
  '하게',
  '하지만',
  '하는데',
  '했는데',
  '했고',
  '하세요',
  '하시는',
  '하십시오',
  '하려고',
  '해야',
  '하자',
  '합시다',
  '하겠다',
  '했던',
  '하던',
  '할',
  '한',
  '함',
  '해',
  '되었습니다',
  '됐습니다',
  '됩니다',
  '되었다',
  '됐다',
  '된다',
  '되다',
  '돼요',
  '됐어요',
  '되는',
  '되고',
  '되어',
  '돼서',
  '되면',
  '되기',
  '되지',
  '된',
  '될',
  '됨',
  '시켰습니다',
  '시킵니다',
  '시켰다',
  '시키는',
  '시키고',
  '시키다',
  '시킨',
].sort((a, b) => b.length - a.length);

/** Endings that make a token a verb or adjective (dropped): 갔어요, 먹었다, 좋은데, 빠르게, 천천히. */
const PREDICATE_ENDINGS = [
  '습니다',
  '니다',
  '니까',
  '세요',
  '시면',
  '으시면',
  '셨어요',
  '셨다',
  '었어요',
  '았어요',
  '였어요',
  '었다',
  '았다',
  '였다',
  '겠다',
  '었고',
  '았고',
  '였고',
  '겠고',
  '는데',
  '는데요',
  '지만',
  '면서',
  '어서',
  '아서',
  '려고',
  '으려고',
  '도록',
  '으면',
  '다면',
  '는지',
  '어도',
  '아도',
  '자마자',
  '거나',
  '잖아',
  '잖아요',
  '거든',
  '거든요',
  '다가',
  '어야',
  '아야',
  '려면',
  '으려면',
  '었던',
  '았던',
  '였던',
  '던',
  '군요',
  '네요',
  '죠',
  '지요',
  '고요',
  '을까',
  '을까요',
  '래요',
  '대요',
  '었어',
  '았어',
  '였어',
  '겠어',
  '있어',
  '없어',
  '같아',
  '좋아',
  '싶어',
  '싫어',
  '몰라',
  '로운',
  '다운',
  '러운',
  '거운',
  '까운',
  '쉬운',
  '더운',
  '추운',
  '두운',
  '매운',
  '려운',
  '고운',
  '르게',
  '쁘게',
  '답게',
  '롭게',
  '스럽게',
  '스러운',
];

/** Adverbs and function words that end like nothing above. */
const STOPWORDS = new Set([
  '그리고',
  '그래서',
  '그러나',
  '하지만',
  '그런데',
  '그러면',
  '그럼',
  '그래도',
  '또는',
  '및',
  '또',
  '또한',
  '즉',
  '왜냐하면',
  '정말',
  '진짜',
  '너무',
  '아주',
  '매우',
  '좀',
  '조금',
  '많이',
  '다시',
  '더',
  '잘',
  '못',
  '안',
  '다',
  '모두',
  '전부',
  '같이',
  '이제',
  '지금',
  '아직',
  '벌써',
  '이미',
  '그냥',
  '계속',
  '먼저',
  '나중',
  '항상',
  '자주',
  '가끔',
  '바로',
  '거의',
  '약간',
  '이렇게',
  '그렇게',
  '저렇게',
  '어떻게',
  '왜',
  '뭐',
  '무엇',
  '무슨',
  '어디',
  '언제',
  '누구',
  '어느',
  '얼마',
  '얼마나',
  '네',
  '예',
  '아니요',
  '아니',
  '음',
  '어',
  '아',
  '응',
  '그',
  '저',
  '이',
  '그것',
  '이것',
  '저것',
  '거기',
  '여기',
  '저기',
  '것',
  '거',
  '수',
  '때',
  '등',
  '중',
  '점',
  '데',
  '분',
  '번',
  '개',
  '명',
  '쪽',
  '뒤',
  '앞',
  '위',
  '아래',
  '안쪽',
  '나',
  '너',
  '저희',
  '우리',
  '제',
  '내',
  '그녀',
  '그들',
  '자기',
  '자신',
  '여러분',
  '누가',
  '제가',
  '내가',
  '나의',
  '너의',
  '저의',
  '우리의',
  '그의',
  '나도',
  '너도',
  '저도',
  '우리도',
  '나만',
  '저만',
  '당신',
  '씨',
  '님',
  '분들',
  '대한',
  '위한',
  '관한',
  '통한',
  '의한',
  '인한',
  '대해',
  '위해',
  '관해',
  '통해',
  '의해',
  '인해',
  '대해서',
  '위해서',
  '따라',
  '따른',
  '같은',
  '다른',
  '어떤',
  '이런',
  '그런',
  '저런',
  '모든',
  '각',
  '새',
  '여러',
  '몇',
  '있는',
  '없는',
  '하는',
  '필요',
  '가능',
  '중요',
  '간단',
  '다양',
  '특별',
  '정확',
  '확실',
  '충분',
  '불가능',
  '생각',
  '말씀',
  '경우',
  '정도',
  '부분',
  '이번',
  '저번',
  '지난번',
  '다음번',
  '오늘날',
  '사실',
  '물론',
  '혹시',
  '아마',
  '역시',
  '특히',
  '결국',
  '일단',
  '우선',
  '감사',
  '안녕',
  '죄송',
  '여보세요',
  '선생님',
  '사장님',
  '여러분들',
  '사람',
  '얘기',
  '이야기',
  '내용',
  '방법',
  '말',
  '일',
  '때문',
  '관련',
  '다음',
  '지난',
  '이전',
  '이후',
  '동안',
  '사이',
]);

/** Time words: kept, as date_time. */
const TIME_WORDS = new Set([
  '오늘',
  '내일',
  '모레',
  '어제',
  '그제',
  '그저께',
  '오전',
  '오후',
  '아침',
  '점심',
  '저녁',
  '밤',
  '새벽',
  '낮',
  '정오',
  '자정',
  '주말',
  '평일',
  '월요일',
  '화요일',
  '수요일',
  '목요일',
  '금요일',
  '토요일',
  '일요일',
  '이번주',
  '다음주',
  '지난주',
  '이번달',
  '다음달',
  '지난달',
  '올해',
  '내년',
  '작년',
  '연말',
  '연초',
  '상반기',
  '하반기',
  '분기',
  '봄',
  '여름',
  '가을',
  '겨울',
]);

/** A number with a time/date counter: 3시, 10월, 2024년, 15일, 30분. */
const TIME_PATTERN = /^\d{1,4}(년|월|일|시|분|초|주|시간|분기)(반)?$/u;
const QUANTITY_PATTERN = /^\d[\d,.]*\S{0,3}$/u;

const PLACES = new Set([
  '서울',
  '부산',
  '대구',
  '인천',
  '광주',
  '대전',
  '울산',
  '세종',
  '제주',
  '제주도',
  '수원',
  '성남',
  '고양',
  '용인',
  '창원',
  '청주',
  '전주',
  '천안',
  '포항',
  '강릉',
  '춘천',
  '경기',
  '경기도',
  '강원',
  '강원도',
  '충청도',
  '전라도',
  '경상도',
  '강남',
  '강북',
  '홍대',
  '명동',
  '판교',
  '여의도',
  '잠실',
  '종로',
  '신촌',
  '이태원',
  '해운대',
  '한국',
  '대한민국',
  '미국',
  '일본',
  '중국',
  '영국',
  '프랑스',
  '독일',
  '캐나다',
  '호주',
  '러시아',
  '인도',
  '베트남',
  '태국',
  '싱가포르',
  '유럽',
  '아시아',
  '뉴욕',
  '도쿄',
  '베이징',
  '런던',
  '파리',
  '한강',
]);
const PLACE_SUFFIXES = ['역', '공항', '터미널', '광장', '공원', '호텔', '대교', '해수욕장', '시청', '구청'];

const ORGANIZATIONS = new Set([
  '삼성',
  '삼성전자',
  '현대',
  '엘지',
  '네이버',
  '카카오',
  '구글',
  '애플',
  '마이크로소프트',
  '아마존',
  '메타',
  '오픈에이아이',
  '정부',
  '국회',
  '청와대',
  '대통령실',
  '유엔',
  '넷플릭스',
  '테슬라',
  '엔비디아',
  '인텔',
]);
const ORG_SUFFIXES = [
  '대학교',
  '대학',
  '고등학교',
  '중학교',
  '초등학교',
  '학교',
  '은행',
  '병원',
  '회사',
  '전자',
  '그룹',
  '협회',
  '재단',
  '연구소',
  '연구원',
  '위원회',
  '공사',
  '공단',
  '방송',
  '신문',
  '증권',
  '보험',
  '통신',
  '자동차',
  '건설',
  '항공',
  '팀',
  '부서',
];
const PRODUCTS = new Set(['아이폰', '갤럭시', '아이패드', '맥북', '챗지피티', '유튜브', '카카오톡', '윈도우']);

/** Honorifics after a name mark a person: 김민수 씨, 민수님, 박 부장님. */
const PERSON_TITLES = [
  '씨',
  '님',
  '선생님',
  '교수님',
  '대표님',
  '사장님',
  '부장님',
  '과장님',
  '차장님',
  '팀장님',
  '대리님',
  '박사님',
  '의원',
  '대통령',
  '장관',
  '회장님',
  '이사님',
  '원장님',
];

function stripTitle(stem: string): string | undefined {
  for (const t of PERSON_TITLES) {
    if (stem.length > t.length && stem.endsWith(t)) {
      const name = stem.slice(0, -t.length);
      if (syllableCount(name) >= 2 && !STOPWORDS.has(name)) return name;
    }
  }
  return undefined;
}

/** 씨가, 님이, 부장님께서: a title (with its particle) following a name. */
function isTitleToken(token: string): boolean {
  return PERSON_TITLES.some((t) => {
    if (!token.startsWith(t)) return false;
    const rest = token.slice(t.length);
    return rest === '' || PARTICLES.some(([p]) => p === rest);
  });
}

// ---- analysis ----------------------------------------------------------------------------------

interface Stripped {
  stem: string;
  particle: string;
}

/** The longest particle sequence whose allomorph fits the stem, or undefined if none applies. */
function stripParticle(token: string): Stripped | undefined {
  if (WHOLE_NOUNS.has(token)) return undefined;
  for (const [particle, attach] of PARTICLES) {
    if (token.length <= particle.length || !token.endsWith(particle)) continue;
    const stem = token.slice(0, -particle.length);
    if (!attaches(attach, lastChar(stem))) continue;
    // 회의, 정도, 휴가, 결과: one syllable left over means the "particle" was part of the noun
    if (AMBIGUOUS_ENDINGS.has(particle) && syllableCount(stem) === 1 && /^[\uac00-\ud7a3]+$/u.test(stem)) continue;
    return { stem, particle };
  }
  return undefined;
}

function endsWithAny(token: string, endings: readonly string[]): string | undefined {
  return endings.find((e) => token.length > e.length && token.endsWith(e)) ?? (endings.includes(token) ? token : undefined);
}

/** -다 after ㅆ (있다, 했었다) or ㄴ (간다) or a verb-like stem: a predicate; 바다, 사다리 are not. */
function looksLikePlainPredicate(token: string): boolean {
  if (!token.endsWith('다') || syllableCount(token) < 2) return false;
  const chars = [...token];
  const before = chars[chars.length - 2];
  const f = finalOf(before);
  return f === FINAL_SS || f === FINAL_N || ['하', '되', '같', '좋', '싶', '많', '없', '겠', '크', '쁘', '르'].includes(before);
}

/** 요 ends polite verbs (가요, 했어요); a few nouns end in it too (필요, 중요). */
function looksLikePoliteEnding(token: string): boolean {
  return token.endsWith('요') && syllableCount(token) >= 2 && !WHOLE_NOUNS.has(token);
}

type Analysis = { kind: 'noun'; stem: string; weight: number } | { kind: 'skip' };

/** Decides what one space-separated token contributes. */
export function analyzeKoreanToken(raw: string): Analysis {
  const token = raw.normalize('NFC');
  if (STOPWORDS.has(token)) return { kind: 'skip' };
  if (WHOLE_NOUNS.has(token) || TIME_WORDS.has(token) || PLACES.has(token) || ORGANIZATIONS.has(token)) {
    return { kind: 'noun', stem: token, weight: 1 };
  }

  for (const [ending, attach] of COPULA) {
    if (token.length > ending.length && token.endsWith(ending)) {
      const stem = token.slice(0, -ending.length);
      if (attaches(attach, lastChar(stem)) && (syllableCount(stem) >= 2 || /[A-Za-z0-9]/.test(stem))) return noun(stem, 1);
    }
  }

  // 오늘까지만, 서울에서부터: a long particle sequence is unmistakable, even where its tail looks like
  // a verb ending (까지만 ends in 지만); the few that can also close a verb (하더라도, 먹어보다) wait
  const early = stripParticle(token);
  if (early && early.particle.length >= 2 && !['라도', '이라도', '보다', '라는', '이라는', '라고', '이라고'].includes(early.particle)) {
    return noun(early.stem, 1);
  }

  const verbal = endsWithAny(token, VERBALIZERS);
  if (verbal === token) return { kind: 'skip' }; // 하고, 했다, 됩니다 on their own
  if (verbal) {
    const root = token.slice(0, -verbal.length);
    // 좋아하는, 싫어해요: a verb stem in 아/어 before 하다, not a noun
    if (/[아어워와여]$/u.test(root)) return { kind: 'skip' };
    // one-syllable endings (한, 할, 해) only count after a two-syllable root: 중요한, but not 제한 or 이해
    if (syllableCount(root) >= 2 && /^[\uac00-\ud7a3]+$/u.test(root)) return noun(root, 0.7);
    if (verbal.length >= 2) return { kind: 'skip' };
  }

  // 기술적인, 경제적으로 → 기술, 경제
  const adjectival = /^(.{2,})적(인|으로|이다|이고|이지만|이었다|입니다)?$/u.exec(token);
  if (adjectival && syllableCount(adjectival[1]) >= 2) return noun(adjectival[1], 0.7);

  if (endsWithAny(token, PREDICATE_ENDINGS) && !WHOLE_NOUNS.has(token)) return { kind: 'skip' };
  if (looksLikePlainPredicate(token) || looksLikePoliteEnding(token)) return { kind: 'skip' };
  if (/[가-힣]{2,}(히|(?<!에)게)$/u.test(token) && !WHOLE_NOUNS.has(token)) return { kind: 'skip' }; // 천천히, 빠르게
  if (/[가-힣][린른쁜픈튼큰]$/u.test(token) && !WHOLE_NOUNS.has(token)) return { kind: 'skip' }; // 열린, 빠른, 예쁜

  const stripped = stripParticle(token);
  if (stripped) return noun(stripped.stem, 1);
  // 는/은/ㄴ on a stem whose final consonant rules out the particle: an adnominal verb (먹는, 하는)
  if (/[는던]$/u.test(token) && syllableCount(token) >= 2) return { kind: 'skip' };
  return noun(token, 1);
}

function noun(stem: string, weight: number): Analysis {
  let s = stem;
  // plural 들: 학생들 → 학생 (but 아들 stays)
  if (s.endsWith('들') && syllableCount(s) >= 3 && !WHOLE_NOUNS.has(s)) s = s.slice(0, -1);
  // a lone syllable (집, 책, or the stem of 좋은) is too ambiguous to be a keyword
  if (STOPWORDS.has(s) || /^[\uac00-\ud7a3]$/u.test(s)) return { kind: 'skip' };
  return { kind: 'noun', stem: s, weight };
}

function categoryOf(stem: string): BuiltinCategory {
  if (TIME_WORDS.has(stem) || TIME_PATTERN.test(stem)) return 'date_time';
  if (PLACES.has(stem)) return 'place';
  if (ORGANIZATIONS.has(stem)) return 'organization';
  if (PRODUCTS.has(stem)) return 'product';
  if (ORG_SUFFIXES.some((s) => stem.length > s.length && stem.endsWith(s))) return 'organization';
  if (PLACE_SUFFIXES.some((s) => stem.length > s.length && stem.endsWith(s))) return 'place';
  if (/^[A-Za-z]+[-\s]?\d+[A-Za-z]*$/u.test(stem)) return 'product'; // GPT-4, S24
  return 'topic';
}

/** Auxiliary verbs that follow a main verb's 아/어 form. */
const AUXILIARY =
  /^(드리|드릴|드려|드렸|드립|주세|주시|줘|줬|주었|줄|준다|주고|있어|있었|있습|있는|있다|있고|버리|버렸|버려|놓|놨|두었|뒀|봐|봤|보세|보고|볼|본다|보았|보자|가지고|오세)/u;

const TOKEN_SPLIT = /[\s.,!?;:()[\]{}"“”‘’'`~…·|/\\<>]+/u;

/** Keyword candidates of one Korean utterance, in order of occurrence. */
export function koreanCandidates(text: string): Candidate[] {
  const tokens = text.normalize('NFC').split(TOKEN_SPLIT).filter(Boolean);
  const out: Candidate[] = [];
  let previousTime: Candidate | undefined;
  let previousTimeEnd = -1;

  tokens.forEach((token, position) => {
    const next = tokens[position + 1];
    // 보내 드릴게요, 찾아 봤어요: a verb in its 아/어 form before an auxiliary verb
    const beforeAuxiliary = next !== undefined && AUXILIARY.test(next) && /[아어여해내워와줘려러져봐]$/u.test(token);
    const analysis = isTitleToken(token) || beforeAuxiliary ? ({ kind: 'skip' } as const) : analyzeKoreanToken(token);
    if (analysis.kind === 'skip') {
      previousTime = undefined;
      return;
    }
    let stem = analysis.stem;
    let category = categoryOf(stem);
    let weight = analysis.weight;

    // 김민수 씨가, 민수님: a person
    const titled = stripTitle(stem);
    if (titled) {
      stem = titled;
      category = 'person';
      weight = 1.5;
    } else if (next && isTitleToken(next) && syllableCount(stem) >= 2 && category === 'topic') {
      category = 'person';
      weight = 1.5;
    }

    const hangul = syllableCount(stem);
    const latin = stem.replace(/[^A-Za-z]/g, '').length;
    if (category !== 'date_time') {
      if (hangul < 2 && latin < 2 && !(hangul >= 1 && latin >= 1)) {
        previousTime = undefined;
        return;
      }
      if (QUANTITY_PATTERN.test(stem)) {
        previousTime = undefined;
        return; // 3개, 100명
      }
    }
    if (['place', 'organization', 'person', 'product'].includes(category)) weight = Math.max(weight, 1.3);
    if (category === 'date_time') weight = 0.8;

    // 내일 오후 3시에 → one time expression
    if (category === 'date_time' && previousTime && previousTimeEnd === position - 1) {
      previousTime.text = `${previousTime.text} ${stem}`;
      previousTime.key = candidateKey(previousTime.text);
      previousTimeEnd = position;
      if (stem !== token) previousTime = undefined;
      return;
    }
    const candidate: Candidate = { text: stem, key: candidateKey(stem), category, position, weight };
    out.push(candidate);
    // only a bare time word continues into the next one ("내일 오후"), not "내일은 오후"
    previousTime = category === 'date_time' && stem === token ? candidate : undefined;
    previousTimeEnd = position;
  });
  return out;
}
