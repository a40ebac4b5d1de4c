// The OpenAI audio API, driven by the official `openai` SDK against a real server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createReadStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { parseSync } from 'subtitle';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { postForm } from '../helpers/audio.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clips = pocketsphinxClips();
const clip = clips.find((c) => c.id.endsWith('0870'))!;
const longer = clips.find((c) => c.id.endsWith('0920'))!;

function wer(reference: string, hypothesis: string): number {
  const c = werCount(reference, hypothesis);
  return c.errors / c.words;
}

describe('OpenAI audio API (official SDK)', () => {
  let server: TestServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer({ args: ['--api-key', 'sk-test-earshot'] });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-earshot', maxRetries: 0, timeout: 300_000 });
  });
  after(async () => server?.stop());

  it('lists models', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.ok(ids.includes('base'), ids.join(','));
    for (const m of page.data) assert.equal(m.object, 'model');
    const one = await client.models.retrieve('base');
    assert.equal(one.id, 'base');
  });

  it('transcribes real speech (json, text) with the default and explicit model', async () => {
    const json = await client.audio.transcriptions.create({ file: createReadStream(clip.path), model: 'whisper-1', language: 'en' });
    assert.ok(wer(clip.reference, json.text) <= 0.1, json.text);
    const text = await client.audio.transcriptions.create({ file: createReadStream(clip.path), model: 'base', response_format: 'text' });
    assert.equal(typeof text, 'string');
    assert.ok(wer(clip.reference, text as unknown as string) <= 0.1, String(text));
  });

  it('verbose_json carries real engine values and monotonic word timestamps inside their segments', async () => {
    const v = await client.audio.transcriptions.create({
      file: createReadStream(longer.path),
      model: 'base',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    assert.equal(v.language, 'english');
    assert.ok(v.duration > 5 && v.duration < 7);
    assert.ok(wer(longer.reference, v.text) <= 0.15, v.text);
    assert.ok(v.segments && v.segments.length >= 1);
    for (const s of v.segments!) {
      assert.ok(s.end > s.start);
      assert.ok(s.tokens.length > 3);
      assert.ok(s.avg_logprob < 0 && s.avg_logprob > -1.5, `avg_logprob ${s.avg_logprob}`);
      assert.ok(s.compression_ratio > 0.5 && s.compression_ratio < 3, `compression ${s.compression_ratio}`);
      assert.ok(s.no_speech_prob >= 0 && s.no_speech_prob < 0.5, `no_speech ${s.no_speech_prob}`);
      assert.equal(s.temperature, 0);
    }
    const words = v.words!;
    assert.ok(words.length >= 15, `${words.length} words`);
    const segStart = Math.min(...v.segments!.map((s) => s.start));
    const segEnd = Math.max(...v.segments!.map((s) => s.end));
    let last = -1;
    for (const w of words) {
      assert.ok(w.word.trim().length > 0);
      assert.ok(w.start >= last, `word ${w.word} starts ${w.start} before ${last}`);
      assert.ok(w.end >= w.start);
      assert.ok(w.start >= segStart - 0.5 && w.end <= segEnd + 0.5, `word ${w.word} ${w.start}-${w.end} outside ${segStart}-${segEnd}`);
      last = w.start;
    }
  });

  it('writes SRT and VTT that a subtitle parser reads back', async () => {
    for (const format of ['srt', 'vtt'] as const) {
      const body = (await client.audio.transcriptions.create({
        file: createReadStream(longer.path),
        model: 'base',
        response_format: format,
        language: 'en',
      })) as unknown as string;
      if (format === 'vtt') assert.ok(body.startsWith('WEBVTT'));
      const cues = parseSync(body).filter((n) => n.type === 'cue');
      assert.ok(cues.length >= 1, body);
      let lastEnd = 0;
      for (const cue of cues) {
        const { start, end, text } = cue.data as { start: number; end: number; text: string };
        assert.ok(end > start && start >= lastEnd - 1, `${format} cue ${start}-${end}`);
        assert.ok(text.trim().length > 0);
        for (const line of text.split('\n')) assert.ok(line.length <= 42, `line too long: ${line}`);
        lastEnd = end;
      }
      const joined = cues.map((c) => (c.data as { text: string }).text).join(' ');
      assert.ok(wer(longer.reference, joined) <= 0.15, joined);
    }
    // The seed endpoint shares the writers.
    const seed = await postForm(`${server.url}/transcribe`, {
      file: new Blob([readFileSync(longer.path)]),
      fields: { response_format: 'srt', language: 'en' },
      headers: { authorization: 'Bearer sk-test-earshot' },
    });
    assert.equal(seed.status, 200);
    assert.match(await seed.text(), /^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n/);
  });

  it('streams transcript.text.delta / transcript.text.done events', async () => {
    const stream = await client.audio.transcriptions.create({ file: createReadStream(clip.path), model: 'base', stream: true, language: 'en' });
    const events: Array<{ type: string; delta?: string; text?: string }> = [];
    for await (const event of stream) events.push(event as { type: string });
    const deltas = events.filter((e) => e.type === 'transcript.text.delta');
    const done = events.filter((e) => e.type === 'transcript.text.done');
    assert.ok(deltas.length >= 1);
    assert.equal(done.length, 1);
    assert.equal(events[events.length - 1]!.type, 'transcript.text.done');
    assert.equal(
      deltas
        .map((d) => d.delta)
        .join('')
        .trim(),
      done[0]!.text,
    );
    assert.ok(wer(clip.reference, done[0]!.text!) <= 0.1, done[0]!.text);
  });

  it('translates speech into English (translations.create)', async () => {
    // No recorded non-English speech is packaged; espeak-ng synthesises it. Whisper base cannot make sense of
    // espeak's Korean (see test/pipeline/hallucination-engine.test.ts), so the translation path is shown on Spanish.
    const dir = mkdtempSync(join(tmpdir(), 'earshot-tr-'));
    const wav = join(dir, 'es.wav');
    execFileSync('espeak-ng', ['-v', 'es', '-s', '140', '-w', wav, 'Buenos días. Hoy hace muy buen tiempo. Mañana vamos a Madrid.']);
    const detected = await client.audio.transcriptions.create({ file: createReadStream(wav), model: 'base', response_format: 'verbose_json' });
    assert.equal(detected.language, 'spanish');
    assert.match(detected.text.toLowerCase(), /buenos días/);
    const tr = await client.audio.translations.create({ file: createReadStream(wav), model: 'base' });
    const text = tr.text.toLowerCase();
    assert.match(text, /good morning/, tr.text);
    assert.match(text, /weather/, tr.text);
    assert.doesNotMatch(text, /buenos|tiempo/, tr.text);
  });

  it('answers bad requests with OpenAI-shaped errors', async () => {
    const file = () => toFile(readFileSync(clip.path), 'clip.wav');
    const expectError = async (promise: Promise<unknown>, status: number, param?: string) => {
      await assert.rejects(promise, (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError, String(err));
        assert.equal(err.status, status, JSON.stringify(err.error));
        const body = err.error as { message?: string; type?: string; code?: string; param?: string | null };
        assert.ok(typeof body.message === 'string' && body.message.length > 5);
        assert.ok(typeof body.type === 'string');
        if (param) assert.equal(body.param, param);
        return true;
      });
    };
    await expectError(client.audio.transcriptions.create({ file: await file(), model: 'no-such-model' }), 404, 'model');
    await expectError(client.audio.transcriptions.create({ file: await file(), model: 'base', response_format: 'docx' as 'json' }), 400, 'response_format');
    await expectError(
      client.audio.transcriptions.create({
        file: await file(),
        model: 'base',
        response_format: 'verbose_json',
        timestamp_granularities: ['sentence' as 'word'],
      }),
      400,
      'timestamp_granularities',
    );
    await expectError(
      client.audio.transcriptions.create({ file: await file(), model: 'base', response_format: 'json', timestamp_granularities: ['word'] }),
      400,
    );
    await expectError(client.audio.transcriptions.create({ file: await toFile(Buffer.from('not audio at all'), 'x.wav'), model: 'base' }), 400, 'file');
    await expectError(client.audio.transcriptions.create({ file: await file(), model: 'base', language: 'xx-invalid' }), 400, 'language');
    // A missing file: the SDK insists on one, so send the form by hand.
    const missing = await postForm(`${server.url}/v1/audio/transcriptions`, {
      fields: { model: 'base' },
      headers: { authorization: 'Bearer sk-test-earshot' },
    });
    assert.equal(missing.status, 400);
    const body = (await missing.json()) as { error: { message: string; type: string; param: string; code: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.param, 'file');
    // Wrong key.
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expectError(bad.models.list(), 401);
    // Oversized: the declared length is refused before the upload is read.
    const huge = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/audio/transcriptions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test-earshot', 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(200 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.write('--x\r\n');
    });
    assert.equal(huge.status, 413);
    assert.equal((JSON.parse(huge.body) as { error: { code: string } }).error.code, 'audio_too_large');
    // Still serving.
    const ok = await client.audio.transcriptions.create({ file: await file(), model: 'base', language: 'en' });
    assert.ok(wer(clip.reference, ok.text) <= 0.1);
  });
});
