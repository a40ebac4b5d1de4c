// Reading keywords out of what models really write: clean JSON, fences, prose, reasoning blocks,
// single quotes, truncation at max_tokens, and the shapes other than the one asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractJson } from '../../src/pipeline/enrich/json-repair.js';
import { InvalidOutputError, mapCategory, parseKeywordAnswer } from '../../src/pipeline/enrich/parse.js';
import { DEFAULT_CATEGORIES } from '../../src/pipeline/enrich/types.js';

const CATS = DEFAULT_CATEGORIES;
const parse = (s: string) => parseKeywordAnswer(s, CATS);

test('clean JSON as asked', () => {
  assert.deepEqual(parse('{"keywords":[{"text":"서울","category":"place"},{"text":"회의","category":"topic"}],"categories":["place","topic"]}'), [
    { text: '서울', category: 'place' },
    { text: '회의', category: 'topic' },
  ]);
});

test('a ```json fence with prose around it', () => {
  const out =
    'Here are the keywords:\n```json\n{\n  "keywords": [{"text": "Samsung", "category": "organization"}],\n  "categories": ["organization"]\n}\n```\nLet me know if you need more.';
  assert.deepEqual(parse(out), [{ text: 'Samsung', category: 'organization' }]);
});

test('prose before and after unfenced JSON, with a stray bracket in the prose', () => {
  const out = 'Sure [as requested]! {"keywords": [{"text": "Seoul", "category": "place"}], "categories": ["place"]} Hope this helps.';
  assert.deepEqual(parse(out), [{ text: 'Seoul', category: 'place' }]);
});

test('a <think> block before the answer is ignored', () => {
  const out = '<think>The user wants {"keywords"} … Seoul is a place.</think>\n{"keywords":[{"text":"Seoul","category":"place"}],"categories":["place"]}';
  assert.deepEqual(parse(out), [{ text: 'Seoul', category: 'place' }]);
});

test('single quotes, Python literals, bare keys, trailing commas and comments', () => {
  const out =
    "{keywords: [{'text': 'Kim\\'s lab', 'category': 'organization', 'proper': True,}, {'text': \"O'Hare\", 'category': 'place'},], // done\n 'categories': ['organization', 'place'], 'extra': None}";
  assert.deepEqual(parse(out), [
    { text: "Kim's lab", category: 'organization' },
    { text: "O'Hare", category: 'place' },
  ]);
});

test('truncated at max_tokens inside a keyword: the complete ones survive', () => {
  const out = '{"keywords":[{"text":"서울","category":"place"},{"text":"삼성전자","category":"organization"},{"text":"회';
  assert.deepEqual(parse(out), [
    { text: '서울', category: 'place' },
    { text: '삼성전자', category: 'organization' },
  ]);
});

test('truncated inside the categories list, and inside an unclosed fence', () => {
  assert.deepEqual(parse('```json\n{"keywords":[{"text":"Seoul","category":"place"}],"categories":["pla'), [{ text: 'Seoul', category: 'place' }]);
  assert.deepEqual(parse('{"keywords":['), []);
});

test('a bare array, strings only, and zipped keyword/category lists', () => {
  assert.deepEqual(parse('[{"keyword":"Seoul","type":"LOCATION"},{"word":"Kim","label":"PERSON"}]'), [
    { text: 'Seoul', category: 'place' },
    { text: 'Kim', category: 'person' },
  ]);
  assert.deepEqual(parse('{"keywords":["서울","회의"]}'), [
    { text: '서울', category: null },
    { text: '회의', category: null },
  ]);
  assert.deepEqual(parse('{"keywords":["서울","회의"],"categories":["장소","주제"]}'), [
    { text: '서울', category: 'place' },
    { text: '회의', category: 'topic' },
  ]);
});

test('a category-keyed map instead of a list', () => {
  assert.deepEqual(parse('{"person": ["김민수"], "place": ["서울", "부산"], "notes": "none"}'), [
    { text: '김민수', category: 'person' },
    { text: '서울', category: 'place' },
    { text: '부산', category: 'place' },
  ]);
});

test('unknown categories map to null; duplicates, blanks and punctuation are tidied', () => {
  assert.deepEqual(parse('{"keywords":[{"text":" Seoul. ","category":"galaxy"},{"text":"seoul","category":"place"},{"text":"","category":"place"}]}'), [
    { text: 'Seoul', category: null },
  ]);
});

test('an empty answer object is a valid "nothing here"', () => {
  assert.deepEqual(parse('{"keywords":[],"categories":[]}'), []);
  assert.deepEqual(parse('{}'), []);
});

test('no JSON at all, or JSON of the wrong shape, is an InvalidOutputError', () => {
  assert.throws(() => parse('The keywords are Seoul and Samsung.'), InvalidOutputError);
  assert.throws(() => parse('{"answer": 42}'), InvalidOutputError);
  assert.throws(() => parse('"just a string"'), InvalidOutputError);
  assert.throws(() => parse(''), InvalidOutputError);
});

test('extractJson returns undefined for prose and parses nested structures', () => {
  assert.equal(extractJson('nothing here'), undefined);
  assert.deepEqual(extractJson('x = {"a": {"b": [1, 2, {"c": "}"}]}} trailing'), { a: { b: [1, 2, { c: '}' }] } });
});

test('mapCategory: exact, case-insensitive, aliases in English and Korean, custom lists', () => {
  assert.equal(mapCategory('Place', CATS), 'place');
  assert.equal(mapCategory('date time', CATS), 'date_time');
  assert.equal(mapCategory('인물', CATS), 'person');
  assert.equal(mapCategory('ORG', CATS), 'organization');
  assert.equal(mapCategory('LOCATION', ['people', 'place']), 'place');
  assert.equal(mapCategory('food', CATS), null);
  assert.equal(mapCategory(3, CATS), null);
});
