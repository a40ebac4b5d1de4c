// /metrics after real traffic (seed upload, OpenAI SDK, a live stream, an LLM enrichment), read with a
// Prometheus text-format parser; the values must match what was sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { getMetricsFromIterator, type PromHistogramData, type PromMetrics } from 'prom2javascript';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { freePort } from '../../src/util/free-port.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { FakeLlm } from '../helpers/fake-llm.js';
import { connectLive, sendAudio } from '../helpers/live.js';
import { startServer, type TestServer } from '../helpers/server.js';

type Sample = { labels: Record<string, string>; value?: number } & Partial<Omit<PromHistogramData, 'labels'>>;

const clips = pocketsphinxClips();
const seedClip = clips.find((c) => c.id.endsWith('0870'))!;
const openAiClip = clips.find((c) => c.id.endsWith('0880'))!;
const liveClip = clips.find((c) => c.id.endsWith('0920'))!;

/** GET /metrics, read by a Prometheus text-format parser. */
async function scrape(url: string, headers: Record<string, string> = {}): Promise<PromMetrics> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  // prom-client writes NaN as "Nan" (Prometheus reads any case), and this parser's grammar has no NaN at
  // all. Only Node's own default gauges are NaN (event-loop lag before its first sample); those lines are
  // set aside, after checking that no earshot_ sample is among them.
  const lines = (await res.text()).split('\n');
  const nan = lines.filter((l) => !l.startsWith('#') && /\sNan$/i.test(l));
  assert.deepEqual(
    nan.filter((l) => l.startsWith('earshot_')),
    [],
    'no earshot_ metric is NaN',
  );
  return getMetricsFromIterator(lines.filter((l) => !nan.includes(l))[Symbol.iterator]());
}

/** The samples of a family whose labels include `labels`. */
function pick(families: PromMetrics, name: string, labels: Record<string, string> = {}): Sample[] {
  const f = families[name];
  assert.ok(f, `metric ${name} missing`);
  return (f.data as Sample[]).filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
}
const sum = (samples: Sample[], field: 'value' | 'count' | 'sum' = 'value') => samples.reduce((n, s) => n + Number(s[field] ?? 0), 0);

