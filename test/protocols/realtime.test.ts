// /v1/realtime in transcription mode against the official `openai` Node SDK's realtime clients and a real
// model: server VAD at real-time pace (deltas before completed, deltas add up to the transcript, WER),
// manual commit and clear with the browser client's subprotocol auth, and a wrong key refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWebSocket } from 'openai/realtime/websocket';
import { WebSocket } from 'ws';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { pooledWer } from '../../src/eval/wer.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { concat, decodeFile, silence } from '../wakeword/helpers/audio.js';
import { librivoxStream, rawPcm } from './helpers.js';

const KEY = 'sk-earshot-test';
let server: TestServer;

before(async () => {
  // Whisper's live path (LocalAgreement partials), as the /ws streaming tests pin it
  server = await startServer({ args: ['--api-key', KEY], env: { EARSHOT_LIVE_MODEL: 'base' } });
});
after(async () => {
  await server?.stop();
});

type Event = { type: string; [k: string]: unknown };

/**
 * The SDK's Node client always dials wss:// (it rewrites the scheme). The test server speaks plain HTTP on
 * loopback, so the socket is handed over through ws's documented `createConnection` option: the SDK's URL,
 * headers and events are otherwise untouched.
 */
function nodeClient(apiKey: string): OpenAIRealtimeWS {
  const client = new OpenAI({ apiKey, baseURL: `${server.url}/v1` });
  return new OpenAIRealtimeWS({ model: 'whisper-1', options: { createConnection: () => netConnect(server.port, '127.0.0.1') } }, client);
}

