// The dashboard's server side without a browser: the monitor feed's protocol (events in order, the
// snapshot a late monitor gets), the history routes (paging, search, validation, delete, subtitles),
// retention at start, and a streamed utterance landing in the history with its keywords.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import WebSocket from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { SqliteHistoryStore } from '../../src/history/index.js';
import { loadClip } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { isolatedHome } from './browser.js';

const DAY = 24 * 3600 * 1000;
const clip = pocketsphinxClips().find((c) => c.id.endsWith('0880'))!; // "he was not an ill disposed young man"

type Json = Record<string, any>;

/** A WebSocket that queues what it receives, so a test can wait for a message of some type. */
class Client {
  readonly messages: Json[] = [];
  private waiters: Array<() => void> = [];
  readonly ws: WebSocket;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data, binary) => {
      if (binary) return;
      this.messages.push(JSON.parse(String(data)));
      for (const w of this.waiters.splice(0)) w();
    });
  }
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  async next(pred: (m: Json) => boolean, what: string, timeoutMs = 180_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} in ${JSON.stringify(this.messages).slice(0, 2000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }
}

describe('monitor feed and history API (real server)', { timeout: 600_000 }, () => {
  let dir: string;
  let server: TestServer;
  let wsBase: string;
  const now = Date.now();

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-api-'));
    const home = await isolatedHome(dir);
    // history written by an earlier run: 25 recent entries and one past the 30-day retention
    const seed = new SqliteHistoryStore(join(home, 'history.sqlite'));
    await seed.add({ kind: 'batch', source: 'rest', text: 'an entry from last year', createdAt: now - 400 * DAY });
    for (let i = 0; i < 25; i++) {
      await seed.add({
        kind: i % 2 ? 'batch' : 'stream',
        source: i % 2 ? 'rest' : 'ws',
        text: i === 7 ? 'the meeting moved to Seoul on Friday' : `routine note number ${i}`,
        language: 'en',
        sessionId: i % 2 ? undefined : 'old-session',
        start: i % 2 ? 0 : 10 + i,
        end: i % 2 ? 4 : 14 + i,
        segments: [{ start: i % 2 ? 0.5 : 10.5 + i, end: i % 2 ? 3.5 : 13.5 + i, text: `segment ${i}` }],
        keywords:
          i === 7
            ? [
                { text: 'Seoul', category: 'place' },
                { text: 'Friday', category: 'date' },
              ]
            : [],
        createdAt: now - (25 - i) * 60_000,
      });
    }
    await seed.close();
    // live sessions on Whisper base like the rest (model.live 'auto' would pick an installed Moonshine)
    server = await startServer({ env: { EARSHOT_HOME: home, EARSHOT_LIVE_MODEL: 'base' } });
    wsBase = server.url.replace('http', 'ws');
  });

  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  /** the seeded entry with exactly this text ("number 1" also finds "number 12" as a prefix) */
  const seeded = async (text: string): Promise<Json> =>
    (await get(`/api/history?page_size=100&q=${encodeURIComponent(text)}`)).body.items.find((e: Json) => e.text === text);

  it('pages and searches the history; retention removed the old entry at start', async () => {
    const all = await get('/api/history?page_size=10');
    assert.equal(all.status, 200);
    assert.equal(all.body.total, 25);
    assert.equal(all.body.pages, 3);
    assert.equal(all.body.items.length, 10);
    assert.equal(all.body.items[0].text, 'routine note number 24', 'newest first');
    assert.equal((await get('/api/history?page=3&page_size=10')).body.items.length, 5);
    assert.deepEqual((await get('/api/history?q=last+year')).body.items, []);

    const seoul = await get('/api/history?q=seoul');
    assert.equal(seoul.body.total, 1);
    const entry = seoul.body.items[0];
    assert.equal(entry.text, 'the meeting moved to Seoul on Friday');
    assert.deepEqual(entry.keywords, [
      { text: 'Seoul', category: 'place' },
      { text: 'Friday', category: 'date' },
    ]);
    assert.match(entry.created_at, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await get('/api/history?keyword=friday')).body.total, 1);
    assert.equal((await get('/api/history?category=place')).body.total, 1);
    assert.equal((await get('/api/history?session=old-session')).body.total, 13);
    assert.deepEqual((await get(`/api/history/${entry.id}`)).body, entry);
  });

  it('refuses bad parameters and unknown ids', async () => {
    for (const q of ['page_size=0', 'page_size=1000', 'page=0', 'page=abc']) {
      const r = await get(`/api/history?${q}`);
      assert.equal(r.status, 422, q);
      assert.equal(r.body.error.code, 'invalid_parameter');
    }
    for (const id of ['abc', '0', '99999', '1.5', '01']) assert.equal((await get(`/api/history/${id}`)).status, 404, id);
    const del = await fetch(`${server.url}/api/history/99999`, { method: 'DELETE' });
    assert.equal(del.status, 404);
  });

  it('deletes an entry', async () => {
    const { id } = await seeded('routine note number 3');
    const del = await fetch(`${server.url}/api/history/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.deepEqual(await del.json(), { success: true, id });
    assert.equal((await get(`/api/history/${id}`)).status, 404);
    assert.equal((await get('/api/history')).body.total, 24);
  });

  it('writes subtitles for an entry (stream times start at zero) and for posted segments', async () => {
    const stream = await seeded('routine note number 0');
    assert.equal(stream.kind, 'stream');
    const srt = await fetch(`${server.url}/api/history/${stream.id}/subtitles?format=srt`);
    assert.equal(srt.status, 200);
    assert.match(srt.headers.get('content-disposition')!, /attachment; filename="transcript-\d+\.srt"/);
    assert.equal(await srt.text(), '1\n00:00:00,500 --> 00:00:03,500\nsegment 0\n');
    const batch = await seeded('routine note number 1');
    const vtt = await (await fetch(`${server.url}/api/history/${batch.id}/subtitles?format=vtt`)).text();
    assert.match(vtt, /^WEBVTT\n\n00:00:00\.500 --> 00:00:03\.500\nsegment 1\n/);
    assert.equal((await fetch(`${server.url}/api/history/${batch.id}/subtitles?format=xml`)).status, 422);

    const posted = await fetch(`${server.url}/api/subtitles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        format: 'srt',
        segments: [
          { start: 0, end: 2.25, text: ' Hello there.' },
          { start: 2.5, end: 4, text: 'General Kenobi.' },
        ],
      }),
    });
    assert.equal(posted.status, 200);
    assert.match(posted.headers.get('content-type')!, /subrip/);
    assert.equal(await posted.text(), '1\n00:00:00,000 --> 00:00:02,250\nHello there.\n\n2\n00:00:02,500 --> 00:00:04,000\nGeneral Kenobi.\n');
    const bad = await fetch(`${server.url}/api/subtitles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'docx', segments: [] }),
    });
    assert.equal(bad.status, 422);
  });

  it('feeds a monitor every event of a stream in order; a late monitor gets them in its snapshot; the history keeps the final', async () => {
    const monitor = new Client(`${wsBase}/api/monitor`);
    await monitor.opened();
    const snapshot = await monitor.next((m) => m.type === 'snapshot', 'snapshot');
    assert.deepEqual(snapshot.sessions, []);

    const stream = new Client(`${wsBase}/ws`);
    await stream.opened();
    stream.ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: 16000, encoding: 'pcm_s16le' }));
    const ready = await stream.next((m) => m.type === 'ready', 'ready');
    const id = ready.session_id as string;
    const pcm = float32ToS16le(await loadClip(clip.path));
    const silence = Buffer.alloc(16000 * 2 * 2);
    for (const audio of [silence, pcm, silence]) for (let i = 0; i < audio.length; i += 3200) stream.ws.send(audio.subarray(i, i + 3200));
    stream.ws.send(JSON.stringify({ type: 'stop' }));
    await stream.next((m) => m.type === 'done', 'done');
    const final = await stream.next((m) => m.type === 'final', 'final');
    const { errors, words } = werCount(clip.reference, final.text);
    assert.ok(errors / words <= 0.2, final.text);

    // the monitor saw: session started, the final (same text), keywords, session ended — in that order
    const ended = await monitor.next((m) => m.type === 'session' && m.state === 'ended' && m.id === id, 'session ended');
    const mine = monitor.messages.filter((m) => m.id === id || m.session_id === id);
    const order = mine.map((m) => (m.type === 'session' ? `session:${m.state}` : m.type)).filter((t) => t !== 'partial');
    assert.equal(order[0], 'session:started');
    assert.ok(order.indexOf('final') > 0 && order.indexOf('final') < order.indexOf('session:ended'), order.join(' '));
    const seenFinal = mine.find((m) => m.type === 'final')!;
    assert.equal(seenFinal.text, final.text);
    assert.equal(seenFinal.utterance_id, final.utterance_id);
    assert.equal(ended.model, 'base');
    const keywords = await monitor.next((m) => m.type === 'keywords' && m.session_id === id, 'keywords');
    assert.ok(keywords.keywords.length > 0);
    monitor.messages.length = 0; // the next status, not one from before the stream
    const status = await monitor.next((m) => m.type === 'status', 'status');
    assert.equal(status.model, 'base');
    assert.ok(status.filter.checked >= 1);
    monitor.ws.close();

    // a monitor opened afterwards finds the ended session's text in its snapshot
    const late = new Client(`${wsBase}/api/monitor`);
    await late.opened();
    const lateSnapshot = await late.next((m) => m.type === 'snapshot', 'snapshot');
    late.ws.close();
    const session = lateSnapshot.sessions.find((s: Json) => s.id === id);
    assert.equal(session.state, 'ended');
    assert.equal(session.utterances[0].final.text, final.text);
    assert.deepEqual(session.utterances[0].keywords.keywords, keywords.keywords);

    // the history has the utterance, with the keywords that came after it
    const recorded = (await get(`/api/history?session=${id}`)).body;
    assert.equal(recorded.total, 1);
    assert.equal(recorded.items[0].text, final.text.trim());
    assert.equal(recorded.items[0].source, 'ws');
    assert.equal(recorded.items[0].model, 'base');
    assert.deepEqual(
      recorded.items[0].keywords,
      keywords.keywords.map((k: Json) => ({ text: k.text, category: k.category })),
    );
  });

  it('answers /api/stats with the same status', async () => {
    const { status, body } = await get('/api/stats');
    assert.equal(status, 200);
    assert.equal(body.model, 'base');
    assert.equal(body.device, 'cpu');
    assert.equal(body.history.enabled, true);
    assert.equal(body.history.entries, 25);
    assert.equal(body.sessions.active, 0);
    assert.ok(body.queue.workers >= 1);
    assert.equal(typeof body.system.memory.process_rss, 'number');
  });
});
