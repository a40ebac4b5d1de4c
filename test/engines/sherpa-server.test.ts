// Moonshine base-en (sherpa-onnx engine, real weights from npm run fetch:test-models) behind a real
// server: the seed /transcribe route, the OpenAI routes through the official SDK, and /ws with the
// `ws` client, on real speech (pocketsphinx-testdata). Also: SIGKILL of the sherpa worker
// mid-request fails that request only, and what Moonshine cannot do is refused clearly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { encodeWav, float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'moonshine-base-en';
const RATE = 16000;
const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
const clip = clips.find((c) => c.id.endsWith('0870'))!;

function wer(reference: string, hypothesis: string): number {
  const c = werCount(reference, hypothesis);
  return c.errors / c.words;
}

/** pids of the sherpa worker processes under the server */
function sherpaWorkers(serverPid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(serverPid), '-f', 'sherpa/worker-main'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU ticks a process has used (utime + stime from /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

describe('Moonshine through the server', { timeout: 600_000 }, () => {
  let server: TestServer;
  let client: OpenAI;
  before(async () => {
    // live sessions on the same Moonshine model (model.live auto would route English to tiny-en first):
    // one sherpa worker under the server, and /ws exercises the model under test
    server = await startServer({ model: MODEL, env: { EARSHOT_ENRICH: 'false', EARSHOT_LIVE_MODEL: MODEL } });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 300_000 });
  });
  after(async () => server?.stop());

  it('POST /transcribe (seed API) answers the Moonshine transcript', async () => {
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en' } });
    const body = (await res.json()) as { success: boolean; text: string; model: string; language: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model, MODEL);
    assert.ok(wer(clip.reference, body.text) <= 0.15, body.text);
  });

  it('OpenAI transcriptions (json, verbose_json without invented statistics); translations refused with 422', async () => {
    const json = await client.audio.transcriptions.create({ file: createReadStream(clip.path), model: MODEL });
    assert.ok(wer(clip.reference, json.text) <= 0.15, json.text);
    const v = await client.audio.transcriptions.create({ file: createReadStream(clip.path), model: MODEL, response_format: 'verbose_json' });
    assert.equal(v.language, 'english');
    assert.ok(v.segments && v.segments.length >= 1);
    for (const s of v.segments!) {
      assert.equal(s.avg_logprob, undefined, 'Moonshine has no avg_logprob; none is made up');
      assert.equal(s.no_speech_prob, undefined);
      assert.ok(s.end > s.start);
    }
    await assert.rejects(client.audio.translations.create({ file: createReadStream(clip.path), model: MODEL }), (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(e.status, 422, e.message);
      assert.match(e.message, /translate/);
      return true;
    });
    await assert.rejects(
      client.audio.transcriptions.create({ file: createReadStream(clip.path), model: MODEL, language: 'ko' }),
      (e: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(e.status, 422, e.message);
        return true;
      },
    );
  });

  it('/ws streams real speech to Moonshine finals', async () => {
    const speech = await loadClip(clip.path);
    const audio = new Float32Array(speech.length + RATE * 3);
    audio.set(speech, RATE);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    const messages: Array<Record<string, unknown>> = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as Record<string, unknown>;
        messages.push(m);
        if (m.type === 'done') resolve();
        if (m.type === 'error') reject(new Error(JSON.stringify(m)));
      });
      ws.on('error', reject);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: RATE, encoding: 'pcm_s16le', partials: true, enrich: false }));
    for (let i = 0; i < audio.length; i += RATE / 10) ws.send(float32ToS16le(audio.subarray(i, i + RATE / 10)));
    ws.send(JSON.stringify({ type: 'stop' }));
    await done;
    ws.close();
    const ready = messages.find((m) => m.type === 'ready')!;
    assert.equal(ready.model, MODEL);
    const text = messages
      .filter((m) => m.type === 'final')
      .map((m) => m.text as string)
      .join(' ');
    assert.ok(wer(clip.reference, text) <= 0.15, text);
  });

  it('SIGKILL of the sherpa worker mid-request fails that request cleanly; the next one succeeds', async () => {
    const [pid] = sherpaWorkers(server.pid);
    assert.ok(pid, 'a sherpa worker runs under the server');
    // A minute of speech keeps the worker busy long enough to be killed inside the decode.
    const long = new Float32Array(RATE * 60);
    for (let i = 0; i < 6; i++) long.set(await loadClip(clips[i % clips.length]!.path), i * RATE * 10);
    const before = cpuTicks(pid!);
    const pending = postForm(`${server.url}/transcribe`, { file: new Blob([encodeWav(long)], { type: 'audio/wav' }), fields: { language: 'en' } });
    // The worker is decoding once it has burnt CPU time on this request.
    while (cpuTicks(pid!) - before < 30) await new Promise((r) => setTimeout(r, 20));
    process.kill(pid!, 'SIGKILL');
    const res = await pending;
    const body = (await res.json()) as { success: boolean; error?: { code: string } };
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.error?.code, 'worker_crashed');
    const next = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en' } });
    const nextBody = (await next.json()) as { text: string };
    assert.equal(next.status, 200);
    assert.ok(wer(clip.reference, nextBody.text) <= 0.15, nextBody.text);
    const after = sherpaWorkers(server.pid);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], pid, 'the pool replaced the dead worker');
  });
});
