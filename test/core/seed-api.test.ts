// The seed REST API against a real server, a real model and real speech.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { normalizeText, pooledWer, werCount } from '../../src/eval/wer.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startServer, workerPids, type TestServer } from '../helpers/server.js';

const clips = pocketsphinxClips();
const librivox0 = clips.find((c) => c.set === 'librivox')!;

interface SeedOk {
  success: true;
  text: string;
  language: string;
  segments: Array<{ start: number; end: number; text: string }>;
  model: string;
  duration: number;
  processing_time: number;
}
interface SeedErr {
  success: false;
  error: { code: string; message: string };
}

describe('seed REST API', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  async function transcribe(parts: Parameters<typeof postForm>[1]): Promise<{ status: number; body: SeedOk | SeedErr }> {
    const res = await postForm(`${server.url}/transcribe`, parts);
    return { status: res.status, body: (await res.json()) as SeedOk | SeedErr };
  }

  async function assertStillServes(): Promise<void> {
    const { status, body } = await transcribe({ fileField: 'audio', file: fileBlob(librivox0.path), fields: { language: 'en' } });
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.success);
    assert.ok(werCount(librivox0.reference, body.text).errors <= 3, body.text);
  }

  it('GET / and /health describe a loaded model', async () => {
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, any>;
    assert.equal(health.status, 'ok');
    assert.equal(health.model_loaded, true);
    assert.equal(health.device, 'cpu');
    assert.equal(health.model_id, 'base');
    const root = (await (await fetch(`${server.url}/`, { headers: { accept: 'application/json' } })).json()) as Record<string, any>;
    assert.equal(root.name, 'earshot');
    assert.equal(root.model, 'base');
    // the default model, plus any route model loaded at startup (English live sessions on an installed Moonshine)
    const engines = root.engines as Array<{ id: string; state: string; kind: string; default: boolean }>;
    assert.deepEqual(
      engines.filter((e) => e.default).map((e) => [e.id, e.state, e.kind]),
      [['base', 'ready', 'whisper']],
    );
  });

  it('transcribes the pocketsphinx librivox and cards clips with pooled WER <= 10 %', async () => {
    const pairs: Array<{ reference: string; hypothesis: string }> = [];
    for (const clip of clips) {
      // Alternate the seed field names: seed 000 sends "audio", seeds 001/004 send "file".
      const fileField = pairs.length % 2 === 0 ? 'audio' : 'file';
      const { status, body } = await transcribe({ fileField, file: fileBlob(clip.path), fields: { language: 'en' } });
      assert.equal(status, 200, JSON.stringify(body));
      assert.ok(body.success);
      assert.equal(body.language, 'en');
      assert.equal(body.model, 'base');
      assert.ok(body.segments.length >= 1);
      for (const s of body.segments) assert.ok(s.end >= s.start && s.start >= 0);
      assert.ok(body.duration > 0.5 && body.processing_time > 0);
      pairs.push({ reference: clip.reference, hypothesis: body.text });
    }
    const wer = pooledWer(pairs);
    assert.ok(wer <= 0.1, `pooled WER ${(wer * 100).toFixed(1)} %: ${JSON.stringify(pairs, null, 1)}`);
  });

  it('detects the language when none is given and accepts seed 004 codes (lang=EN)', async () => {
    const auto = await transcribe({ file: fileBlob(librivox0.path) });
    assert.equal(auto.status, 200);
    assert.ok(auto.body.success && auto.body.language === 'en', JSON.stringify(auto.body));
    const seed4 = await transcribe({ file: fileBlob(librivox0.path), fields: { lang: 'EN' } });
    assert.equal(seed4.status, 200);
    // Seed 004 answers in the client's own code (lang=KR → "language": "KR").
    assert.ok(seed4.body.success && seed4.body.language === 'EN', JSON.stringify(seed4.body));
  });

  it('accepts raw s16le 16 kHz PCM posted as audio.raw (seed 000)', async () => {
    const raw = readFileSync('/usr/share/pocketsphinx/test/data/goforward.raw');
    const { status, body } = await transcribe({
      fileField: 'audio',
      file: new Blob([raw], { type: 'application/octet-stream' }),
      filename: 'audio.raw',
      fields: { language: 'en' },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.success);
    assert.match(normalizeText(body.text), /go forward ten meters/);
  });

  it('accepts a bare audio body (Content-Type: audio/wav)', async () => {
    const res = await fetch(`${server.url}/transcribe?language=en`, {
      method: 'POST',
      body: readFileSync(librivox0.path),
      headers: { 'content-type': 'audio/wav' },
    });
    const body = (await res.json()) as SeedOk;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(werCount(librivox0.reference, body.text).errors <= 3);
  });

  it('rejects bad input with clear JSON errors and keeps serving', async () => {
    const wav = readFileSync(librivox0.path);
    const cases: Array<{ name: string; parts: Parameters<typeof postForm>[1]; status: number; code: string }> = [
      { name: 'empty file', parts: { file: new Blob([]), filename: 'empty.wav' }, status: 400, code: 'empty_audio' },
      { name: 'truncated wav header', parts: { file: new Blob([wav.subarray(0, 30)]), filename: 'cut.wav' }, status: 400, code: 'undecodable_audio' },
      { name: 'random bytes', parts: { file: new Blob([randomBytes(64 * 1024)]), filename: 'noise.bin' }, status: 400, code: 'undecodable_audio' },
      {
        name: 'a text file',
        parts: { file: new Blob(['hello, this is not audio\n'.repeat(50)], { type: 'text/plain' }), filename: 'notes.txt' },
        status: 415,
        code: 'unsupported_media',
      },
      { name: 'wrong field name', parts: { fileField: 'upload', file: fileBlob(librivox0.path) }, status: 400, code: 'missing_file' },
      { name: 'no file at all', parts: { fields: { language: 'en' } }, status: 400, code: 'missing_file' },
      { name: 'unknown language', parts: { file: fileBlob(librivox0.path), fields: { language: 'klingon' } }, status: 422, code: 'invalid_language' },
      { name: 'bad task', parts: { file: fileBlob(librivox0.path), fields: { task: 'summarize' } }, status: 422, code: 'invalid_parameter' },
      { name: 'bad response_format', parts: { file: fileBlob(librivox0.path), fields: { response_format: 'docx' } }, status: 422, code: 'invalid_parameter' },
    ];
    for (const c of cases) {
      const { status, body } = await transcribe(c.parts);
      assert.equal(status, c.status, `${c.name}: ${JSON.stringify(body)}`);
      assert.equal(body.success, false, c.name);
      assert.equal((body as SeedErr).error.code, c.code, `${c.name}: ${JSON.stringify(body)}`);
      assert.ok((body as SeedErr).error.message.length > 10, c.name);
    }
    // A half-finished multipart body: the client stops mid-upload.
    const controller = new AbortController();
    const slow = new ReadableStream({
      start(ctl) {
        ctl.enqueue(new TextEncoder().encode('--x\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'));
        ctl.enqueue(wav.subarray(0, 20000));
        setTimeout(() => controller.abort(), 200);
      },
    });
    await fetch(`${server.url}/transcribe`, {
      method: 'POST',
      body: slow,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      signal: controller.signal,
      duplex: 'half',
    } as RequestInit).catch(() => undefined);
    const malformed = await fetch(`${server.url}/transcribe`, { method: 'POST', body: '{"audio": 1', headers: { 'content-type': 'application/json' } });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as SeedErr).success, false);
    const json = await fetch(`${server.url}/transcribe`, { method: 'POST', body: '{"audio": 1}', headers: { 'content-type': 'application/json' } });
    assert.equal(json.status, 415);
    assert.equal(((await json.json()) as SeedErr).error.code, 'unsupported_media');
    await assertStillServes();
  });

  it('answers two concurrent requests correctly', async () => {
    const [a, b] = [clips[0]!, clips[3]!];
    const [ra, rb] = await Promise.all([
      transcribe({ file: fileBlob(a.path), fields: { language: 'en' } }),
      transcribe({ file: fileBlob(b.path), fields: { language: 'en' } }),
    ]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    assert.ok(ra.body.success && rb.body.success);
    assert.ok(werCount(a.reference, ra.body.text).errors / werCount(a.reference, ra.body.text).words <= 0.15, ra.body.text);
    assert.ok(werCount(b.reference, rb.body.text).errors / werCount(b.reference, rb.body.text).words <= 0.15, rb.body.text);
  });

  it('a worker killed mid-request fails only that request; the next one succeeds', async () => {
    const [pid] = await workerPids(server.pid);
    assert.ok(pid, 'a native worker runs under the server');
    const pending = transcribe({ file: fileBlob(librivox0.path), fields: { language: 'en', beam_size: '5' } });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid!, 'SIGKILL');
    const { status, body } = await pending;
    if (status === 200) {
      // The decode finished before the signal landed; the kill must still not hurt later requests.
      assert.ok(body.success);
    } else {
      assert.equal(status, 503, JSON.stringify(body));
      assert.equal((body as SeedErr).error.code, 'worker_crashed');
    }
    await assertStillServes();
    const after = await workerPids(server.pid);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], pid, 'the pool replaced the dead worker');
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, any>;
    assert.ok(health.worker_restarts >= 1);
  });
});

describe('seed REST API limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { EARSHOT_MAX_UPLOAD_BYTES: '400000', EARSHOT_MAX_AUDIO_SECONDS: '4' } });
  });
  after(async () => server?.stop());

  it('answers 413 for an upload over the size limit and for audio over the duration limit', async () => {
    const big = await postForm(`${server.url}/transcribe`, { file: new Blob([randomBytes(1_000_000)]), filename: 'big.wav' });
    const bigBody = (await big.json()) as SeedErr;
    assert.equal(big.status, 413, JSON.stringify(bigBody));
    assert.equal(bigBody.success, false);
    const long = await postForm(`${server.url}/transcribe`, { file: fileBlob(librivox0.path), filename: 'long.wav' });
    const longBody = (await long.json()) as SeedErr;
    assert.equal(long.status, 413, JSON.stringify(longBody));
    assert.equal(longBody.error.code, 'audio_too_long');
    const ok = await postForm(`${server.url}/transcribe`, { file: fileBlob(clips.find((c) => c.id === 'cards-001')!.path), fields: { language: 'en' } });
    assert.equal(ok.status, 200);
    assert.match(((await ok.json()) as SeedOk).text.toLowerCase(), /ten of clubs/);
  });
});
