// The built-in Korean extractor on sentences as a speech recogniser writes them: particles and endings
// stripped, nouns kept, verbs and function words dropped, names/places/times categorised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeKoreanToken, koreanCandidates } from '../../src/pipeline/enrich/korean.js';

const texts = (s: string) => koreanCandidates(s).map((c) => c.text);
const stem = (token: string) => {
  const a = analyzeKoreanToken(token);
  return a.kind === 'noun' ? a.stem : null;
};

test('a lone syllable is never a keyword', () => {
  assert.equal(stem('책을'), null);
  assert.equal(stem('집에서'), null);
});

test('particles are stripped: 서울에서 → 서울, 회의를 → 회의, and the rest of the list', () => {
  const cases: Array<[string, string]> = [
    ['서울에서', '서울'],
    ['회의를', '회의'],
    ['회사는', '회사'],
    ['학생은', '학생'],
    ['친구가', '친구'],
    ['정부가', '정부'],
    ['사과를', '사과'],
    ['책상을', '책상'],
    ['부산으로', '부산'],
    ['학교로', '학교'],
    ['서울로', '서울'],
    ['동생과', '동생'],
    ['친구와', '친구'],
    ['한국의', '한국'],
    ['할머니께', '할머니'],
    ['동생에게', '동생'],
    ['서울까지', '서울'],
    ['월요일부터', '월요일'],
    ['아이처럼', '아이'],
    ['작년보다', '작년'],
    ['커피나', '커피'],
    ['라면이나', '라면'],
    ['서울도', '서울'],
    ['회의만', '회의'],
    ['서울에서는', '서울'],
    ['회의에서도', '회의'],
    ['친구와의', '친구'],
    ['오늘까지만', '오늘'],
    ['AI를', 'AI'],
    ['GPT-4는', 'GPT-4'],
  ];
  for (const [token, expected] of cases) assert.equal(stem(token), expected, token);
});

test('nouns that merely end like a particle are left whole', () => {
  for (const word of ['회의', '고양이', '휴가', '결과', '도로', '정도', '불만', '바다', '마을', '가을', '평가', '전문가', '국가', '지도', '속도']) {
    assert.equal(stem(word), word === '정도' ? null : word, word); // 정도 is a stopword
  }
  assert.equal(stem('고양이가'), '고양이');
  assert.equal(stem('회의의'), '회의');
});

test('plural 들 goes with the particle; copulas leave the noun', () => {
  assert.equal(stem('학생들이'), '학생');
  assert.equal(stem('사람들'), null); // 사람 is too generic to be a keyword
  assert.equal(stem('학생입니다'), '학생');
  assert.equal(stem('친구예요'), '친구');
  assert.equal(stem('기간이라'), '기간');
});

test('하다/되다 verbs give their noun; other verbs and adjectives are dropped', () => {
  assert.equal(stem('발표했습니다'), '발표');
  assert.equal(stem('준비하고'), '준비');
  assert.equal(stem('연기되었습니다'), '연기');
  assert.equal(stem('완료된'), '완료');
  for (const verb of [
    '갔어요',
    '먹었다',
    '있습니다',
    '갑니다',
    '좋은',
    '먹는',
    '열린',
    '빠르게',
    '천천히',
    '좋아하는',
    '했다',
    '하고',
    '모르겠어요',
    '있어요',
    '중요한',
  ]) {
    assert.equal(stem(verb), null, verb);
  }
});

test('a meeting announcement: person, time expression, place, topic', () => {
  const found = koreanCandidates('김민수 씨가 내일 오후 3시에 강남역에서 프로젝트 회의를 합니다.');
  assert.deepEqual(
    found.map((c) => [c.text, c.category]),
    [
      ['김민수', 'person'],
      ['내일 오후 3시', 'date_time'],
      ['강남역', 'place'],
      ['프로젝트', 'topic'],
      ['회의', 'topic'],
    ],
  );
});

test('a news sentence: places and organisations by gazetteer and suffix', () => {
  const found = koreanCandidates('서울에서 열린 인공지능 학회에 삼성전자와 네이버가 참가했습니다.');
  const byText = Object.fromEntries(found.map((c) => [c.text, c.category]));
  assert.equal(byText['서울'], 'place');
  assert.equal(byText['삼성전자'], 'organization');
  assert.equal(byText['네이버'], 'organization');
  assert.equal(byText['인공지능'], 'topic');
  assert.equal(byText['학회'], 'topic');
  assert.ok(!('열린' in byText), 'the verb 열린 is not a keyword');
});

test('everyday speech: verbs, auxiliaries and adverbs leave only the nouns', () => {
  assert.deepEqual(texts('회의 자료는 이메일로 보내 드릴게요.'), ['회의', '자료', '이메일']);
  assert.deepEqual(texts('학생들이 도서관에서 시험 공부를 열심히 하고 있어요.'), ['학생', '도서관', '시험', '공부']);
  assert.deepEqual(texts('고양이가 바다를 좋아하는 이유는 잘 모르겠어요.'), ['고양이', '바다', '이유']);
  assert.deepEqual(texts('부산으로 가는 기차표를 예매했는데 휴가 기간이라 사람이 많아요.'), ['부산', '기차표', '예매', '휴가', '기간']);
});

test('names with honorifics, products and quantities', () => {
  const found = koreanCandidates('민수님이 GPT-4를 이용해서 보고서 10개를 작성했습니다.');
  const byText = Object.fromEntries(found.map((c) => [c.text, c.category]));
  assert.equal(byText['민수'], 'person');
  assert.equal(byText['GPT-4'], 'product');
  assert.equal(byText['보고서'], 'topic');
  assert.ok(!('10개' in byText), 'a bare quantity is not a keyword');
});

test('decomposed (NFD) Hangul is handled like composed text', () => {
  assert.deepEqual(texts('서울에서 회의를 합니다'.normalize('NFD')), ['서울', '회의']);
});
