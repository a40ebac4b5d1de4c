// The history recorder on the server's real event bus and the real Enricher (built-in extractor):
// streaming finals and their keywords, batch transcriptions with extracted keywords, retention.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import type { Transcript } from '../../src/engines/types.js';
import { Enricher } from '../../src/pipeline/enrich/index.js';
import { EventBus } from '../../src/server/context.js';
import { attachHistory, HistoryRecorder, SqliteHistoryStore } from '../../src/store/index.js';

const DAY = 24 * 3600 * 1000;
const quiet = { warn() {}, info() {}, error() {} };

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function transcript(text: string): Transcript {
  return {
    text,
    language: 'en',
    duration: 7.1,
    segments: [{ id: 0, seek: 0, start: 0, end: 7.1, text: ` ${text}`, tokens: [], temperature: 0, avgLogprob: -0.2, compressionRatio: 1.2, noSpeechProb: 0.01 }],
    task: 'transcribe',
    model: 'base',
    engine: 'whisper',
    processingTime: 1.5,
  };
}

describe('HistoryRecorder', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-recorder-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('records streaming finals with their session model, then the keywords that follow', async () => {
    const events = new EventBus();
    const store = new SqliteHistoryStore(join(dir, 'stream.sqlite'));
    const recorder = new HistoryRecorder({ store, events, retentionDays: 30, log: quiet }).start();
    try {
      events.emit('session', { id: 'sess-1', state: 'started', model: 'base', language: 'en' });
      events.emit('utterance', { session_id: 'sess-1', type: 'partial', utterance_id: 1, revision: 1, committed: 'he was', tentative: ' not' });
      events.emit('utterance', {
        session_id: 'sess-1',
        type: 'final',
        utterance_id: 1,
        text: ' He was not an ill disposed young man.',
        start: 1.2,
        end: 4.3,
        language: 'en',
        segments: [{ start: 1.2, end: 4.3, text: ' He was not an ill disposed young man.', avg_logprob: -0.3, no_speech_prob: 0.01 }],
        words: [],
      });
      events.emit('utterance', { session_id: 'sess-1', type: 'final', utterance_id: 2, text: '', start: 5, end: 6, language: 'en', segments: [], words: [] });
      assert.equal(store.count(), 1, 'partials and empty finals are not recorded');
      const [e] = store.search().items;
      assert.equal(e!.kind, 'stream');
      assert.equal(e!.source, 'ws');
      assert.equal(e!.text, 'He was not an ill disposed young man.');
      assert.equal(e!.model, 'base');
      assert.equal(e!.sessionId, 'sess-1');
      assert.equal(e!.utteranceId, '1');
      assert.equal(e!.start, 1.2);
      assert.equal(e!.end, 4.3);
      assert.ok(Math.abs(e!.duration! - 3.1) < 1e-9);
      assert.deepEqual(e!.segments, [{ start: 1.2, end: 4.3, text: 'He was not an ill disposed young man.' }]);
      assert.deepEqual(e!.keywords, []);

      events.emit('session', { id: 'sess-1', state: 'ended' });
      // keywords may arrive after the session ended
      events.emit('utterance', { session_id: 'sess-1', type: 'keywords', utterance_id: 1, status: 'ok', keywords: [{ text: 'young man', category: 'topic', score: 1 }], categories: ['topic'], source: 'builtin' });
      assert.deepEqual(store.get(e!.id)!.keywords, [{ text: 'young man', category: 'topic' }]);
      assert.deepEqual(store.search({ keyword: 'Young Man' }).items.map((x) => x.id), [e!.id]);
      // keywords for an utterance that was never recorded are ignored
      events.emit('utterance', { session_id: 'other', type: 'keywords', utterance_id: 9, keywords: [{ text: 'x', category: 'y' }] });
      assert.equal(store.count(), 1);
    } finally {
      recorder.stop();
      store.close();
    }
  });

  it('records batch transcriptions and extracts their keywords with the Enricher', async () => {
    const events = new EventBus();
    const store = new SqliteHistoryStore(join(dir, 'batch.sqlite'));
    const enricher = new Enricher({});
    const recorder = new HistoryRecorder({ store, events, enricher, retentionDays: 30, log: quiet }).start();
    try {
      const text = 'And Mister John Dashwood had then leisure to consider how much there might be prudently in his power to do for them';
      events.emit('transcription', { source: 'rest', transcript: transcript(text) });
      events.emit('transcription', { source: 'openai', transcript: transcript('   ') });
      const [e] = store.search().items;
      assert.equal(store.count(), 1);
      assert.equal(e!.kind, 'batch');
      assert.equal(e!.source, 'rest');
      assert.equal(e!.duration, 7.1);
      assert.deepEqual(e!.segments, [{ start: 0, end: 7.1, text }]);
      const keywords = await until(() => {
        const k = store.get(e!.id)!.keywords;
        return k.length ? k : undefined;
      }, 'keywords');
      for (const k of keywords) assert.ok(text.toLowerCase().includes(k.text.toLowerCase()), `${k.text} is in the text`);
      assert.deepEqual(store.search({ keyword: keywords[0]!.text }).items.map((x) => x.id), [e!.id]);

      events.emit('transcription', { source: 'openai', transcript: transcript('He was not an ill disposed young man') });
      assert.equal(store.search({ text: 'disposed' }).items[0]!.source, 'openai');
    } finally {
      recorder.stop();
      store.close();
    }
  });

  it('purges by retention at start; 0 keeps everything', () => {
    const path = join(dir, 'retention.sqlite');
    const now = Date.now();
    const seed = new SqliteHistoryStore(path);
    seed.add({ kind: 'stream', source: 'ws', text: 'ancient', createdAt: now - 400 * DAY });
    seed.add({ kind: 'stream', source: 'ws', text: 'last week', createdAt: now - 7 * DAY });
    seed.close();

    const keepAll = attachHistory({ home: dir, events: new EventBus(), retentionDays: 0, log: quiet });
    // attachHistory uses <home>/history.sqlite; this one starts empty
    assert.equal(keepAll!.store.count(), 0);
    keepAll!.close();

    const store = new SqliteHistoryStore(path);
    const events = new EventBus();
    const forever = new HistoryRecorder({ store, events, retentionDays: 0, log: quiet }).start();
    assert.equal(store.count(), 2);
    forever.stop();
    const month = new HistoryRecorder({ store, events, retentionDays: 30, log: quiet }).start();
    assert.deepEqual(store.search().items.map((e) => e.text), ['last week']);
    month.stop();
    store.close();
  });

  it('keeps the server running when the history file cannot be opened', async () => {
    const { writeFile } = await import('node:fs/promises');
    const home = join(dir, 'broken');
    await import('node:fs/promises').then((fs) => fs.mkdir(home, { recursive: true }));
    await writeFile(join(home, 'history.sqlite'), Buffer.alloc(8192, 3));
    const errors: string[] = [];
    const attached = attachHistory({ home, events: new EventBus(), retentionDays: 30, log: { ...quiet, error: (_o: unknown, msg?: string) => errors.push(msg ?? '') } });
    assert.equal(attached, undefined);
    assert.match(errors[0]!, /history disabled/);
  });
});