function collect(rt: OpenAIRealtimeWS | OpenAIRealtimeWebSocket): {
  events: Array<Event & { at: number }>;
  waitFor: (pred: (e: Event) => boolean, ms?: number) => Promise<Event>;
} {
  const events: Array<Event & { at: number }> = [];
  const waiters: Array<{ pred: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
  rt.on('event', (raw) => {
    const e = raw as unknown as Event;
    events.push({ ...e, at: Date.now() });
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const waitFor = (pred: (e: Event) => boolean, ms = 60_000) =>
    new Promise<Event>((resolve, reject) => {
      const found = events.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`event not seen in ${ms} ms; last: ${JSON.stringify(events.slice(-4).map((e) => e.type))}`)), ms);
      waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  return { events, waitFor };
}

function pcm24k(audio: Int16Array, name: string): Buffer {
  return readFileSync(rawPcm(audio, 24000, 1, 2, name));
}

async function appendPaced(rt: { send(e: never): void }, pcm: Buffer, pace: number): Promise<void> {
  const chunk = 4800; // 100 ms at 24 kHz pcm16
  const t0 = Date.now();
  for (let at = 0; at < pcm.length; at += chunk) {
    rt.send({ type: 'input_audio_buffer.append', audio: pcm.subarray(at, at + chunk).toString('base64') } as never);
    if (pace > 0) {
      const wait = t0 + (((at + chunk) / 48000) * 1000) / pace - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const opened = (rt: OpenAIRealtimeWS) =>
  new Promise<void>((resolve, reject) => {
    rt.socket.once('open', () => resolve());
    rt.socket.once('error', reject);
  });

describe('OpenAI Realtime transcription', () => {
  it('server VAD at real-time pace: deltas before completed, deltas add up to each transcript, WER ≤ 12 %', async () => {
    const rt = nodeClient(KEY);
    const { events, waitFor } = collect(rt);
    rt.on('error', (err) => assert.fail(`realtime error: ${err.message}`));
    await opened(rt);
    await waitFor((e) => e.type === 'session.created');
    rt.send({
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: 24000 },
            transcription: { model: 'whisper-1', language: 'en' },
            turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
          },
        },
      },
    });
    const updated = await waitFor((e) => e.type === 'session.updated');
    assert.equal((updated.session as { type: string }).type, 'transcription');

    const { audio, reference } = librivoxStream();
    await appendPaced(rt, pcm24k(audio, 'librivox-24k.raw'), 1);
    const committedAt = () => events.filter((e) => e.type === 'input_audio_buffer.committed').length;
    const completed = () => events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed').length;
    // every committed item completes
    const deadline = Date.now() + 180_000;
    while ((committedAt() < 5 || completed() < committedAt()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    rt.close();

    const items = events.filter((e) => e.type === 'input_audio_buffer.committed').map((e) => e.item_id as string);
    assert.ok(items.length >= 5, `one item per sentence at least; got ${items.length}`);
    const transcripts: string[] = [];
    for (const id of items) {
      const mine = events.filter((e) => e.item_id === id);
      const types = mine.map((e) => e.type);
      const done = mine.find((e) => e.type === 'conversation.item.input_audio_transcription.completed');
      assert.ok(done, `item ${id} completed: ${types.join(' ')}`);
      assert.ok(types.indexOf('input_audio_buffer.speech_started') < types.indexOf('input_audio_buffer.speech_stopped'));
      const deltas = mine.filter((e) => e.type === 'conversation.item.input_audio_transcription.delta');
      assert.ok(deltas.length > 0, `item ${id} had deltas`);
      assert.ok(
        deltas.every((d) => d.at <= done.at && types.indexOf(d.type) < types.indexOf(done.type)),
        'deltas come before completed',
      );
      assert.equal(deltas.map((d) => d.delta as string).join(''), done.transcript, 'deltas add up to the completed transcript');
      assert.equal((done.usage as { type: string }).type, 'duration');
      transcripts.push(done.transcript as string);
    }
    const wer = pooledWer([{ reference, hypothesis: transcripts.join(' ') }]);
    assert.ok(wer <= 0.12, `WER ${(wer * 100).toFixed(1)} %: ${transcripts.join(' | ')}`);
  });

  it('manual turns (legacy transcription_session.update, browser client, key as subprotocol): clear drops audio, commit transcribes the rest', async () => {
    // the SDK's browser client, on Node through ws's WebSocket (the same API browsers have)
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    const client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1` });
    const rt = new OpenAIRealtimeWebSocket(
      {
        model: 'whisper-1',
        onURL: (url) => {
          url.protocol = 'ws:';
        },
      },
      client,
    );
    const { events, waitFor } = collect(rt);
    const errors: Event[] = [];
    rt.on('error', (err) => errors.push(err.error as unknown as Event));
    await waitFor((e) => e.type === 'session.created');
    // the beta event: the SDK's GA types no longer list it, the wire format is unchanged
    rt.send({
      type: 'transcription_session.update',
      session: { input_audio_format: 'pcm16', input_audio_transcription: { model: 'whisper-1', language: 'en' }, turn_detection: null },
    } as never);
    const updated = await waitFor((e) => e.type === 'transcription_session.updated');
    assert.equal((updated.session as { turn_detection: unknown }).turn_detection, null);

    const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
    const dropped = clips.find((c) => c.id.endsWith('0870'))!;
    const kept = clips.find((c) => c.id.endsWith('0920'))!;
    // audio that is cleared before any commit never becomes an item
    await appendPaced(rt, pcm24k(concat(silence(0.5), decodeFile(dropped.path), silence(0.5)), 'dropped-24k.raw'), 0);
    rt.send({ type: 'input_audio_buffer.clear' });
    await waitFor((e) => e.type === 'input_audio_buffer.cleared');
    await appendPaced(rt, pcm24k(concat(silence(0.5), decodeFile(kept.path), silence(0.5)), 'kept-24k.raw'), 0);
    rt.send({ type: 'input_audio_buffer.commit' });
    const committed = await waitFor((e) => e.type === 'input_audio_buffer.committed');
    const done = await waitFor((e) => e.type === 'conversation.item.input_audio_transcription.completed', 120_000);
    assert.equal(done.item_id, committed.item_id);
    const deltas = events.filter((e) => e.type === 'conversation.item.input_audio_transcription.delta');
    assert.ok(deltas.length > 0 && deltas.every((d) => d.item_id === committed.item_id), 'only the committed item has deltas');
    assert.equal(deltas.map((d) => d.delta as string).join(''), done.transcript);
    const wer = pooledWer([{ reference: kept.reference, hypothesis: done.transcript as string }]);
    assert.ok(wer <= 0.12, `WER ${(wer * 100).toFixed(1)} %: ${done.transcript}`);
    assert.doesNotMatch(done.transcript as string, /dashwood|leisure|prudently/i, 'cleared audio is not transcribed');

    // committing an empty buffer is an error in OpenAI's shape, and the session goes on
    rt.send({ type: 'input_audio_buffer.commit', event_id: 'evt_empty' });
    await waitFor((e) => e.type === 'error');
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as unknown as { code: string }).code, 'input_audio_buffer_commit_empty');
    assert.equal((errors[0] as unknown as { event_id: string }).event_id, 'evt_empty');
    assert.equal(events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed').length, 1);
    rt.close();
  });

  it('refuses a wrong key', async () => {
    const rt = nodeClient('sk-wrong');
    const failure = await new Promise<Error>((resolve) => rt.on('error', (err) => resolve(err)));
    assert.match(failure.message, /401/);
  });
});
