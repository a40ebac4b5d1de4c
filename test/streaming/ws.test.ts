// /ws streaming against a real server: real speech joined with silences and noise, real model.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { pooledWer } from '../../src/eval/wer.js';
import { loadClip } from '../helpers/audio.js';
import { startServer, workerPids, type TestServer } from '../helpers/server.js';
import { assertServerMessage } from '../helpers/ws-schema.js';

const RATE = 16000;
const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');

interface Msg {
  type: string;
  [k: string]: unknown;
}

/** A stream of the clips separated by silence, with a stretch of real noise; remembers where speech is. */
async function buildStream(
  ids: number[],
  withNoise: boolean,
  gapSeconds = 2,
): Promise<{ audio: Float32Array; speech: Array<{ start: number; end: number; reference: string }> }> {
  const parts: Float32Array[] = [];
  const speech: Array<{ start: number; end: number; reference: string }> = [];
  let t = 0;
  const silence = (s: number) => {
    parts.push(new Float32Array(Math.round(s * RATE)));
    t += s;
  };
  silence(1);
  for (const i of ids) {
    const clip = clips[i]!;
    const audio = await loadClip(clip.path);
    parts.push(audio);
    speech.push({ start: t, end: t + audio.length / RATE, reference: clip.reference });
    t += audio.length / RATE;
    silence(gapSeconds);
  }
  if (withNoise) {
    const noise = await loadClip('/usr/share/sounds/alsa/Noise.wav');
    parts.push(noise.map((v) => v * 0.5));
    t += noise.length / RATE;
    silence(2.5);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const audio = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    audio.set(p, o);
    o += p.length;
  }
  return { audio, speech };
}

function connect(url: string): Promise<{ ws: WebSocket; messages: Msg[]; next: (type: string, timeoutMs?: number) => Promise<Msg>; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
    const messages: Msg[] = [];
    const waiters: Array<{ type: string; resolve: (m: Msg) => void }> = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false);
      const msg = JSON.parse(data.toString()) as Msg;
      assertServerMessage(msg);
      messages.push(msg);
      for (const w of waiters.filter((x) => x.type === msg.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        closed,
        next: (type, timeoutMs = 30_000) =>
          new Promise<Msg>((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`no ${type} message in ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))}`)), timeoutMs);
            waiters.push({
              type,
              resolve: (m) => {
                clearTimeout(timer);
                res(m);
              },
            });
          }),
      }),
    );
  });
}

/**
 * Sends audio in 100 ms frames, paced at `speed` × real time (Infinity = as fast as possible).
 * `afterFrame` may hold the client (a slow client); pacing resumes from there.
 */
async function sendAudio(ws: WebSocket, audio: Float32Array, speed: number, afterFrame?: (sentSamples: number) => Promise<void>): Promise<void> {
  const frame = RATE / 10;
  let t0 = Date.now();
  for (let i = 0; i < audio.length; i += frame) {
    ws.send(float32ToS16le(audio.subarray(i, i + frame)));
    if (afterFrame) {
      const held = Date.now();
      await afterFrame(Math.min(i + frame, audio.length));
      t0 += Date.now() - held;
    }
    if (Number.isFinite(speed)) {
      const due = t0 + ((i + frame) / RATE / speed) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * One session. `holdForPartialAt`: stream seconds where the client stops sending until the next
 * partial arrives — inside an utterance, so it cannot end before it showed text, however slow the CPU.
 */
async function runSession(url: string, audio: Float32Array, speed: number, holdForPartialAt: number[] = []): Promise<Msg[]> {
  const c = await connect(url);
  c.ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: 16000, encoding: 'pcm_s16le', partials: true, enrich: false }));
  const ready = await c.next('ready');
  assert.equal(ready.model, 'base');
  const holds = holdForPartialAt.map((t) => Math.round(t * RATE)).sort((a, b) => a - b);
  await sendAudio(c.ws, audio, speed, async (sent) => {
    while (holds.length > 0 && sent >= holds[0]!) {
      holds.shift();
      // the utterance being spoken: the newest speech_start (the VAD confirms it a few frames late)
      const current = () => c.messages.filter((m) => m.type === 'speech_start').at(-1)?.utterance_id;
      const shown = () => c.messages.some((m) => m.type === 'partial' && m.utterance_id === current());
      while (current() === undefined || !shown()) await new Promise((r) => setTimeout(r, 20));
    }
  });
  c.ws.send(JSON.stringify({ type: 'stop' }));
  await c.next('done', 600_000);
  await c.closed;
  return c.messages;
}

function checkOrdering(messages: Msg[]): void {
  const finals = new Set<number>();
  const lastRevision = new Map<number, number>();
  const committed = new Map<number, string>();
  for (const m of messages) {
    const id = m.utterance_id as number;
    if (m.type === 'partial') {
      assert.ok(!finals.has(id), `partial for utterance ${id} after its final`);
      assert.ok((m.revision as number) > (lastRevision.get(id) ?? 0), 'revisions increase');
      lastRevision.set(id, m.revision as number);
      const prev = committed.get(id) ?? '';
      assert.ok((m.committed as string).startsWith(prev), `committed text never changes: "${prev}" → "${m.committed}"`);
      committed.set(id, m.committed as string);
    }
    if (m.type === 'final') {
      assert.ok(!finals.has(id), `final for utterance ${id} sent twice`);
      finals.add(id);
    }
  }
}

