// Enrichment rules hold on every interface, against a real server, the real model and a real
// OpenAI-compatible HTTP server standing in for the LLM (counting what it is asked):
// one LLM call per final or transcription (history on or off), the same keywords shape on /ws,
// /transcribe and the OpenAI routes, and EARSHOT_ENRICH=false switching it off everywhere.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import WebSocket from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { earshotHome } from '../../src/config/env.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { FakeLlm } from '../helpers/fake-llm.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertServerMessage } from '../helpers/ws-schema.js';

type Json = Record<string, any>;
const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
const KEYWORD_KEYS = ['categories', 'fallback_reason', 'keywords', 'latency_ms', 'model', 'source', 'status'];

/** A home of its own (fresh history) that shares the installed models. */
function privateHome(): { home: string; cleanup(): void } {
  const home = mkdtempSync(join(os.tmpdir(), 'earshot-enrich-once-'));
  mkdirSync(home, { recursive: true });
  symlinkSync(join(earshotHome(), 'models'), join(home, 'models'));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

function keywordLlm(llm: FakeLlm): void {
  llm.respondWith((req) => {
    const text = req.text ?? '';
    const keywords = text.includes('Dashwood') ? [{ text: 'John Dashwood', category: 'person' }] : [];
    return { kind: 'answer', content: JSON.stringify({ keywords, categories: keywords.map((k) => k.category) }) };
  });
}

/**
 * Streams the clip over /ws at full speed and collects every message until the server closes.
 * With `waitForKeywords`, stop is sent once every final so far has its keywords (they trail the final).
 */
async function streamClip(server: TestServer, waitForKeywords: boolean): Promise<Json[]> {
  const audio = await loadClip(clip.path);
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const got: Json[] = [];
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  const count = (type: string) => got.filter((m) => m.type === type).length;
  ws.on('message', (d) => {
    const msg = JSON.parse(d.toString()) as Json;
    assertServerMessage(msg);
    got.push(msg);
    if (waitForKeywords && msg.type === 'keywords' && count('keywords') === count('final')) ws.send(JSON.stringify({ type: 'stop' }));
  });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'config', language: 'en' }));
  ws.send(float32ToS16le(audio));
  ws.send(JSON.stringify({ type: waitForKeywords ? 'flush' : 'stop' }));
  await closed;
  return got;
}

async function history(server: TestServer): Promise<Json[]> {
  return ((await (await fetch(`${server.url}/api/history?page_size=50`)).json()) as Json).items;
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('enrichment on: once per result, one shape everywhere', () => {
  let llm: FakeLlm;
  let server: TestServer;
  let home: ReturnType<typeof privateHome>;
  before(async () => {
    llm = await FakeLlm.start({ models: ['Qwen/Qwen2.5-7B-Instruct'] });
    keywordLlm(llm);
    home = privateHome();
    server = await startServer({ env: { EARSHOT_HOME: home.home, EARSHOT_LLM_URL: llm.url } });
  });
  after(async () => {
    await server?.stop();
    await llm?.close();
    home?.cleanup();
  });

  it('/transcribe with enrich=true and history on asks the LLM once and answers the shared shape', async () => {
    const before = llm.generations.length;
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en', enrich: 'true' } });
    const body = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body.keywords).sort(), KEYWORD_KEYS);
    assert.equal(body.keywords.source, 'llm');
    assert.deepEqual(
      body.keywords.keywords.map((k: Json) => k.text),
      ['John Dashwood'],
    );
    // the history entry gets the same keywords without a second call
    const entry = await until(async () => (await history(server)).find((e) => e.kind === 'batch' && e.keywords.length > 0), 'history keywords');
    assert.deepEqual(entry.keywords, [{ text: 'John Dashwood', category: 'person' }]);
    assert.equal(llm.generations.length - before, 1, 'one LLM call for the transcription');
  });

  it('/transcribe without enrich still gives the history its keywords, from one call', async () => {
    const before = llm.generations.length;
    const known = new Set((await history(server)).map((e) => e.id));
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en' } });
    const body = (await res.json()) as Json;
    assert.equal(body.keywords, undefined, 'not asked for, not in the answer');
    await until(async () => (await history(server)).find((e) => !known.has(e.id) && e.keywords.length > 0), 'history keywords');
    assert.equal(llm.generations.length - before, 1);
  });

  it('the OpenAI route answers the same keywords shape', async () => {
    const before = llm.generations.length;
    const res = await postForm(`${server.url}/v1/audio/transcriptions`, { file: fileBlob(clip.path), fields: { language: 'en', enrich: 'true' } });
    const body = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body.keywords).sort(), KEYWORD_KEYS);
    assert.equal(llm.generations.length - before, 1);
  });

  it('/ws: one LLM call per final, keywords in the same shape, recorded in the history', async () => {
    const before = llm.generations.length;
    const got = await streamClip(server, true);
    const finals = got.filter((m) => m.type === 'final');
    const keywords = got.filter((m) => m.type === 'keywords');
    assert.ok(finals.length >= 1 && keywords.length >= 1, JSON.stringify(got.map((m) => m.type)));
    const { type: _type, utterance_id: _u, ...shape } = keywords[0]!;
    assert.deepEqual(Object.keys(shape).sort(), KEYWORD_KEYS);
    // every final's keywords land in the history; the history itself never asks the LLM
    const recorded = await until(async () => {
      const stream = (await history(server)).filter((e) => e.kind === 'stream');
      return stream.length === finals.length && stream.every((e) => e.keywords.length > 0) ? stream : undefined;
    }, 'stream entries with keywords');
    assert.equal(recorded.length, finals.length);
    assert.equal(llm.generations.length - before, finals.length, 'one LLM call per final');
  });
});

describe('EARSHOT_ENRICH=false turns enrichment off everywhere', () => {
  let llm: FakeLlm;
  let server: TestServer;
  let home: ReturnType<typeof privateHome>;
  before(async () => {
    llm = await FakeLlm.start({ models: ['Qwen/Qwen2.5-7B-Instruct'] });
    keywordLlm(llm);
    home = privateHome();
    server = await startServer({ env: { EARSHOT_HOME: home.home, EARSHOT_LLM_URL: llm.url, EARSHOT_ENRICH: 'false' } });
  });
  after(async () => {
    await server?.stop();
    await llm?.close();
    home?.cleanup();
  });

  it('no keywords on /transcribe, the OpenAI route or /ws, and the LLM is never asked', async () => {
    const rest = (await (await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en', enrich: 'true' } })).json()) as Json;
    assert.ok(rest.text.length > 0);
    assert.equal(rest.keywords, undefined);
    const openai = (await (await postForm(`${server.url}/v1/audio/transcriptions`, { file: fileBlob(clip.path), fields: { enrich: 'true' } })).json()) as Json;
    assert.equal(openai.keywords, undefined);
    const got = await streamClip(server, false);
    assert.equal(got.find((m) => m.type === 'ready')?.enrich, false);
    assert.ok(got.some((m) => m.type === 'final'));
    assert.equal(got.filter((m) => m.type === 'keywords').length, 0);
    assert.equal(llm.generations.length, 0);
  });
});
