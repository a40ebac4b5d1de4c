// Hostile uploads against a real server: the generated corpus (test/helpers/hostile-audio.ts) through
// the seed route (/transcribe, plain multipart) and the OpenAI route (/v1/audio/transcriptions, the
// official SDK), then multipart bodies that are malformed on purpose. Every one gets a clear 4xx
// (or, for real audio in an odd shape, a transcription); never a 5xx; the server still transcribes
// real speech afterwards. The duration limit must stop a tiny file that decodes to hours early.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import OpenAI, { toFile, APIError } from 'openai';
import WebSocket from 'ws';
import { decodeAudio, AudioError } from '../../src/audio/decode.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { isolatedHome } from '../e2e/browser.js';
import { fileBlob } from '../helpers/audio.js';
import { hostileCorpus, silenceFlac, type HostileCase } from '../helpers/hostile-audio.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MAX_AUDIO_SECONDS = 120;
const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;

/** A raw HTTP exchange: the body exactly as given, whatever the headers claim. */
function rawPost(url: string, path: string, headers: Record<string, string | number>, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    // a fresh connection per case: one answered before its body was read must not poison the next
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function multipart(boundary: string, parts: Array<{ headers: string[]; body: Buffer | string }>, close = true): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n`));
    out.push(typeof p.body === 'string' ? Buffer.from(p.body) : p.body);
    out.push(Buffer.from('\r\n'));
  }
  if (close) out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

const fileHeaders = (name: string, field = 'file') => [`Content-Disposition: form-data; name="${field}"; filename="${name}"`, 'Content-Type: audio/wav'];

/** the seed shape's or OpenAI's error message, which must say something */
function errorMessage(text: string): string {
  const body = JSON.parse(text) as { error?: { message?: string } };
  return body.error?.message ?? '';
}

describe('hostile audio and multipart input (real server)', { timeout: 600_000 }, () => {
  let dir: string;
  let server: TestServer;
  let client: OpenAI;
  let corpus: HostileCase[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-hostile-'));
    corpus = hostileCorpus({ bombHours: 10 });
    server = await startServer({
      model: 'tiny.en',
      env: {
        EARSHOT_HOME: await isolatedHome(dir),
        EARSHOT_MAX_AUDIO_SECONDS: String(MAX_AUDIO_SECONDS),
        EARSHOT_MAX_UPLOAD_BYTES: String(8 << 20),
        EARSHOT_UPLOAD_IDLE_SECONDS: '5',
      },
    });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the duration limit stops a tiny file that decodes to 10 hours after about the limit, not after all of it', async () => {
    const bomb = silenceFlac(10, dir);
    assert.ok(bomb.length < 200_000, `${bomb.length} bytes`);
    await assert.rejects(
      decodeAudio({ stream: Readable.from([bomb]), filename: 'bomb.flac' }, { maxBytes: 8 << 20, maxSeconds: MAX_AUDIO_SECONDS }),
      (err: unknown) => {
        assert.ok(err instanceof AudioError && err.code === 'audio_too_long', String(err));
        // ffmpeg is killed at the first output chunk past the limit: a pipe's worth (≤ 64 kB ≈ 1 s) beyond it
        assert.ok(err.decodedSeconds !== undefined && err.decodedSeconds <= MAX_AUDIO_SECONDS + 2, `decoded ${err.decodedSeconds} s`);
        return true;
      },
    );
  });

  it('each corpus file through /transcribe: a 4xx with a message, or a bounded transcription', async () => {
    const seen: string[] = [];
    for (const c of corpus) {
      const form = new FormData();
      // fields before the file: the decoder reads them when the file part arrives
      if (c.filename.endsWith('.pcm')) form.append('format', 'pcm_f32le');
      form.append('file', new Blob([c.bytes], { type: c.mimetype }), c.filename);
      const res = await fetch(`${server.url}/transcribe`, { method: 'POST', body: form });
      const text = await res.text();
      seen.push(`${c.name}: ${res.status}`);
      assert.ok(res.status < 500, `${c.name}: ${res.status} ${text}`);
      checkOutcome(c, res.status, text, (t) => (JSON.parse(t) as { duration?: number }).duration);
    }
    console.log(seen.join('\n'));
  });

  it('each corpus file through /v1/audio/transcriptions with the OpenAI SDK', async () => {
    for (const c of corpus) {
      try {
        const out = await client.audio.transcriptions.create({
          // the SDK writes fields in key order: format must precede the file
          ...(c.filename.endsWith('.pcm') ? ({ format: 'pcm_f32le' } as object) : {}),
          file: await toFile(c.bytes, c.filename, { type: c.mimetype }),
          model: 'whisper-1',
          response_format: 'verbose_json',
        });
        checkOutcome(c, 200, JSON.stringify(out), (t) => (JSON.parse(t) as { duration?: number }).duration);
      } catch (err) {
        if (!(err instanceof APIError)) throw err;
        assert.ok(err.status !== undefined && err.status < 500, `${c.name}: ${err.status} ${err.message}`);
        checkOutcome(c, err.status!, JSON.stringify(err.error ? { error: err.error } : {}), () => undefined);
      }
    }
  });

  it('multipart bodies malformed on purpose get a 4xx, never a 5xx or a hang', async () => {
    const wav = Buffer.from(await fileBlob(clip.path).arrayBuffer());
    const b = 'xBOUNDARYx';
    const type = `multipart/form-data; boundary=${b}`;
    // expect: the exact status; 200 where the bad part is ignored (busboy cuts a field name at 100 bytes)
    const cases: Array<{ name: string; headers: Record<string, string | number>; body: Buffer; expect?: number }> = [
      {
        name: 'many parts',
        headers: { 'content-type': type },
        body: multipart(b, [
          ...Array.from({ length: 200 }, (_, i) => ({ headers: [`Content-Disposition: form-data; name="f${i}"`], body: 'x' })),
          { headers: fileHeaders('a.wav'), body: wav },
        ]),
        expect: 413,
      },
      {
        name: 'a 200 kB field name',
        headers: { 'content-type': type },
        body: multipart(b, [
          { headers: [`Content-Disposition: form-data; name="${'n'.repeat(200_000)}"`], body: 'x' },
          { headers: fileHeaders('a.wav'), body: wav },
        ]),
        expect: 200,
      },
      { name: 'no boundary parameter', headers: { 'content-type': 'multipart/form-data' }, body: multipart(b, [{ headers: fileHeaders('a.wav'), body: wav }]) },
      {
        name: 'boundary that is not the one used',
        headers: { 'content-type': 'multipart/form-data; boundary=other' },
        body: multipart(b, [{ headers: fileHeaders('a.wav'), body: wav }]),
        expect: 400,
      },
      { name: 'garbled body', headers: { 'content-type': type }, body: Buffer.from(`--${b}\r\nnot a header line\r\n\r\n\0\0\0--${b}`) },
      {
        name: 'file part without a filename (sent as a field)',
        headers: { 'content-type': type },
        body: multipart(b, [{ headers: ['Content-Disposition: form-data; name="file"'], body: wav.subarray(0, 4000) }]),
        expect: 400,
      },
      {
        // small: one larger than busboy's buffer, arriving whole, stalls @fastify/busboy 3.2.6 (the 40 kB case below stalls)
        name: 'part without Content-Disposition',
        headers: { 'content-type': type },
        body: multipart(b, [{ headers: ['Content-Type: audio/wav'], body: wav.subarray(0, 2000) }]),
        expect: 400,
      },
      {
        // on Node 20 a skipped part larger than busboy's buffer arriving whole stalls @fastify/busboy 3.2.6
        // for good, and the upload watchdog answers 408 once nothing more is read (EARSHOT_UPLOAD_IDLE_SECONDS
        // above); on Node 24 the parser finishes and the answer is 400 missing_file. Either way: an answer.
        name: 'a 40 kB part without Content-Disposition',
        headers: { 'content-type': type },
        body: multipart(b, [{ headers: ['Content-Type: audio/wav'], body: wav.subarray(0, 40_000) }]),
      },
      {
        name: 'no closing boundary',
        headers: { 'content-type': type },
        body: multipart(b, [{ headers: fileHeaders('a.wav'), body: wav.subarray(0, 20_000) }], false),
      },
      { name: 'empty body', headers: { 'content-type': type }, body: Buffer.alloc(0), expect: 400 },
      {
        name: 'a field value over the field size limit',
        headers: { 'content-type': type },
        body: multipart(b, [
          { headers: ['Content-Disposition: form-data; name="prompt"'], body: 'p'.repeat(200_000) },
          { headers: fileHeaders('a.wav'), body: wav },
        ]),
        expect: 413,
      },
      {
        name: 'three file parts',
        headers: { 'content-type': type },
        body: multipart(b, [
          { headers: fileHeaders('a.wav'), body: wav },
          { headers: fileHeaders('b.wav'), body: wav },
          { headers: fileHeaders('c.wav'), body: wav },
        ]),
        expect: 413,
      },
    ];
    for (const route of ['/transcribe', '/v1/audio/transcriptions']) {
      for (const c of cases) {
        if (process.env.EARSHOT_FUZZ_TRACE) console.log(route, c.name);
        const res = await rawPost(server.url, route, { ...c.headers, 'content-length': c.body.length }, c.body);
        if (c.expect === 200) {
          assert.equal(res.status, 200, `${route} ${c.name}: ${res.text.slice(0, 300)}`);
          continue;
        }
        assert.ok(res.status >= 400 && res.status < 500, `${route} ${c.name}: ${res.status} ${res.text.slice(0, 300)}`);
        if (c.expect) assert.equal(res.status, c.expect, `${route} ${c.name}: ${res.text.slice(0, 300)}`);
        assert.ok(errorMessage(res.text).length > 5, `${route} ${c.name}: ${res.text.slice(0, 300)}`);
      }
    }
  });

  it('an upload that stops arriving mid-body is answered 408 upload_stalled, and the server goes on', async () => {
    const wav = Buffer.from(await fileBlob(clip.path).arrayBuffer());
    const b = 'stallBoundary';
    const body = multipart(b, [{ headers: fileHeaders('speech.wav'), body: wav }]);
    for (const route of ['/transcribe', '/v1/audio/transcriptions']) {
      const started = Date.now();
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const u = new URL(server.url);
        const req = httpRequest(
          {
            host: u.hostname,
            port: u.port,
            path: route,
            method: 'POST',
            agent: false,
            headers: { 'content-type': `multipart/form-data; boundary=${b}`, 'content-length': body.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
            });
          },
        );
        req.on('error', reject);
        // a third of the body, then the client goes quiet with the connection open
        req.write(body.subarray(0, Math.floor(body.length / 3)));
      });
      assert.equal(answer.status, 408, `${route}: ${answer.text.slice(0, 300)}`);
      assert.match(errorMessage(answer.text), /upload stopped/);
      assert.ok(Date.now() - started >= 4000, 'answered after the configured idle time, not before');
    }
    const ok = await rawPost(server.url, '/transcribe', { 'content-type': `multipart/form-data; boundary=${b}`, 'content-length': body.length }, body);
    assert.equal(ok.status, 200, ok.text.slice(0, 300));
  });

  it('duplicated fields: the last value of a field counts, the first file is the audio', async () => {
    const wav = Buffer.from(await fileBlob(clip.path).arrayBuffer());
    const b = 'dupBoundary';
    const body = multipart(b, [
      { headers: ['Content-Disposition: form-data; name="response_format"'], body: 'text' },
      { headers: ['Content-Disposition: form-data; name="response_format"'], body: 'json' },
      { headers: ['Content-Disposition: form-data; name="model"'], body: 'whisper-1' },
      { headers: fileHeaders('speech.wav'), body: wav },
      { headers: fileHeaders('again.wav'), body: Buffer.from('not audio') },
    ]);
    const res = await rawPost(
      server.url,
      '/v1/audio/transcriptions',
      { 'content-type': `multipart/form-data; boundary=${b}`, 'content-length': body.length },
      body,
    );
    assert.equal(res.status, 200, res.text);
    const { text } = JSON.parse(res.text) as { text: string };
    const { errors, words } = werCount(clip.reference, text);
    assert.ok(errors / words <= 0.35, text);
  });

  it('a body cut off mid-upload (client gone) leaves the server serving', async () => {
    const wav = Buffer.from(await fileBlob(clip.path).arrayBuffer());
    const b = 'cutBoundary';
    const body = multipart(b, [{ headers: fileHeaders('a.wav'), body: wav }]);
    await new Promise<void>((resolve) => {
      const u = new URL(server.url);
      const req = httpRequest({
        host: u.hostname,
        port: u.port,
        path: '/transcribe',
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${b}`, 'content-length': body.length },
      });
      req.on('error', () => resolve());
      req.write(body.subarray(0, Math.floor(body.length / 2)), () => {
        req.destroy();
        resolve();
      });
    });
  });

  it('model sources from callers: no local paths, no private addresses, on every interface (403 / close 1008)', async () => {
    for (const source of ['/etc/passwd', '../../etc/passwd', 'file:///etc/passwd', 'http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:6379/x.bin']) {
      const res = await fetch(`${server.url}/api/models/load`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source }),
      });
      const text = await res.text();
      assert.equal(res.status, 403, `${source}: ${text}`);
      assert.match(text, /forbidden_source/);
      const form = new FormData();
      form.append('model', source);
      form.append('file', fileBlob(clip.path), 'speech.wav');
      const v1 = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
      assert.equal(v1.status, 403, `${source}: ${await v1.text()}`);
    }
    // /ws: the refusal is an error message and a client-fault close, and says nothing of the server's files
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    const messages: string[] = [];
    ws.on('message', (d) => messages.push(d.toString()));
    const code = await new Promise<number>((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'config', model: '../../etc/passwd' })));
      ws.on('close', (c) => resolve(c));
    });
    assert.equal(code, 1008, messages.join('\n'));
    assert.match(messages.join('\n'), /forbidden_source/);
    assert.doesNotMatch(messages.join('\n'), new RegExp(process.cwd().replace(/[/.]/g, '\\$&')));
    const models = (await (await fetch(`${server.url}/api/models`)).json()) as { loaded: Array<{ id: string }> };
    assert.deepEqual(
      models.loaded.filter((m) => /passwd|169\.254|6379/.test(m.id)),
      [],
      'refused names leave nothing behind',
    );
  });

  it('after all of it the same server transcribes real speech on both routes', async () => {
    assert.equal(server.child.exitCode, null, 'server process still running');
    const form = new FormData();
    form.append('file', fileBlob(clip.path), 'speech.wav');
    const res = await fetch(`${server.url}/transcribe`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    const seed = (await res.json()) as { text: string };
    const out = await client.audio.transcriptions.create({ file: await toFile(fileBlob(clip.path), 'speech.wav'), model: 'whisper-1' });
    for (const text of [seed.text, out.text]) {
      const { errors, words } = werCount(clip.reference, text);
      assert.ok(errors / words <= 0.35, text);
    }
    assert.doesNotMatch(server.output(), /"level":(50|60)|uncaught|FATAL/i, 'no error-level log line');
  });
});

function checkOutcome(c: HostileCase, status: number, text: string, durationOf: (text: string) => number | undefined): void {
  if (c.expect === 'reject') assert.ok(status >= 400 && status < 500, `${c.name}: expected a 4xx, got ${status} ${text.slice(0, 300)}`);
  if (c.expect === 'accept') assert.equal(status, 200, `${c.name}: ${text.slice(0, 300)}`);
  if (status >= 400) {
    const message = errorMessage(text);
    assert.ok(message.length > 10 && !/0x[0-9a-f]{6,}/.test(message), `${c.name}: unclear message ${JSON.stringify(message)}`);
  } else if (c.maxDuration !== undefined) {
    const d = durationOf(text);
    assert.ok(d !== undefined && d <= c.maxDuration, `${c.name}: duration ${d} > ${c.maxDuration}`);
  }
}
