// The built-in extractor as a whole: session scoring by frequency and position, the user lexicon,
// category mapping onto a custom list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltinExtractor } from '../../src/pipeline/enrich/builtin.js';
import { Lexicon, lexiconEntries } from '../../src/pipeline/enrich/lexicon.js';
import { KeywordSession, SessionStore } from '../../src/pipeline/enrich/keyword-session.js';
import { DEFAULT_CATEGORIES } from '../../src/pipeline/enrich/types.js';

const extractor = (lexicon?: Lexicon, categories: readonly string[] = DEFAULT_CATEGORIES) => new BuiltinExtractor({ categories, lexicon, maxKeywords: 10 });

test('within one utterance, repeated and early keywords score higher', () => {
  const kw = extractor().extract('The budget review covers the budget for marketing, and the budget for hiring.', 'en');
  assert.equal(kw[0].text, 'budget');
  const review = kw.find((k) => k.text === 'budget review');
  const hiring = kw.find((k) => k.text === 'hiring');
  assert.ok(review && hiring && review.score > hiring.score, 'an earlier two-word phrase outranks a later single word');
  for (let i = 1; i < kw.length; i++) assert.ok(kw[i - 1].score >= kw[i].score, 'sorted best first');
});

test('across a session, a topic that keeps coming back ranks higher', () => {
  const ex = extractor();
  const session = new KeywordSession();
  ex.extract('서버 점검은 내일 진행합니다.', 'ko', session);
  ex.extract('서버 로그를 확인했습니다.', 'ko', session);
  const third = ex.extract('데이터베이스와 서버를 재시작합니다.', 'ko', session);
  const fresh = ex.extract('데이터베이스와 서버를 재시작합니다.', 'ko');
  const score = (list: typeof third, t: string) => list.find((k) => k.text === t)!.score;
  // without the session, the earlier word (데이터베이스) leads; with it, the recurring 서버 does
  assert.ok(score(fresh, '데이터베이스') > score(fresh, '서버'));
  assert.ok(score(third, '서버') > score(third, '데이터베이스'));
  assert.equal(session.length, 3);
  assert.equal(session.top(1)[0].text, '서버');
});

test('the lexicon forces its terms in, with its categories, hiding guesses inside them', () => {
  const lexicon = Lexicon.fromObject({ terms: { Earshot: 'product', 김민수: 'person', 'Seoul National University': 'organization' } });
  const en = extractor(lexicon).extract('We demoed earshot at Seoul National University.', 'en');
  assert.deepEqual(
    en.map((k) => [k.text, k.category]),
    [
      ['Earshot', 'product'],
      ['Seoul National University', 'organization'],
    ],
  );
  const ko = extractor(lexicon).extract('김민수가 어제 Earshot 데모를 보여줬어요.', 'ko');
  assert.deepEqual(ko.find((k) => k.text === '김민수')?.category, 'person');
  assert.deepEqual(ko.find((k) => k.text === 'Earshot')?.category, 'product');
  assert.ok(ko[0].text === '김민수' || ko[0].text === 'Earshot', 'lexicon terms weigh most');
});

test('lexicon files: the three accepted shapes, and clear errors', async () => {
  assert.deepEqual(lexiconEntries({ Qwen: 'product' }), [['Qwen', 'product']]);
  assert.deepEqual(lexiconEntries({ product: ['Qwen', 'Earshot'] }), [
    ['Qwen', 'product'],
    ['Earshot', 'product'],
  ]);
  assert.throws(() => lexiconEntries(['Qwen']), /JSON object/);
  assert.throws(() => lexiconEntries({ product: 3 }), /category name or a list/);

  const dir = await mkdtemp(join(tmpdir(), 'earshot-lexicon-'));
  try {
    const file = join(dir, 'lexicon.json');
    await writeFile(file, JSON.stringify({ terms: { 판교: 'place' } }));
    const lexicon = await Lexicon.load(file);
    assert.equal(lexicon.categoryOf('판교'), 'place');
    assert.deepEqual(lexicon.find('판교에서 만나요'), [{ term: '판교', category: 'place', position: 0 }]);
    await writeFile(file, '{not json');
    await assert.rejects(Lexicon.load(file), /lexicon .*lexicon\.json/);
    await assert.rejects(Lexicon.load(join(dir, 'missing.json')), /cannot read lexicon/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Latin lexicon terms match whole words only (and their plurals)', () => {
  const lexicon = Lexicon.fromObject({ GPU: 'product' });
  assert.equal(lexicon.find('two GPUs were free').length, 1);
  assert.equal(lexicon.find('GPUDirect is different').length, 0);
});

test('built-in categories map onto a custom category list', () => {
  const ex = extractor(undefined, ['place', 'misc']);
  const kw = ex.extract('Alice flew to Seoul.', 'en');
  assert.deepEqual(
    kw.map((k) => [k.text, k.category]),
    [
      ['Alice', 'misc'],
      ['Seoul', 'place'],
    ],
  );
  assert.equal(ex.categorize('Ulsan', 'en'), 'misc'); // not in the gazetteer: unknown proper name
  assert.equal(extractor().categorize('부산', 'ko'), 'place');
  assert.equal(extractor().categorize('회의', 'ko'), 'topic');
});

test('sessions are bounded: the least recently used one is forgotten', () => {
  const store = new SessionStore(2);
  const a = store.get('a');
  store.get('b');
  store.get('a'); // a is now the most recent
  store.get('c'); // evicts b
  assert.equal(store.size, 2);
  assert.equal(store.get('a'), a);
});
