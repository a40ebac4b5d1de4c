// The history recorder on the server's real event bus: live finals and their keywords, batch
// transcriptions and theirs (the recorder never enriches: keywords arrive as their own events), retention.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { AppEvents, keywordsOf, type UtteranceFinal } from '../../src/app/events.js';
import { HistoryRecorder } from '../../src/app/history-recorder.js';
import { openHistory } from '../../src/app/services.js';
import type { Transcript } from '../../src/engines/types.js';
import { SqliteHistoryStore } from '../../src/history/index.js';
import { Enricher } from '../../src/pipeline/enrich/index.js';

const DAY = 24 * 3600 * 1000;
const quiet = { warn() {}, info() {}, error() {} };

function final(sessionId: string, utteranceId: number, text: string, start: number, end: number): UtteranceFinal {
  return {
    sessionId,
    interface: 'ws',
    utteranceId,
    text,
    start,
    end,
    language: 'en',
    model: 'base',
    engine: 'whisper',
    task: 'transcribe',
    segments: text ? [{ start, end, text, avgLogprob: -0.3, noSpeechProb: 0.01 }] : [],
    words: [],
    processingTime: 0.4,
  };
}

function transcript(text: string): Transcript {
  return {
    text,
    language: 'en',
    duration: 7.1,
    segments: [
      { id: 0, seek: 0, start: 0, end: 7.1, text: ` ${text}`, tokens: [], temperature: 0, avgLogprob: -0.2, compressionRatio: 1.2, noSpeechProb: 0.01 },
    ],
    task: 'transcribe',
    model: 'base',
    engine: 'whisper',
    processingTime: 1.5,
  };
}

describe('HistoryRecorder', async () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-recorder-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('records streaming finals with their session model, then the keywords that follow', async () => {
    const events = new AppEvents();
    const store = new SqliteHistoryStore(join(dir, 'stream.sqlite'));
    const recorder = new HistoryRecorder({ store, events, retentionDays: 30, log: quiet }).start();
    try {
      events.emit('session.started', {
        sessionId: 'sess-1',
        interface: 'ws',
        model: 'base',
        engine: 'whisper',
        language: 'en',
        remote: null,
        startedAt: new Date().toISOString(),
      });
      events.emit('utterance.partial', { sessionId: 'sess-1', utteranceId: 1, revision: 1, committed: 'he was', tentative: ' not' });
      events.emit('utterance.final', final('sess-1', 1, ' He was not an ill disposed young man.', 1.2, 4.3));
      events.emit('utterance.final', final('sess-1', 2, '', 5, 6));
      await recorder.idle();
      assert.equal(await store.count(), 1, 'partials and empty finals are not recorded');
      const [e] = (await store.search()).items;
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

      events.emit('session.ended', { sessionId: 'sess-1', endedAt: new Date().toISOString() });
      await recorder.idle();
      // keywords may arrive after the session ended
      const keywords = {
        status: 'ok' as const,
        keywords: [{ text: 'young man', category: 'topic', score: 1 }],
        categories: ['topic'],
        source: 'builtin' as const,
        model: null,
        latencyMs: 3,
        fallbackReason: null,
      };
      events.emit('utterance.keywords', { sessionId: 'sess-1', utteranceId: 1, keywords });
      await recorder.idle();
      assert.deepEqual((await store.get(e!.id))!.keywords, [{ text: 'young man', category: 'topic' }]);
      assert.deepEqual(
        (await store.search({ keyword: 'Young Man' })).items.map((x) => x.id),
        [e!.id],
      );
      // keywords for an utterance that was never recorded are ignored
      events.emit('utterance.keywords', { sessionId: 'other', utteranceId: 9, keywords: { ...keywords, keywords: [{ text: 'x', category: 'y', score: 1 }] } });
      await recorder.idle();
      assert.equal(await store.count(), 1);
    } finally {
      await recorder.stop();
      await store.close();
    }
  });

  it('records batch transcriptions, then the keywords published for them (from the real built-in extractor)', async () => {
    const events = new AppEvents();
    const store = new SqliteHistoryStore(join(dir, 'batch.sqlite'));
    const recorder = new HistoryRecorder({ store, events, retentionDays: 30, log: quiet }).start();
    const at = new Date().toISOString();
    try {
      const text = 'And Mister John Dashwood had then leisure to consider how much there might be prudently in his power to do for them';
      events.emit('transcription.done', { transcriptionId: 't1', source: 'rest', transcript: transcript(text), at });
      events.emit('transcription.done', { transcriptionId: 't2', source: 'openai', transcript: transcript('   '), at });
      await recorder.idle();
      const [e] = (await store.search()).items;
      assert.equal(await store.count(), 1);
      assert.equal(e!.kind, 'batch');
      assert.equal(e!.source, 'rest');
      assert.equal(e!.duration, 7.1);
      assert.deepEqual(e!.segments, [{ start: 0, end: 7.1, text }]);
      assert.deepEqual(e!.keywords, [], 'no keywords until they are published');
      const result = await new Enricher({}).enrich({ text, language: 'en' });
      events.emit('transcription.keywords', { transcriptionId: 't1', keywords: keywordsOf(result) });
      await recorder.idle();
      const keywords = (await store.get(e!.id))!.keywords;
      assert.ok(keywords.length > 0);
      for (const k of keywords) assert.ok(text.toLowerCase().includes(k.text.toLowerCase()), `${k.text} is in the text`);
      assert.deepEqual(
        (await store.search({ keyword: keywords[0]!.text })).items.map((x) => x.id),
        [e!.id],
      );

      events.emit('transcription.done', { transcriptionId: 't3', source: 'openai', transcript: transcript('He was not an ill disposed young man'), at });
      await recorder.idle();
      assert.equal((await store.search({ text: 'disposed' })).items[0]!.source, 'openai');
    } finally {
      await recorder.stop();
      await store.close();
    }
  });

  it('purges by retention at start; 0 keeps everything', async () => {
    const path = join(dir, 'retention.sqlite');
    const now = Date.now();
    const seed = new SqliteHistoryStore(path);
    await seed.add({ kind: 'stream', source: 'ws', text: 'ancient', createdAt: now - 400 * DAY });
    await seed.add({ kind: 'stream', source: 'ws', text: 'last week', createdAt: now - 7 * DAY });
    await seed.close();

    const opened = openHistory(dir, quiet);
    // openHistory uses <home>/history.sqlite; this one starts empty
    assert.equal(await opened!.count(), 0);
    await opened!.close();

    const store = new SqliteHistoryStore(path);
    const events = new AppEvents();
    const forever = new HistoryRecorder({ store, events, retentionDays: 0, log: quiet }).start();
    await forever.idle();
    assert.equal(await store.count(), 2);
    await forever.stop();
    const month = new HistoryRecorder({ store, events, retentionDays: 30, log: quiet }).start();
    await month.idle();
    assert.deepEqual(
      (await store.search()).items.map((e) => e.text),
      ['last week'],
    );
    await month.stop();
    await store.close();
  });

  it('keeps the server running when the history file cannot be opened', async () => {
    const home = join(dir, 'broken');
    // a folder where the file should be: nothing SQLite can open (a damaged file is moved aside instead: open-faults.test.ts)
    await import('node:fs/promises').then((fs) => fs.mkdir(join(home, 'history.sqlite'), { recursive: true }));
    const errors: string[] = [];
    const opened = openHistory(home, { ...quiet, error: (_o: unknown, msg?: string) => errors.push(msg ?? '') });
    assert.equal(opened, undefined);
    assert.match(errors[0]!, /history disabled/);
  });
});
