// /v1/jobs on a single node (no Redis: the in-process queue) against a real server, real speech and the
// tiny.en model: uploads and URL sources, every response format, progress, webhooks (signed, retried),
// cancellation of running and queued jobs, per-key visibility and clear errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { finished, getJob, longSpeech, waitForJob, webhookReceiver, type JobJson } from '../helpers/jobs.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
const ALPHA = { authorization: 'Bearer sk-alpha-jobs-test' };
const BETA = { authorization: 'Bearer sk-beta-jobs-test' };
const SECRET = 'jobs-webhook-secret';

const wer = (ref: string, hyp: string) => {
  const c = werCount(ref, hyp);
  return c.errors / c.words;
};

describe('/v1/jobs on a single node (in-process queue)', () => {
  let server: TestServer;
  let files: Server;
  let filesUrl: string;
  let long: Buffer;

  before(async () => {
    server = await startServer({
      model: 'tiny.en',
      env: {
        EARSHOT_API_KEYS: 'sk-alpha-jobs-test,sk-beta-jobs-test',
        EARSHOT_JOBS_ALLOW_PRIVATE_NETWORKS: '1',
        EARSHOT_JOBS_WEBHOOK_SECRET: SECRET,
        EARSHOT_JOBS_CONCURRENCY: '1',
      },
    });
    // a plain file server: the URL source
    files = createServer((req, res) => {
      if (req.url !== '/clip.wav') {
        res.statusCode = 404;
        return res.end();
      }
      res.setHeader('content-type', 'audio/wav');
      res.setHeader('content-length', statSync(clip.path).size);
      createReadStream(clip.path).pipe(res);
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    long = (await longSpeech(150)).wav;
  });
  after(async () => {
    await server?.stop();
    await new Promise((r) => files?.close(r));
  });

  const submitUpload = async (body: Blob, fields: Record<string, string> = {}, headers = ALPHA) => {
    const res = await postForm(`${server.url}/v1/jobs`, { file: body, fields, headers });
    assert.equal(res.status, 202, await res.clone().text());
    assert.match(res.headers.get('location') ?? '', /^\/v1\/jobs\/[0-9a-f-]{36}$/);
    return (await res.json()) as JobJson;
  };

  it('an upload is queued (202), runs, and its result comes in every response format', async () => {
    const queued = await submitUpload(fileBlob(clip.path), { language: 'en' });
    assert.ok(['queued', 'running'].includes(queued.status));
    assert.equal(queued.result, null);
    const done = await waitForJob(server.url, queued.id, finished, { headers: ALPHA });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress, 1);
    assert.equal(done.attempts, 1);
    assert.equal(typeof done.node, 'string');
    assert.ok(Date.parse(done.created_at) <= Date.parse(done.started_at!) && Date.parse(done.started_at!) <= Date.parse(done.finished_at!));
    const text = (done.result as { text: string }).text;
    assert.ok(wer(clip.reference, text) <= 0.15, text);

    const verbose = await getJob(server.url, done.id, ALPHA, '?response_format=verbose_json');
    const v = verbose.result as { language: string; duration: number; segments: Array<{ start: number; end: number }> };
    assert.equal(v.language, 'english');
    assert.ok(v.duration > 6 && v.duration < 8, String(v.duration));
    assert.ok(v.segments.length > 0);
    const srt = await getJob(server.url, done.id, ALPHA, '?response_format=srt');
    assert.match(srt.result as string, /^1\n00:00:00,000 --> 00:00:0\d,\d{3}\n/);
    for (const [format, type, pattern] of [
      ['vtt', 'text/vtt', /^WEBVTT\n/],
      ['text', 'text/plain', /Dashwood/i],
      ['srt', 'application/x-subrip', /-->/],
    ] as const) {
      const res = await fetch(`${server.url}/v1/jobs/${done.id}/result?response_format=${format}`, { headers: ALPHA });
      assert.equal(res.status, 200);
      assert.ok(res.headers.get('content-type')!.startsWith(type));
      assert.match(await res.text(), pattern);
    }
    const list = (await (await fetch(`${server.url}/v1/jobs?limit=5`, { headers: ALPHA })).json()) as { object: string; data: JobJson[] };
    assert.equal(list.object, 'list');
    assert.ok(list.data.some((j) => j.id === done.id && j.status === 'completed'));
  });

  it('a JSON request with a URL source is fetched by the node and transcribed', async () => {
    const res = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...ALPHA, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${filesUrl}/clip.wav`, language: 'en', word_timestamps: true }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const job = (await res.json()) as JobJson;
    assert.deepEqual(job.source, { type: 'url', url: `${filesUrl}/clip.wav` });
    const done = await waitForJob(server.url, job.id, finished, { headers: ALPHA });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const verbose = await getJob(server.url, job.id, ALPHA, '?response_format=verbose_json');
    assert.ok(((verbose.result as { words: unknown[] }).words ?? []).length > 5, 'word timestamps were asked for');

    // a URL that answers 404 fails the job with the reason, not the server
    const missing = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...ALPHA, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${filesUrl}/nothing.wav` }),
    });
    const failed = await waitForJob(server.url, ((await missing.json()) as JobJson).id, finished, { headers: ALPHA });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'fetch_failed');
    assert.match(failed.error!.message, /404/);
  });

  it('the completion webhook is signed (Standard Webhooks) and retried until the receiver accepts it', async () => {
    const hook = await webhookReceiver([500]);
    try {
      const job = await submitUpload(fileBlob(clip.path), { webhook_url: hook.url });
      await waitForJob(server.url, job.id, finished, { headers: ALPHA });
      // the first delivery is refused (500), the retry a second later is accepted
      const deadline = Date.now() + 15_000;
      while (hook.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(hook.received.length, 2);
      for (const r of hook.received) {
        assert.equal(r.headers['webhook-id'], job.id);
        const ts = String(r.headers['webhook-timestamp']);
        const expected = createHmac('sha256', SECRET).update(`${job.id}.${ts}.${r.body}`).digest('base64');
        assert.equal(r.headers['webhook-signature'], `v1,${expected}`);
        const payload = JSON.parse(r.body) as { type: string; data: JobJson };
        assert.equal(payload.type, 'job.completed');
        assert.equal(payload.data.id, job.id);
        assert.ok(wer(clip.reference, (payload.data.result as { text: string }).text) <= 0.15);
      }
      assert.ok(hook.received[1]!.at - hook.received[0]!.at >= 900, 'backoff before the retry');
    } finally {
      await hook.close();
    }
  });

  it('cancels a running job (its decode stops) and a queued one (removed), and the node goes on working', async () => {
    const running = await submitUpload(new Blob([long], { type: 'audio/wav' }));
    const queued = await submitUpload(new Blob([long], { type: 'audio/wav' }));
    await waitForJob(server.url, running.id, (j) => j.status === 'running', { headers: ALPHA });
    assert.equal((await getJob(server.url, queued.id, ALPHA)).status, 'queued', 'one job at a time (jobs.concurrency=1)');

    const cancelQueued = await fetch(`${server.url}/v1/jobs/${queued.id}/cancel`, { method: 'POST', headers: ALPHA });
    assert.equal(cancelQueued.status, 200);
    assert.equal(((await cancelQueued.json()) as JobJson).status, 'cancelled');

    const started = Date.now();
    const cancelRunning = await fetch(`${server.url}/v1/jobs/${running.id}/cancel`, {
      method: 'POST',
      headers: { ...ALPHA, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(cancelRunning.status, 200);
    const after = (await cancelRunning.json()) as JobJson;
    assert.equal(after.status, 'cancelled');
    assert.ok(after.progress < 1);
    assert.ok(Date.now() - started < 10_000, 'the decode stopped instead of running to its end');
    assert.equal((await getJob(server.url, queued.id, ALPHA)).status, 'cancelled', 'the cancelled queued job never ran');

    // cancelling again: already ended; deleting: gone for good
    const again = await fetch(`${server.url}/v1/jobs/${running.id}/cancel`, { method: 'POST', headers: ALPHA });
    assert.equal(again.status, 409);
    const deleted = await fetch(`${server.url}/v1/jobs/${running.id}`, { method: 'DELETE', headers: ALPHA });
    assert.deepEqual(await deleted.json(), { id: running.id, object: 'transcription.job.deleted', deleted: true });
    assert.equal((await fetch(`${server.url}/v1/jobs/${running.id}`, { headers: ALPHA })).status, 404);
    // the worker is free and healthy
    const next = await submitUpload(fileBlob(clip.path));
    assert.equal((await waitForJob(server.url, next.id, finished, { headers: ALPHA })).status, 'completed');
  });

  it('a key sees its own jobs only; bad requests get OpenAI-shaped errors; bad audio fails the job, not the server', async () => {
    const mine = await submitUpload(fileBlob(clip.path));
    const other = await fetch(`${server.url}/v1/jobs/${mine.id}`, { headers: BETA });
    assert.equal(other.status, 404);
    const list = (await (await fetch(`${server.url}/v1/jobs`, { headers: BETA })).json()) as { data: JobJson[] };
    assert.ok(!list.data.some((j) => j.id === mine.id));
    assert.equal((await fetch(`${server.url}/v1/jobs`)).status, 401);

    const badFormat = await fetch(`${server.url}/v1/jobs/${mine.id}?response_format=docx`, { headers: ALPHA });
    assert.equal(badFormat.status, 400);
    const err = (await badFormat.json()) as { error: { type: string; code: string; param: string } };
    assert.equal(err.error.type, 'invalid_request_error');
    assert.equal(err.error.param, 'response_format');
    assert.equal((await fetch(`${server.url}/v1/jobs/00000000-0000-0000-0000-000000000000`, { headers: ALPHA })).status, 404);
    const noSource = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { ...ALPHA, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noSource.status, 400);
    const unknownModel = await postForm(`${server.url}/v1/jobs`, { file: fileBlob(clip.path), fields: { model: 'no-such-model-xyz' }, headers: ALPHA });
    assert.equal(unknownModel.status, 404);
    assert.equal(((await unknownModel.json()) as { error: { code: string } }).error.code, 'model_not_found');
    const s3 = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...ALPHA, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 's3://someone-elses-bucket/a.wav' }),
    });
    assert.equal(s3.status, 400);
    assert.match(((await s3.json()) as { error: { message: string } }).error.message, /jobs\.s3SourceBuckets/);

    const notAudio = await submitUpload(new Blob([readFileSync(new URL(import.meta.url))], { type: 'audio/wav' }));
    const failed = await waitForJob(server.url, notAudio.id, finished, { headers: ALPHA });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'undecodable_audio');
    const notCompleted = await fetch(`${server.url}/v1/jobs/${notAudio.id}/result`, { headers: ALPHA });
    assert.equal(notCompleted.status, 409);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});
