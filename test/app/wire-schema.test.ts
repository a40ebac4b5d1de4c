// The /ws messages built from the typed events (app/wire.ts) match the published protocol
// (docs/ws-protocol.schema.json), and the checker the streaming tests use rejects what breaks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keywordsOf, type UtteranceFinal } from '../../src/app/events.js';
import { wireFinal, wireKeywords, wirePartial } from '../../src/app/wire.js';
import { Enricher } from '../../src/pipeline/enrich/index.js';
import type { EndReason } from '../../src/pipeline/segmenter.js';
import { assertServerMessage, isClientMessage, isServerMessage } from '../helpers/ws-schema.js';

const final: UtteranceFinal = {
  sessionId: 's1',
  interface: 'ws',
  utteranceId: 3,
  text: 'He was not an ill disposed young man.',
  start: 1.2,
  end: 4.3,
  language: 'en',
  model: 'base',
  engine: 'whisper',
  task: 'transcribe',
  segments: [{ start: 1.2, end: 4.3, text: ' He was not an ill disposed young man.', avgLogprob: -0.3, noSpeechProb: 0.01 }],
  words: [{ word: 'He', start: 1.2, end: 1.4, probability: 0.9 }],
  processingTime: 0.8,
};

test('partial, final and keywords messages from the typed events match the schema', async () => {
  assertServerMessage({ type: 'partial', ...wirePartial({ sessionId: 's1', utteranceId: 3, revision: 1, committed: 'He was', tentative: ' not' }) });
  assertServerMessage({ type: 'final', ...wireFinal(final) });
  const result = await new Enricher({}).enrich({ text: 'Alice flew to Seoul on Monday.', language: 'en' });
  assertServerMessage({ type: 'keywords', utterance_id: 3, ...wireKeywords(keywordsOf(result)) });
});

test('the checker rejects messages that break the protocol', () => {
  assert.equal(isServerMessage({ type: 'final', utterance_id: 3, text: 'x', start: 0, end: 1 }), false, 'final without language');
  assert.equal(isServerMessage({ type: 'partial', utterance_id: '3', revision: 1, committed: '', tentative: '' }), false, 'string utterance id');
  assert.equal(isServerMessage({ type: 'keywords', utterance_id: 1, keywords: [{ text: 'x' }] }), false, 'keyword without category');
  assert.equal(isServerMessage({ type: 'telepathy' }), false, 'unknown type');
  assert.throws(() => assertServerMessage({ type: 'done' }), /ws-protocol\.schema\.json/);
  assert.equal(isClientMessage({ type: 'config', language: 'en', sample_rate: 16000 }), true);
});

test('every way an utterance can end is in the protocol', () => {
  // EndReason of src/pipeline/segmenter.ts; 'gap' is where backpressure dropped audio inside an utterance
  for (const reason of ['silence', 'max_length', 'flush', 'gap'] satisfies EndReason[]) {
    assertServerMessage({ type: 'speech_end', utterance_id: 1, start: 0, end: 1, reason });
  }
});