/** Finals matched to the speech region they overlap. */
function matchFinals(messages: Msg[], speech: Array<{ start: number; end: number; reference: string }>): Array<{ reference: string; hypothesis: string }> {
  const finals = messages.filter((m) => m.type === 'final');
  return speech.map((s) => ({
    reference: s.reference,
    hypothesis: finals
      .filter((f) => (f.start as number) < s.end + 0.5 && (f.end as number) > s.start - 0.5)
      .map((f) => f.text as string)
      .join(' '),
  }));
}

describe('WebSocket streaming', () => {
  let server: TestServer;
  before(async () => {
    // Whisper's live path (LocalAgreement partials on word times); Moonshine's: test/engines/sherpa-server.test.ts
    server = await startServer({ env: { EARSHOT_LIVE_MODEL: 'base' } });
  });
  after(async () => server?.stop());

  it('streams real speech at real-time pace: partials before finals, finals match, noise and silence give none', async () => {
    // Pauses of 4 s between sentences: time for the previous final, so the next utterance's partials
    // are not stuck behind it on a 2-core machine.
    const { audio, speech } = await buildStream([0, 3], true, 4);
    // 2 s into each sentence the client waits for a partial (see runSession): every sentence shows text before it ends
    const messages = await runSession(
      server.url,
      audio,
      1,
      speech.map((s) => s.start + 2),
    );
    checkOrdering(messages);
    const pairs = matchFinals(messages, speech);
    const wer = pooledWer(pairs);
    assert.ok(wer <= 0.12, `WER ${wer}: ${JSON.stringify(pairs)}`);
    const finals = messages.filter((m) => m.type === 'final');
    const lastSpeechEnd = speech[speech.length - 1]!.end;
    for (const f of finals) {
      assert.ok((f.start as number) < lastSpeechEnd + 0.5, `a final over noise/silence: ${JSON.stringify(f)}`);
      assert.ok(
        speech.some((s) => (f.start as number) < s.end + 0.5 && (f.end as number) > s.start - 0.5),
        `final outside speech: ${f.text}`,
      );
    }
    // Utterances over 3 s get a partial before their final.
    for (const f of finals) {
      if ((f.end as number) - (f.start as number) <= 3) continue;
      const idx = messages.indexOf(f);
      assert.ok(
        messages.slice(0, idx).some((m) => m.type === 'partial' && m.utterance_id === f.utterance_id),
        `no partial before the final of utterance ${f.utterance_id}`,
      );
    }
    const starts = messages.filter((m) => m.type === 'speech_start').map((m) => m.utterance_id);
    assert.deepEqual(starts, [...new Set(starts)], 'utterance ids are unique');
  });

  it('handles audio sent faster than real time', async () => {
    const { audio, speech } = await buildStream([1, 2, 4], false);
    const messages = await runSession(server.url, audio, Infinity);
    checkOrdering(messages);
    const pairs = matchFinals(messages, speech);
    assert.ok(pooledWer(pairs) <= 0.12, JSON.stringify(pairs));
  });

  it('reports stats periodically and before done; every message matches the published schema', async () => {
    const schema = JSON.parse(readFileSync(new URL('../../docs/ws-protocol.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const validate = new Ajv2020({ strict: false }).addSchema(schema).getSchema('https://earshot.local/ws-protocol.schema.json#/$defs/serverMessage')!;
    const { audio, speech } = await buildStream([1, 4], false, 1.5);
    const c = await connect(server.url);
    c.ws.send(
      JSON.stringify({
        type: 'config',
        language: 'en',
        enrich: false,
        stats_interval_ms: 250,
        partial_interval_ms: 400,
        first_partial_ms: 300,
        // accurate finals (the 30 s window), cheap partials
        final_window: 'full',
        partial_window: 'fit',
        vad: { min_silence_ms: 600, min_pause_ms: 200 },
      }),
    );
    await c.next('ready');
    await sendAudio(c.ws, audio, Infinity);
    c.ws.send(JSON.stringify({ type: 'stop' }));
    const done = await c.next('done', 600_000);
    await c.closed;
    for (const m of c.messages) assert.ok(validate(m), `${JSON.stringify(m).slice(0, 200)}: ${JSON.stringify(validate.errors)}`);
    checkOrdering(c.messages);
    const stats = c.messages.filter((m) => m.type === 'stats');
    assert.ok(stats.length >= 1);
    // counters only grow; the last report comes right before done and agrees with it
    for (let i = 1; i < stats.length; i++) {
      for (const k of ['received_seconds', 'finals', 'partial_decodes', 'speculative_decodes'] as const)
        assert.ok((stats[i]![k] as number) >= (stats[i - 1]![k] as number), k);
    }
    const last = stats.at(-1)!;
    assert.equal(c.messages.indexOf(last), c.messages.indexOf(done) - 1);
    const finals = c.messages.filter((m) => m.type === 'final');
    assert.equal(last.finals, finals.length);
    assert.equal(last.lag_seconds, 0); // nothing waits any more
    assert.ok((last.finals_reused as number) + (last.finals_decoded as number) >= finals.length);
    assert.ok((last.rtf as number) > 0);
    assert.equal(last.received_seconds, audio.length / RATE);
    assert.ok(pooledWer(matchFinals(c.messages, speech)) <= 0.12);
  });

  it('serves 4 concurrent sessions correctly', async () => {
    const streams = await Promise.all([[0], [1], [2], [4]].map((ids) => buildStream(ids, false)));
    const results = await Promise.all(streams.map((s) => runSession(server.url, s.audio, 2)));
    const pairs = results.flatMap((messages, i) => {
      checkOrdering(messages);
      return matchFinals(messages, streams[i]!.speech);
    });
    assert.ok(pooledWer(pairs) <= 0.12, JSON.stringify(pairs));
  });

  it('answers malformed input with error messages and keeps the session or closes cleanly', async () => {
    const c = await connect(server.url);
    c.ws.send('{not json');
    assert.equal((await c.next('error')).code, 'bad_json');
    c.ws.send(JSON.stringify({ type: 'dance' }));
    assert.equal((await c.next('error')).code, 'unknown_type');
    c.ws.send(JSON.stringify({ type: 'audio', data: '!!!not base64!!!' }));
    assert.equal((await c.next('error')).code, 'bad_base64');
    // Audio before config: the session starts with defaults...
    const clip = await loadClip(clips[1]!.path);
    c.ws.send(JSON.stringify({ type: 'audio', data: float32ToS16le(clip.subarray(0, 1600)).toString('base64') }));
    const ready = await c.next('ready');
    assert.equal((ready.format as { sample_rate: number }).sample_rate, 16000);
    // ...and a config after that is refused without ending it.
    c.ws.send(JSON.stringify({ type: 'config', language: 'en' }));
    assert.equal((await c.next('error')).code, 'config_after_start');
    c.ws.send(Buffer.alloc(3));
    assert.equal((await c.next('error')).code, 'bad_frame');
    c.ws.send(Buffer.alloc(2 * 1024 * 1024));
    assert.equal((await c.next('error')).code, 'frame_too_large');
    // The session still transcribes.
    await sendAudio(c.ws, clip.subarray(1600), Infinity);
    await sendAudio(c.ws, new Float32Array(RATE * 2), Infinity);
    c.ws.send(JSON.stringify({ type: 'stop' }));
    await c.next('done', 300_000);
    const finals = c.messages.filter((m) => m.type === 'final');
    assert.ok(pooledWer([{ reference: clips[1]!.reference, hypothesis: finals.map((f) => f.text).join(' ') }]) <= 0.2, JSON.stringify(finals));
    // A bad config closes the session cleanly with a reason.
    const d = await connect(server.url);
    d.ws.send(JSON.stringify({ type: 'config', sample_rate: 7 }));
    assert.equal((await d.next('error')).code, 'invalid_config');
    assert.equal(await d.closed, 1008);
    const e = await connect(server.url);
    e.ws.send(JSON.stringify({ type: 'config', language: 'klingon' }));
    assert.equal((await e.next('error')).code, 'invalid_config');
    assert.equal(await e.closed, 1008);
    const f = await connect(server.url);
    f.ws.send(JSON.stringify({ type: 'config', first_partial_ms: 20 }));
    const refused = await f.next('error');
    assert.equal(refused.code, 'invalid_config');
    assert.match(String(refused.message), /first_partial_ms/);
    assert.equal(await f.closed, 1008);
    const g = await connect(server.url);
    g.ws.send(JSON.stringify({ type: 'config', final_window: 'wide' }));
    const wide = await g.next('error');
    assert.equal(wide.code, 'invalid_config');
    assert.match(String(wide.message), /final_window/);
    assert.equal(await g.closed, 1008);
  });

  it('50 connect/abort cycles leave workers and memory flat', async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) * 1024;
    const workersBefore = await workerPids(server.pid);
    const clip = await loadClip(clips[0]!.path);
    const cycle = async (i: number) => {
      const c = await connect(server.url);
      c.ws.send(JSON.stringify({ type: 'config', language: 'en' }));
      await c.next('ready');
      c.ws.send(float32ToS16le(clip.subarray(0, RATE * (1 + (i % 3)))));
      if (i % 2) c.ws.terminate();
      else c.ws.close();
      await c.closed;
    };
    for (let i = 0; i < 10; i++) await cycle(i); // warm up allocations
    const before = rss();
    for (let i = 0; i < 50; i++) await cycle(i);
    await new Promise((r) => setTimeout(r, 2000));
    const after = rss();
    assert.deepEqual(await workerPids(server.pid), workersBefore, 'same workers, none leaked or killed');
    assert.ok(after - before < 64 * 1024 * 1024, `RSS grew by ${((after - before) / 1048576).toFixed(1)} MiB`);
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, any>;
    assert.equal(health.status, 'ok');
    assert.equal(health.queued, 0);
  });
});
