// The Wyoming server against the real `wyoming` Python client (as Home Assistant uses it) and a real
// model: describe, live transcription at real-time pace, wake-word detection, and malformed frames.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pooledWer } from '../../src/eval/wer.js';
import { encodeEvent, WyomingDecoder, type WyomingEvent } from '../../src/protocols/wyoming/framing.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { concat, decodeFile, SENTENCE_0870, silence, speak } from '../wakeword/helpers/audio.js';
import { ensureVenv, librivoxStream, rawPcm, runWyomingClient, workDir, type ClientLine } from './helpers.js';

let server: TestServer;
let uri: string;
let port: number;
const FRAME_TIMEOUT_S = 2;

before(async () => {
  ensureVenv();
  port = await freePort();
  uri = `tcp://127.0.0.1:${port}`;
  const config = join(workDir, 'wyoming-config.json');
  writeFileSync(config, JSON.stringify({ wyoming: { frameTimeoutSeconds: FRAME_TIMEOUT_S } }));
  // zeroconf off: tests never send multicast onto the network
  // Whisper's live path (LocalAgreement partials), as the /ws streaming tests pin it
  server = await startServer({ args: ['--wyoming', uri, '--no-zeroconf', '--config', config], env: { EARSHOT_LIVE_MODEL: 'base' } });
});

after(async () => {
  await server?.stop();
});

const ofType = (lines: ClientLine[], type: string) => lines.filter((l) => l.type === type);

describe('Wyoming: describe', () => {
  it('lists the installed models as one streaming ASR program and the wake words as a wake program', async () => {
    const lines = await runWyomingClient(['describe', uri]);
    const done = lines.at(-1)!;
    assert.equal(done.type, '_done', JSON.stringify(lines));
    const asr = done.asr as Array<{
      name: string;
      streaming: boolean;
      models: Array<{ name: string; languages: string[]; installed: boolean; attribution: string }>;
    }>;
    assert.equal(asr.length, 1);
    assert.equal(asr[0]!.name, 'earshot');
    assert.equal(asr[0]!.streaming, true);
    const base = asr[0]!.models.find((m) => m.name === 'base');
    assert.ok(base, `models: ${asr[0]!.models.map((m) => m.name).join(', ')}`);
    assert.ok(base.installed);
    assert.ok(base.languages.includes('en') && base.languages.includes('ko'));
    assert.equal(base.attribution, 'OpenAI');
    const wake = done.wake as Array<{ name: string; models: Array<{ name: string; phrase: string }> }>;
    assert.equal(wake.length, 1);
    assert.deepEqual(
      wake[0]!.models.find((m) => m.name === 'hey_jarvis'),
      { name: 'hey_jarvis', phrase: 'hey jarvis' },
    );
  });
});

describe('Wyoming: transcription', () => {
  it('streams held-out speech at real-time pace: transcript-chunk events before audio-stop, WER ≤ 12 %', async () => {
    const { audio, reference, seconds } = librivoxStream();
    const raw = rawPcm(audio, 16000, 1, 2, 'librivox-16k.raw');
    const lines = await runWyomingClient(['transcribe', uri, raw, '16000', '2', '1', 'en', '1']);
    const events = lines.filter((l) => !l.type.startsWith('_'));
    const stopAt = lines.find((l) => l.type === '_audio_stop')!.t!;
    assert.ok(stopAt >= seconds * 0.95, `sent at real-time pace (${stopAt.toFixed(1)} s for ${seconds.toFixed(1)} s)`);
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'transcript-start', types.join(' '));
    assert.equal(types.at(-1), 'transcript-stop');
    assert.equal(types.at(-2), 'transcript');
    const chunks = ofType(events, 'transcript-chunk');
    const live = chunks.filter((c) => !c.after_stop);
    assert.ok(
      live.length >= 1,
      `transcript-chunk while audio was still streaming (chunks at ${chunks.map((c) => c.t!.toFixed(1)).join(', ')} s; stop at ${stopAt.toFixed(1)} s)`,
    );
    const transcript = ofType(events, 'transcript')[0]!.data as { text: string; language?: string };
    assert.equal(chunks.map((c) => (c.data as { text: string }).text).join(''), transcript.text, 'the chunks add up to the transcript');
    assert.equal(transcript.language, 'en');
    const wer = pooledWer([{ reference, hypothesis: transcript.text }]);
    assert.ok(wer <= 0.12, `WER ${(wer * 100).toFixed(1)} %: ${transcript.text}`);
    // the VAD reports voice around each sentence
    assert.ok(ofType(events, 'voice-started').length >= 3);
    assert.ok(ofType(events, 'voice-stopped').length >= 3);
  });
});

