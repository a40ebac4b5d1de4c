// LocalAgreement-2 and the word helpers it stands on (pure functions, no engine needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalAgreement, joinWords, normalizeWord, wordsFromSegments, type PolicyWord } from '../../src/pipeline/policy/index.js';
import type { Segment } from '../../src/engines/types.js';

/** words at 0.4 s each, in the form whisper writes them (leading spaces) */
function hyp(text: string, from = 0): PolicyWord[] {
  return text.split(' ').map((w, i) => ({ word: ` ${w}`, start: from + i * 0.4, end: from + i * 0.4 + 0.35 }));
}

test('nothing is committed from a single hypothesis', () => {
  const la = new LocalAgreement();
  const s = la.update(hyp('he was not'));
  assert.equal(s.committedText, '');
  assert.equal(s.tentativeText, 'he was not');
});

test('commits the longest prefix two consecutive hypotheses agree on; tentative is the rest of the newest', () => {
  const la = new LocalAgreement();
  la.update(hyp('he was not an'));
  const s = la.update(hyp('he was not and ill'));
  assert.equal(s.committedText, 'he was not');
  assert.equal(s.tentativeText, 'and ill');
  assert.deepEqual(
    s.newlyCommitted.map((w) => w.word),
    [' he', ' was', ' not'],
  );
  const t = la.update(hyp('he was not an ill disposed'));
  assert.equal(t.committedText, 'he was not', '"an" vs "and": no agreement yet');
  assert.equal(t.tentativeText, 'an ill disposed');
  const u = la.update(hyp('he was not an ill disposed young man'));
  assert.equal(u.committedText, 'he was not an ill disposed');
  assert.equal(u.tentativeText, 'young man');
  assert.deepEqual(
    u.newlyCommitted.map((w) => w.word.trim()),
    ['an', 'ill', 'disposed'],
  );
});

test('comparison ignores case and punctuation; committed words take the newest spelling', () => {
  const la = new LocalAgreement();
  la.update(hyp('Hello, world how'));
  const s = la.update(hyp('hello World. How are'));
  assert.equal(s.committedText, 'hello World. How');
  assert.equal(normalizeWord(' 그래요?'), '그래요');
  assert.equal(normalizeWord('"Don\'t!"'), 'dont');
  assert.equal(normalizeWord('ＡＢＣ'), 'abc', 'full-width folds (NFKC)');
});

test('never un-commits: a later hypothesis that rewrites committed words only changes the tentative tail', () => {
  const la = new LocalAgreement();
  la.update(hyp('mister john dashwood had'));
  la.update(hyp('mister john dashwood had then'));
  // Whisper rewrites the start, keeps the last committed words: lined up by the anchor words
  const s = la.update(hyp('mr john dashwood had then leisure'));
  // "then" agrees with the previous hypothesis's uncommitted tail
  assert.equal(s.committedText, 'mister john dashwood had then');
  assert.equal(s.tentativeText, 'leisure');
  const t = la.update(hyp('mr john dashwood had then leisure to'));
  assert.equal(t.committedText, 'mister john dashwood had then leisure');
  assert.equal(t.tentativeText, 'to');
});

test('a rewrite with no anchor words is lined up by time', () => {
  const la = new LocalAgreement();
  la.update(hyp('ten of clubs'));
  la.update(hyp('ten of clubs four'));
  // committed: ten of clubs (ends at 0.8 + 0.35 = 1.15 s)
  const s = la.update([
    { word: ' Tenor', start: 0, end: 0.5 },
    { word: ' flubs', start: 0.6, end: 1.1 },
    { word: ' four', start: 1.2, end: 1.5 },
    { word: ' queen', start: 1.6, end: 1.9 },
  ]);
  // "four" lines up by time and agrees with the previous tail
  assert.equal(s.committedText, 'ten of clubs four');
  assert.equal(s.tentativeText, 'queen');
});

test('a shorter newest hypothesis commits nothing new and keeps what was committed', () => {
  const la = new LocalAgreement();
  la.update(hyp('eight of spades four'));
  la.update(hyp('eight of spades four of'));
  const s = la.update(hyp('eight of'));
  assert.equal(s.committedText, 'eight of spades four');
  assert.equal(s.tentativeText, '');
});

test('Korean words (spaces between eojeol) agree the same way', () => {
  const la = new LocalAgreement();
  la.update(hyp('오늘 회의를 시작하겠'));
  const s = la.update(hyp('오늘 회의를 시작하겠습니다. 먼저'));
  assert.equal(s.committedText, '오늘 회의를');
  assert.equal(s.tentativeText, '시작하겠습니다. 먼저');
});

const seg = (text: string, start: number, end: number, words?: Segment['words']): Segment => ({
  id: 0,
  seek: 0,
  start,
  end,
  text,
  tokens: [],
  temperature: 0,
  avgLogprob: -0.2,
  compressionRatio: 1,
  noSpeechProb: 0.01,
  words,
});

test('wordsFromSegments merges sub-word tokens and keeps spaces between segments', () => {
  const words = wordsFromSegments([
    seg(' He was not', 0, 1.2, [
      { word: ' He', start: 0, end: 0.2, probability: 0.9 },
      { word: ' was', start: 0.2, end: 0.5, probability: 0.9 },
      { word: ' no', start: 0.5, end: 0.8, probability: 0.9 },
      { word: 't.', start: 0.8, end: 1.2, probability: 0.9 },
    ]),
    seg('Ill disposed', 1.3, 2.0, [
      { word: 'Ill', start: 1.3, end: 1.5, probability: 0.9 },
      { word: ' disposed', start: 1.5, end: 2.0, probability: 0.9 },
    ]),
  ]);
  assert.deepEqual(
    words.map((w) => w.word),
    [' He', ' was', ' not.', ' Ill', ' disposed'],
  );
  assert.deepEqual([words[2].start, words[2].end], [0.5, 1.2]);
  assert.equal(joinWords(words), 'He was not. Ill disposed');
});

test('wordsFromSegments without word times splits text and spreads times; unspaced languages go per character', () => {
  const words = wordsFromSegments([seg('ten of clubs', 1, 2.1)]);
  assert.deepEqual(
    words.map((w) => w.word),
    ['ten', ' of', ' clubs'],
  );
  assert.equal(words[0].start, 1);
  assert.ok(Math.abs(words[2].end - 2.1) < 1e-9);
  const zh = wordsFromSegments([seg('你好 世界', 0, 1)], 'zh');
  assert.deepEqual(
    zh.map((w) => w.word),
    ['你', '好', '世', '界'],
  );
  assert.equal(joinWords(zh), '你好世界');
});
