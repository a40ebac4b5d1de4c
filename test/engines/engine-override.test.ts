// A request's `engine` field: the same Whisper model on whisper.cpp or CTranslate2, chosen per request
// on /transcribe and the OpenAI route, validated against what the server can run. Real server, real
// model (base keeps its CTranslate2 weights beside the ggml file), real speech, the official SDK.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { readFileSync } from 'node:fs';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clip = pocketsphinxClips().find((c) => c.set === 'librivox')!;

describe('per-request engine override', () => {
  let server: TestServer;
  before(async () => {
    // whisper.cpp configured, so an override to CTranslate2 is a real change of engine
    server = await startServer({ model: 'base', env: { EARSHOT_ENGINE: 'whisper' } });
  });
  after(async () => server?.stop());

  const transcribe = async (fields: Record<string, string>) => {
    const res = await postForm(`${server.url}/transcribe`, { fileField: 'audio', file: fileBlob(clip.path), fields: { language: 'en', ...fields } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('engine=ct2 runs the model on CTranslate2, engine=whisper and no field on whisper.cpp', async () => {
    const ct2 = await transcribe({ engine: 'ct2' });
    assert.equal(ct2.status, 200, JSON.stringify(ct2.body));
    assert.equal(ct2.body.engine, 'ct2');
    assert.equal(ct2.body.model, 'base');
    assert.ok(werCount(clip.reference, ct2.body.text).errors <= 3, ct2.body.text);
    for (const fields of [{ engine: 'whisper' }, {}] as Array<Record<string, string>>) {
      const w = await transcribe(fields);
      assert.equal(w.status, 200, JSON.stringify(w.body));
      assert.equal(w.body.engine, 'whisper', JSON.stringify(fields));
      assert.ok(werCount(clip.reference, w.body.text).errors <= 3, w.body.text);
    }
    // the CTranslate2 copy is a model entry of its own beside the default, which stays on whisper.cpp
    const models = (await (await fetch(`${server.url}/`, { headers: { accept: 'application/json' } })).json()) as { engines: Array<Record<string, unknown>> };
    const rows = models.engines.map((e) => [e.id, e.kind, e.default]);
    assert.ok(
      rows.some(([id, kind, def]) => id === 'base' && kind === 'whisper' && def === true),
      JSON.stringify(rows),
    );
    assert.ok(
      rows.some(([id, kind]) => id === 'base@ct2' && kind === 'ct2'),
      JSON.stringify(rows),
    );
  });

  it('the query string works for raw audio uploads', async () => {
    const res = await fetch(`${server.url}/transcribe?engine=ct2&language=en`, {
      method: 'POST',
      headers: { 'content-type': 'audio/wav' },
      body: readFileSync(clip.path),
    });
    const body = (await res.json()) as Record<string, any>;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.engine, 'ct2');
  });

  it('an unknown engine is a 422 naming the choices; the server keeps serving', async () => {
    const bad = await transcribe({ engine: 'tensorrt' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.success, false);
    assert.equal(bad.body.error.code, 'invalid_parameter');
    assert.match(bad.body.error.message, /whisper, ct2/);
    assert.equal((await transcribe({})).status, 200);
  });

  it('a model of another family cannot be moved to a Whisper engine: 422 with the reason', async (t) => {
    const listed = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    if (!listed.data.some((m) => m.id === 'moonshine-tiny-en')) {
      // fetch:test-models installs it; its absence is a broken setup, not a pass
      assert.fail('moonshine-tiny-en is not installed: run npm run fetch:test-models');
    }
    const res = await transcribe({ engine: 'ct2', model: 'moonshine-tiny-en' });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'unsupported');
    assert.match(res.body.error.message, /sherpa/);
    t.diagnostic(res.body.error.message);
  });

  it('the OpenAI route takes engine as an extra form field (official SDK), and answers a bad one in its error shape', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
    const file = await toFile(readFileSync(clip.path), 'clip.wav');
    const r = await client.audio.transcriptions.create({ file, model: 'whisper-1', language: 'en', response_format: 'json', engine: 'ct2' } as never);
    assert.ok(werCount(clip.reference, (r as { text: string }).text).errors <= 3, JSON.stringify(r));
    await assert.rejects(
      client.audio.transcriptions.create({ file: await toFile(readFileSync(clip.path), 'clip.wav'), model: 'whisper-1', engine: 'onnx' } as never),
      (err: unknown) => err instanceof OpenAI.APIError && err.status === 400 && /engine must be one of/.test(err.message),
    );
  });
});
