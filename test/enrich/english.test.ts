// The built-in English extractor on transcript-like sentences: noun phrases between stopwords,
// capitalised names, time expressions, plurals made singular, ALL-CAPS CTC output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { englishCandidates, singularize } from '../../src/pipeline/enrich/english.js';

const pairs = (s: string) => englishCandidates(s).map((c) => [c.text, c.category]);
const texts = (s: string) => englishCandidates(s).map((c) => c.text);

test('a board meeting: person, adjective+noun phrase, multi-word place, relative date', () => {
  assert.deepEqual(pairs('Alice presented the quarterly budget to the board in New York City next Monday.'), [
    ['Alice', 'person'],
    ['quarterly budget', 'topic'],
    ['board', 'topic'],
    ['New York City', 'place'],
    ['next Monday', 'date_time'],
  ]);
});

test('organisations, products with numbers, possessives and plurals', () => {
  assert.deepEqual(pairs("Google's new Pixel 9 phones were announced at the developer conference in San Francisco."), [
    ['Google', 'organization'],
    ['Pixel 9', 'product'],
    ['phone', 'topic'],
    ['developer conference', 'topic'],
    ['San Francisco', 'place'],
  ]);
});

test('verbs, adverbs and number words separate phrases; dates are kept whole', () => {
  assert.deepEqual(texts('We need to finalize the marketing strategy and the product launch dates by March 15.'), [
    'marketing strategy',
    'product launch date',
    'March 15',
  ]);
  assert.deepEqual(texts('The children visited three museums and two libraries in Seoul yesterday.'), ['child', 'museum', 'library', 'Seoul', 'yesterday']);
});

test('titles mark people; organisation suffixes and times of day', () => {
  assert.deepEqual(pairs('Dr. Kim from Seoul National University will give a talk about speech recognition at 3 pm.'), [
    ['Kim', 'person'],
    ['Seoul National University', 'organization'],
    ['talk', 'topic'],
    ['speech recognition', 'topic'],
    ['3 pm', 'date_time'],
  ]);
});

test('ALL-CAPS output without punctuation (CTC models) still yields phrases', () => {
  assert.deepEqual(texts('HELLO EVERYONE THE MEETING ABOUT THE NEW WAREHOUSE BUDGET STARTS NOW'), ['meeting', 'warehouse budget']);
});

test('a question with politeness words keeps only the content', () => {
  assert.deepEqual(texts('Can you send me the slides from the team meeting, please?'), ['slide', 'team meeting']);
});

test('"May" is a month only where it reads like one', () => {
  assert.deepEqual(texts('The report is due in May.'), ['report', 'May']);
  assert.deepEqual(texts('May I ask a question about the invoice?'), ['question', 'invoice']);
});

test('singularize: regular, -ies, -es, irregular and uncountable words', () => {
  const cases: Array<[string, string]> = [
    ['meetings', 'meeting'],
    ['cities', 'city'],
    ['boxes', 'box'],
    ['churches', 'church'],
    ['buses', 'bus'],
    ['potatoes', 'potato'],
    ['movies', 'movie'],
    ['people', 'person'],
    ['children', 'child'],
    ['analyses', 'analysis'],
    ['news', 'news'],
    ['status', 'status'],
    ['analysis', 'analysis'],
    ['class', 'class'],
    ['courses', 'course'],
    ['gas', 'gas'],
  ];
  for (const [plural, singular] of cases) assert.equal(singularize(plural), singular, plural);
});
