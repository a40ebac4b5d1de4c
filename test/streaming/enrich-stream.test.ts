// Enrichment never slows transcription: with an LLM that takes 5 s per answer, finals still arrive
// right after their decode, and keywords follow on their own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { loadClip, fileBlob, postForm } from '../helpers/audio.js';
import { FakeLlm } from '../helpers/fake-llm.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertServerMessage } from '../helpers/ws-schema.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;

describe('enrichment alongside streaming', () => {
  let llm: FakeLlm;
  let server: TestServer;
  before(async () => {
    llm = await FakeLlm.start({ models: ['Qwen/Qwen2.5-7B-Instruct'] });
    llm.respondWith((req) => {
      const text = req.text ?? '';
      const keywords = [
        ...(text.includes('Dashwood') ? [{ text: 'John Dashwood', category: 'person' }] : []),
        ...(text.includes('power') ? [{ text: 'power', category: 'topic' }] : []),
      ];
      return { kind: 'answer', content: JSON.stringify({ keywords, categories: [...new Set(keywords.map((k) => k.category))] }), delayMs: 5000 };
    });
    server = await startServer({ env: { EARSHOT_LLM_URL: llm.url, EARSHOT_LLM_TIMEOUT_MS: '20000' } });
  });
  after(async () => {
    await server?.stop();
    await llm?.close();
  });

  it('sends the final without waiting for the LLM, then keywords from it', async () => {
    const audio = await loadClip(clip.path);
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
    const got: Array<{ at: number; msg: Record<string, unknown> }> = [];
    const done = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as Record<string, unknown>;
      assertServerMessage(msg);
      got.push({ at: Date.now(), msg });
      if (msg.type === 'keywords') ws.close();
    });
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ type: 'config', language: 'en', partials: false, enrich: true }));
    ws.send(float32ToS16le(new Float32Array(16000)));
    ws.send(float32ToS16le(audio));
    ws.send(float32ToS16le(new Float32Array(32000)));
    ws.send(JSON.stringify({ type: 'flush' }));
    await done;
    const final = got.find((g) => g.msg.type === 'final');
    const keywords = got.find((g) => g.msg.type === 'keywords');
    assert.ok(final, JSON.stringify(got.map((g) => g.msg.type)));
    assert.ok(keywords, 'keywords message');
    assert.ok(got.indexOf(final) < got.indexOf(keywords), 'final first');
    // The LLM holds its answer 5 s: the keywords trail the final by about that, the final did not wait.
    assert.ok(keywords.at - final.at >= 4500, `keywords came ${keywords.at - final.at} ms after the final`);
    assert.equal(keywords.msg.utterance_id, final.msg.utterance_id);
    assert.equal(keywords.msg.source, 'llm');
    assert.deepEqual((keywords.msg.keywords as Array<{ text: string; category: string }>).map((k) => k.text).sort(), ['John Dashwood', 'power']);
  });

  it('adds keywords to /transcribe with enrich=true and reports the LLM in /health', async () => {
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en', enrich: 'true' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { text: string; keywords?: { keywords: Array<{ text: string }>; source: string } };
    assert.match(body.text, /Dashwood/);
    assert.equal(body.keywords?.source, 'llm');
    assert.ok(body.keywords!.keywords.some((k) => k.text === 'John Dashwood'));
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, any>;
    assert.equal(health.llm.configured, true);
    assert.equal(health.llm.reachable, true);
    assert.equal(health.llm.model, 'Qwen/Qwen2.5-7B-Instruct');
  });
});
