// Model administration on a running server: hot swap under load, clear state when no model can be had.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0880'))!;

describe('model administration', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ model: 'base' });
  });
  after(async () => server?.stop());

  it('swaps the default model under load with zero failed requests', async () => {
    let stop = false;
    const results: Array<{ status: number; model?: string; text?: string }> = [];
    const loop = async () => {
      while (!stop) {
        const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en' } });
        const body = (await res.json()) as { model?: string; text?: string };
        results.push({ status: res.status, model: body.model, text: body.text });
      }
    };
    const loops = [loop(), loop()];
    await new Promise((r) => setTimeout(r, 500));
    const load = await fetch(`${server.url}/api/models/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'base-q8_0' }),
    });
    assert.equal(load.status, 202);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, any>;
      if (health.model_id === 'base-q8_0') break;
      assert.ok(Date.now() < deadline, 'swap did not finish in time');
      await new Promise((r) => setTimeout(r, 300));
    }
    // Let a few requests run on the new model, then stop.
    const seen = results.length;
    while (results.length < seen + 2) await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(loops);
    assert.ok(results.length >= 4);
    for (const r of results) {
      assert.equal(r.status, 200, JSON.stringify(r));
      const c = werCount(clip.reference, r.text ?? '');
      assert.ok(c.errors <= 1, r.text);
    }
    const models = new Set(results.map((r) => r.model));
    assert.ok(models.has('base') && models.has('base-q8_0'), [...models].join(','));
    const list = (await (await fetch(`${server.url}/api/models`)).json()) as Record<string, any>;
    assert.equal(list.default, 'base-q8_0');
    assert.ok(list.installed.some((m: { id: string }) => m.id === 'base'));
  });

  it('refuses to load what cannot be found', async () => {
    const res = await fetch(`${server.url}/api/models/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'no-such-model' }),
    });
    assert.equal(res.status, 404);
    const bad = await fetch(`${server.url}/api/models/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"source": ' });
    assert.equal(bad.status, 400);
  });
});

describe('server without a usable model', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ model: 'no-such-model', waitFor: 'listening' });
  });
  after(async () => server?.stop());

  it('stays up, reports the error on /health and says how to get a model', async () => {
    let health: { status: string; model_loaded: boolean; error?: string } | undefined;
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${server.url}/health`);
      health = (await res.json()) as typeof health;
      assert.equal(res.status, 503);
      if (health!.status === 'error') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(health!.status, 'error');
    assert.equal(health!.model_loaded, false);
    assert.match(health!.error ?? '', /no-such-model/);
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path) });
    assert.equal(res.status, 503);
    const body = (await res.json()) as { success: boolean; error: { code: string } };
    assert.equal(body.error.code, 'model_load_failed');
    assert.match(server.output(), /earshot models pull|fetch:test-models/);
  });
});