describe('Prometheus /metrics after real traffic', () => {
  let server: TestServer;
  let llm: FakeLlm;
  before(async () => {
    llm = await FakeLlm.start({ models: ['Qwen/Qwen2.5-7B-Instruct'] });
    llm.respondWith(() => ({ kind: 'answer', content: JSON.stringify({ keywords: [{ text: 'kitchen', category: 'place' }], categories: ['place'] }) }));
    // the live model pinned to Whisper base (as the /ws tests do): every job is counted under one model
    server = await startServer({ env: { EARSHOT_LLM_URL: llm.url, EARSHOT_LLM_TIMEOUT_MS: '20000', EARSHOT_LIVE_MODEL: 'base' } });
  });
  after(async () => {
    await server?.stop();
    await llm?.close();
  });

  it('counts requests, audio seconds, engine jobs, live sessions and LLM calls as they happened', async () => {
    const seedSeconds = (await loadClip(seedClip.path)).length / 16000;
    const openAiSeconds = (await loadClip(openAiClip.path)).length / 16000;
    const live = await loadClip(liveClip.path);

    const seed = await postForm(`${server.url}/transcribe`, { fileField: 'audio', file: fileBlob(seedClip.path), fields: { language: 'en' } });
    assert.equal(seed.status, 200);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await client.audio.transcriptions.create({ file: createReadStream(openAiClip.path), model: 'whisper-1', language: 'en' });
    const missing = await fetch(`${server.url}/api/history/999999`);
    assert.equal(missing.status, 404);

    const c = await connectLive(`${server.url.replace('http', 'ws')}/ws`);
    c.ws.send(JSON.stringify({ type: 'config', language: 'en', partials: true, enrich: false }));
    await c.next('ready');
    await sendAudio(c.ws, new Float32Array(8000));
    await sendAudio(c.ws, live, 4);
    await sendAudio(c.ws, new Float32Array(32000));
    c.ws.send(JSON.stringify({ type: 'stop' }));
    await c.next('done', 120_000);
    await c.closed;
    const finals = c.messages.filter((m) => m.type === 'final');
    assert.ok(finals.length >= 1);
    const liveSpeech = finals.reduce((n, f) => n + Number(f.end) - Number(f.start), 0);

    const enrich = await fetch(`${server.url}/api/enrich`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'we met in the kitchen', language: 'en' }),
    });
    assert.equal(enrich.status, 200);

    const m = await scrape(server.url);
    // HTTP: by route pattern and status; latency histogram counts the same requests
    assert.equal(sum(pick(m, 'earshot_http_requests_total', { route: '/transcribe', status: '200', method: 'POST' })), 1);
    assert.equal(sum(pick(m, 'earshot_http_requests_total', { route: '/v1/audio/transcriptions', status: '200' })), 1);
    assert.equal(sum(pick(m, 'earshot_http_requests_total', { route: '/api/history/:id', status: '404' })), 1, 'the route pattern, not the raw URL');
    assert.equal(sum(pick(m, 'earshot_http_request_duration_seconds', { route: '/transcribe' }), 'count'), 1);
    assert.equal(m.earshot_http_request_duration_seconds!.type, 'histogram');

    // audio seconds: batch exactly what was uploaded; live what the finals covered
    const batch = sum(pick(m, 'earshot_audio_seconds_total', { mode: 'batch', engine: 'whisper', model: 'base' }));
    assert.ok(Math.abs(batch - (seedSeconds + openAiSeconds)) < 0.01, `batch audio ${batch} s vs ${seedSeconds + openAiSeconds} s sent`);
    const liveSeconds = sum(pick(m, 'earshot_audio_seconds_total', { mode: 'live' }));
    assert.ok(Math.abs(liveSeconds - liveSpeech) < 0.01, `live audio ${liveSeconds} s vs finals covering ${liveSpeech} s`);
    assert.ok(liveSeconds <= live.length / 16000 + 1);

    // engine: every job counted once, its queue wait and real-time factor observed
    const jobsOk = sum(pick(m, 'earshot_engine_jobs_total', { outcome: 'ok', model: 'base' }));
    assert.ok(jobsOk >= 2 + finals.length, `${jobsOk} jobs`);
    const jobsAll = sum(pick(m, 'earshot_engine_jobs_total', { model: 'base' }));
    assert.equal(sum(pick(m, 'earshot_engine_queue_wait_seconds', { model: 'base' }), 'count'), jobsAll);
    assert.equal(sum(pick(m, 'earshot_realtime_factor', { model: 'base' }), 'count'), jobsOk);
    assert.equal(sum(pick(m, 'earshot_engine_workers', { model: 'base' })), 1);
    assert.equal(sum(pick(m, 'earshot_engine_queue_depth', { model: 'base' })), 0);
    assert.equal(sum(pick(m, 'earshot_engine_worker_restarts_total')), 0);
    assert.equal(sum(pick(m, 'earshot_model_loads_total', { model: 'base', outcome: 'ok' })), 1);
    assert.equal(sum(pick(m, 'earshot_model_load_duration_seconds', { model: 'base' }), 'count'), 1);
    assert.equal(sum(pick(m, 'earshot_models_loaded')), 1);

    // live: the session is over, each final's latency observed, partials counted
    assert.equal(sum(pick(m, 'earshot_live_sessions', { interface: 'ws' })), 0);
    assert.equal(sum(pick(m, 'earshot_final_latency_seconds', { interface: 'ws' }), 'count'), finals.length);
    const partialMessages = c.messages.filter((x) => x.type === 'partial').length;
    assert.ok(sum(pick(m, 'earshot_partial_decodes_total', { outcome: 'run' })) >= partialMessages);
    assert.ok(m.earshot_backpressure_dropped_audio_seconds_total);
    assert.ok(m.earshot_filter_drops_total);

    // every LLM call the fake LLM answered (the /api/enrich call; history also extracts keywords of the
    // batch transcriptions in the background), none failed
    const deadline = Date.now() + 30_000;
    let calls = sum(pick(await scrape(server.url), 'earshot_llm_request_duration_seconds'), 'count');
    const completions = () => llm.requests.filter((r) => r.method === 'POST').length;
    while (calls !== completions()) {
      assert.ok(Date.now() < deadline, `${calls} LLM calls counted, the LLM saw ${completions()}`);
      await new Promise((r) => setTimeout(r, 100));
      calls = sum(pick(await scrape(server.url), 'earshot_llm_request_duration_seconds'), 'count');
    }
    assert.ok(calls >= 1);
    assert.equal(sum(pick(m, 'earshot_llm_errors_total')), 0);

    // Node process metrics under their standard names
    assert.ok(sum(pick(m, 'process_cpu_seconds_total')) > 0);
    assert.ok(sum(pick(m, 'nodejs_heap_size_used_bytes')) > 0);
    for (const [name, f] of Object.entries(m)) {
      if (!name.startsWith('earshot_')) continue;
      assert.ok(f.help.length > 10, `${name} has help`);
      if (f.type === 'counter') assert.match(name, /_total$/);
      if (f.type === 'histogram') assert.match(name, /_seconds$|_factor$/);
    }
  });
});

describe('/metrics on its own port, behind its own key', () => {
  let server: TestServer;
  let metricsUrl: string;
  before(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}`;
    server = await startServer({
      model: 'no-such-model-for-metrics',
      args: ['--metrics-port', String(port), '--api-key', 'sk-api-0123456789'],
      env: { EARSHOT_METRICS_KEY: 'scrape-secret' },
      waitFor: 'listening',
    });
  });
  after(async () => server?.stop());

  it('serves /metrics only on the metrics port, only with the metrics key', async () => {
    assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer sk-api-0123456789' } })).status, 404);
    // the missing model's load fails in the background: wait for /health to say so
    const deadline = Date.now() + 60_000;
    while (((await (await fetch(`${server.url}/health`)).json()) as { status: string }).status !== 'error') {
      assert.ok(Date.now() < deadline, 'model load did not fail in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await fetch(`${metricsUrl}/metrics`)).status, 401);
    assert.equal(
      (await fetch(`${metricsUrl}/metrics`, { headers: { authorization: 'Bearer sk-api-0123456789' } })).status,
      401,
      'an API key does not open metrics',
    );
    const m = await scrape(metricsUrl, { authorization: 'Bearer scrape-secret' });
    assert.equal(sum(pick(m, 'earshot_model_loads_total', { outcome: 'error' })), 1, 'the failed load of the missing model is counted');
    assert.equal(sum(pick(m, 'earshot_models_loaded')), 0);
  });
});