describe('Wyoming: wake word', () => {
  it('detects an espeak "hey jarvis" followed by speech, sent as 48 kHz stereo', async () => {
    const wake = speak('hey jarvis', 'en-gb-x-rp', 150);
    const audio = concat(silence(1), wake, silence(0.3), decodeFile(SENTENCE_0870), silence(1));
    const raw = rawPcm(audio, 48000, 2, 2, 'wake-48k-stereo.raw');
    const lines = await runWyomingClient(['detect', uri, raw, '48000', '2', '2', 'hey_jarvis']);
    const detections = ofType(lines, 'detection');
    assert.equal(detections.length, 1, JSON.stringify(lines));
    const d = detections[0]!.data as { name: string; timestamp: number };
    assert.equal(d.name, 'hey_jarvis');
    const wakeEndMs = ((16000 + wake.length) / 16000) * 1000;
    assert.ok(d.timestamp >= 1000 && d.timestamp <= wakeEndMs + 500, `timestamp ${d.timestamp} ms; the wake word spans 1000–${wakeEndMs.toFixed(0)} ms`);
    assert.equal(ofType(lines, 'not-detected').length, 0);
  });

  it('answers not-detected for speech without the wake word, sent as 22.05 kHz 32-bit', async () => {
    const { audio } = librivoxStream();
    const raw = rawPcm(audio, 22050, 1, 4, 'speech-22k-s32.raw');
    const lines = await runWyomingClient(['detect', uri, raw, '22050', '4', '1', '-']);
    assert.equal(ofType(lines, 'detection').length, 0, JSON.stringify(lines));
    assert.equal(ofType(lines, 'not-detected').length, 1);
  });
});

/** A raw TCP peer: writes whatever bytes the test wants, reads what the server sends. */
class RawPeer {
  readonly events: WyomingEvent[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new WyomingDecoder();
  private readonly socket: Socket;

  constructor(portNumber: number) {
    this.socket = connect(portNumber, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => this.events.push(...this.decoder.push(d)));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  end(): void {
    this.socket.end();
  }

  async next(type: string, timeoutMs = 10_000): Promise<WyomingEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} event; got ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** resolves with the time it took the server to close the connection */
  async closedWithin(ms: number): Promise<number> {
    const t0 = Date.now();
    await Promise.race([this.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms))]);
    return Date.now() - t0;
  }
}

describe('Wyoming: malformed frames close that connection and leave the server serving others', () => {
  let bystander: RawPeer;

  before(async () => {
    bystander = new RawPeer(port);
    bystander.write(encodeEvent('ping', { text: 'before' }));
    await bystander.next('pong');
  });

  after(async () => {
    // the connection opened before all the bad ones still works, and a new client still gets served
    bystander.write(encodeEvent('ping', { text: 'after' }));
    const pongs = async () => {
      for (let i = 0; i < 100 && bystander.events.filter((e) => e.type === 'pong').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      return bystander.events.filter((e) => e.type === 'pong').map((e) => e.data.text);
    };
    assert.deepEqual(await pongs(), ['before', 'after']);
    bystander.end();
    const lines = await runWyomingClient(['describe', uri]);
    assert.equal(lines.at(-1)!.type, '_done');
  });

  it('a header that is not JSON', async () => {
    const peer = new RawPeer(port);
    peer.write('{"type": "describe", oops\n');
    const error = await peer.next('error');
    assert.equal(error.data.code, 'bad-header');
    await peer.closedWithin(5000);
  });

  it('data that is not JSON', async () => {
    const peer = new RawPeer(port);
    peer.write('{"type": "transcribe", "data_length": 9}\n{"name": }');
    assert.equal((await peer.next('error')).data.code, 'bad-data');
    await peer.closedWithin(5000);
  });

  it('a data_length larger than the data that follows', async () => {
    const peer = new RawPeer(port);
    peer.write('{"type": "transcribe", "data_length": 500}\n{"language": "en"}');
    const error = await peer.next('error', FRAME_TIMEOUT_S * 1000 + 5000);
    assert.equal(error.data.code, 'frame-timeout');
    await peer.closedWithin(5000);
  });

  it('a payload_length larger than the payload that follows', async () => {
    const peer = new RawPeer(port);
    peer.write(encodeEvent('audio-start', { rate: 16000, width: 2, channels: 1 }));
    peer.write(
      Buffer.concat([
        Buffer.from('{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 64000}\n'),
        Buffer.alloc(3200),
      ]),
    );
    assert.equal((await peer.next('error', FRAME_TIMEOUT_S * 1000 + 5000)).data.code, 'frame-timeout');
    await peer.closedWithin(5000);
  });

  it('a huge length is refused at once', async () => {
    const peer = new RawPeer(port);
    peer.write('{"type": "audio-chunk", "payload_length": 1000000000000}\n');
    const error = await peer.next('error', 2000);
    assert.equal(error.data.code, 'too-large');
    await peer.closedWithin(2000);
  });

  it('a header line without end', async () => {
    const peer = new RawPeer(port);
    peer.write(`{"type": "describe", "pad": "${'x'.repeat(70 * 1024)}`);
    assert.equal((await peer.next('error', 2000)).data.code, 'too-large');
    await peer.closedWithin(2000);
  });

  it('a client that disconnects in the middle of a payload during a transcription', async () => {
    const peer = new RawPeer(port);
    peer.write(encodeEvent('transcribe', { language: 'en' }));
    peer.write(encodeEvent('audio-start', { rate: 16000, width: 2, channels: 1 }));
    await peer.next('transcript-start');
    peer.write(
      Buffer.concat([
        Buffer.from('{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 32000}\n'),
        Buffer.alloc(1000),
      ]),
    );
    peer.end();
    await peer.closedWithin(5000);
  });
});
