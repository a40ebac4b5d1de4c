// Seed 004 on Earshot: one server with a CTC model (wav2vec2, Korean vocabulary) as the default and
// the `ko` route, Whisper base as the `en` route. lang=KR goes to the CTC model, lang=EN to Whisper,
// /health has seed 004's fields, translation is refused, and /ws streams partials and finals.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { importModel } from '../../src/models/import/index.js';
import { defaultHome, ModelStore } from '../../src/models/store.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { reference, tinyModel } from './fixture.js';

const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

interface Msg {
  type: string;
  [k: string]: unknown;
}

describe('seed 004 drop-in: CTC model routed by language beside Whisper', () => {
  let home: string;
  let server: TestServer;
  let folder: string;

  before(async () => {
    home = await mkdtemp(join(os.tmpdir(), 'earshot-seed004-'));
    const store = new ModelStore(home);
    await store.init();
    // Whisper base from the shared test store, the CTC model imported like a user's folder.
    await symlink(join(defaultHome(), 'models', 'base'), join(store.modelsDir, 'base'));
    folder = await tinyModel('large');
    await importModel(folder, { store, id: 'w2v-ko' });
    const config = join(home, 'config.json');
    await writeFile(config, JSON.stringify({ languages: { ko: { model: 'w2v-ko' }, en: { model: 'base' } } }));
    await mkdir(join(home, 'history'), { recursive: true });
    server = await startServer({ model: 'w2v-ko', args: ['--config', config, '--threads', '1'], env: { EARSHOT_HOME: home } });
  });
  after(async () => {
    await server?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('/health answers with seed 004 fields for the CTC model', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.status, 'ok');
    assert.equal(body.model_loaded, true);
    assert.equal(body.processor_loaded, true);
    assert.equal(body.device, 'cpu');
    assert.equal(body.model_id, 'w2v-ko');
    assert.equal(body.engine, 'ctc');
  });

  it('lang=KR goes to the CTC model (text as transformers decodes it), lang=EN to Whisper', async () => {
    const clip = clips[0]!;
    const ko = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { lang: 'KR' } });
    assert.equal(ko.status, 200);
    const kb = (await ko.json()) as Record<string, unknown>;
    assert.equal(kb.model, 'w2v-ko');
    assert.equal(kb.language, 'KR');
    const ref = await reference(folder, await loadClip(clip.path));
    assert.equal(kb.filtered, undefined, 'nothing filtered');
    assert.equal(squash(kb.text as string), squash(ref.pipeline.text));

    const en = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { lang: 'EN' } });
    assert.equal(en.status, 200);
    const eb = (await en.json()) as Record<string, unknown>;
    assert.equal(eb.model, 'base');
    assert.match((eb.text as string).toLowerCase(), /sense|marianne|elinor|\b(the|and)\b/);

    const health = (await (await fetch(`${server.url}/health`)).json()) as {
      languages: Record<string, { model_id: string; engine: string; model_loaded: boolean }>;
    };
    assert.deepEqual(health.languages.ko, { model_id: 'w2v-ko', engine: 'ctc', model_loaded: true, device: 'cpu' });
    assert.equal(health.languages.en!.engine, 'whisper');
    assert.equal(health.languages.en!.model_loaded, true);
  });

  it('verbose_json from the CTC model has word times and no invented Whisper scores', async () => {
    const res = await postForm(`${server.url}/v1/audio/transcriptions`, {
      file: fileBlob(clips[1]!.path),
      fields: { model: 'w2v-ko', language: 'ko', response_format: 'verbose_json', 'timestamp_granularities[]': ['word', 'segment'] },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { segments: Array<Record<string, unknown>>; words: Array<{ start: number; end: number }>; duration: number };
    assert.ok(body.segments.length > 0);
    for (const s of body.segments) {
      assert.equal('avg_logprob' in s, false);
      assert.equal('no_speech_prob' in s, false);
    }
    assert.ok(body.words.length > 0);
    for (const w of body.words) assert.ok(w.start <= w.end && w.end <= body.duration + 0.01);
  });

  it('refuses translation on the CTC model with 422', async () => {
    const seed = await postForm(`${server.url}/transcribe`, { file: fileBlob(clips[0]!.path), fields: { lang: 'KR', task: 'translate' } });
    assert.equal(seed.status, 422);
    const oa = await postForm(`${server.url}/v1/audio/translations`, { file: fileBlob(clips[0]!.path), fields: { model: 'w2v-ko' } });
    assert.equal(oa.status, 422);
  });

  it('/ws streams from the CTC model: partials from the growing utterance, then a final with word times', async () => {
    const speech = await loadClip(clips[3]!.path);
    const audio = new Float32Array(16000 + speech.length + 3 * 16000);
    audio.set(speech, 16000);
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
    const messages: Msg[] = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as Msg;
        messages.push(m);
        if (m.type === 'done') resolve();
        if (m.type === 'error') reject(new Error(JSON.stringify(m)));
      });
      ws.on('error', reject);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'config', language: 'ko', sample_rate: 16000, encoding: 'pcm_s16le', partials: true, enrich: false }));
    for (let i = 0; i < audio.length; i += 1600) {
      ws.send(float32ToS16le(audio.subarray(i, i + 1600)));
      await new Promise((r) => setTimeout(r, 50)); // 2× real time
    }
    ws.send(JSON.stringify({ type: 'stop' }));
    await done;
    ws.close();
    const ready = messages.find((m) => m.type === 'ready')!;
    assert.equal(ready.model, 'w2v-ko');
    const finals = messages.filter((m) => m.type === 'final');
    assert.ok(finals.length >= 1, JSON.stringify(messages.map((m) => m.type)));
    const first = finals[0]!;
    const partials = messages.filter((m) => m.type === 'partial' && m.utterance_id === first.utterance_id);
    assert.ok(partials.length >= 1, 'partials before the final');
    assert.ok(messages.indexOf(partials[0]!) < messages.indexOf(first));
    assert.ok((first.text as string).length > 0);
    const words = (first.words ?? []) as Array<{ start: number; end: number }>;
    assert.ok(words.length > 0);
    for (const w of words) assert.ok(w.start >= (first.start as number) - 0.01 && w.end <= (first.end as number) + 0.01, JSON.stringify({ w, first }));
  });
});
