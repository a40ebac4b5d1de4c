// A client that hangs up mid-transcription cancels its decode in the engine (issue 20): the worker is
// idle again within a couple of seconds instead of decoding audio nobody will read.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { wavBytes } from '../helpers/audio.js';
import { longSpeechWav } from '../helpers/live.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface Health {
  busy?: number;
  queued?: number;
  worker_restarts?: number;
}

const health = async (server: TestServer): Promise<Health> => (await fetch(`${server.url}/health`)).json() as Promise<Health>;

/** Polls /health until `pred` holds; returns the time it took. */
async function waitHealth(server: TestServer, pred: (h: Health) => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (pred(await health(server))) return performance.now() - started;
    assert.ok(performance.now() - started < timeoutMs, `condition not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts an upload, waits until the engine runs it, then destroys the connection. */
async function uploadAndHangUp(server: TestServer, path: string, body: Buffer, contentType: string): Promise<void> {
  const req = httpRequest(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, 'content-length': body.length } });
  req.on('error', () => undefined); // the hang-up is ours
  req.end(body);
  await waitHealth(server, (h) => (h.busy ?? 0) >= 1, 60_000);
  req.destroy();
}

function multipart(field: string, wav: Buffer, fields: Record<string, string> = {}): { body: Buffer; type: string } {
  const boundary = `----earshot${Date.now()}`;
  const head = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('');
  const body = Buffer.concat([
    Buffer.from(`${head}--${boundary}\r\ncontent-disposition: form-data; name="${field}"; filename="long.wav"\r\ncontent-type: audio/wav\r\n\r\n`),
    wav,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

describe('client disconnect cancels the decode', () => {
  let server: TestServer;
  let wav: Buffer;
  before(async () => {
    wav = await longSpeechWav(240);
    server = await startServer();
  });
  after(async () => server?.stop());

  it('POST /transcribe: the worker is idle within 2 s of the hang-up, and serves the next request', async () => {
    const restarts = (await health(server)).worker_restarts;
    const { body, type } = multipart('audio', wav, { language: 'en' });
    await uploadAndHangUp(server, '/transcribe', body, type);
    const idleAfter = await waitHealth(server, (h) => h.busy === 0 && h.queued === 0, 10_000);
    assert.ok(idleAfter < 2000, `worker still busy ${Math.round(idleAfter)} ms after the client left`);
    // the worker was cancelled, not killed: no restart, and the next request is answered normally
    assert.equal((await health(server)).worker_restarts, restarts);
    const res = await fetch(`${server.url}/transcribe`, { method: 'POST', body: wavBytes(new Float32Array(16000)), headers: { 'content-type': 'audio/wav' } });
    assert.equal(res.status, 200);
  });

  it('POST /v1/audio/transcriptions (raw audio body is refused there, so multipart): same', async () => {
    const { body, type } = multipart('file', wav, { model: 'whisper-1', language: 'en' });
    await uploadAndHangUp(server, '/v1/audio/transcriptions', body, type);
    const idleAfter = await waitHealth(server, (h) => h.busy === 0 && h.queued === 0, 10_000);
    assert.ok(idleAfter < 2000, `worker still busy ${Math.round(idleAfter)} ms after the client left`);
  });
});
