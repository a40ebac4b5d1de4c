// `earshot listen` against a real Earshot server: a stream with "hey jarvis" (espeak-ng), a recorded sentence and
// silence yields exactly one detection and the sentence's transcript; speech and noise without it yield nothing;
// an unreachable server keeps the utterance queued until it comes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { encodeWavS16 as encodeWav } from '../../src/audio/wav.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { concat, decodeFile, LIBRIVOX, NOISE, SENTENCE_0870, silence, speak, toBytes } from './helpers/audio.js';
import { runListen, startListen } from './helpers/listen-cli.js';

// "and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them"
const SENTENCE_WORDS = ['john', 'dashwood', 'leisure', 'consider', 'how much', 'prudently', 'power'];

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'earshot-listen-e2e-'));

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const wakeThenSentence = () => concat(silence(1), speak('hey jarvis', 'en-gb-x-rp', 150), silence(0.3), decodeFile(SENTENCE_0870), silence(4));

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function heardSentence(text: string): number {
  const lower = text.toLowerCase();
  return SENTENCE_WORDS.filter((w) => lower.includes(w)).length;
}

test('stdin stream: one detection, the sentence transcribed, timings in JSON lines', async () => {
  const run = await runListen(['--server', server.url, '--input', '-', '--json', '--language', 'en'], { stdin: toBytes(wakeThenSentence()) });
  assert.equal(run.code, 0, run.stderr);
  const events = jsonLines(run.stdout);
  const detections = events.filter((e) => e.type === 'detection');
  const transcripts = events.filter((e) => e.type === 'transcript');
  assert.equal(detections.length, 1, run.stdout);
  assert.equal(transcripts.length, 1, run.stdout);
  const [t] = transcripts;
  assert.equal(t.wakeword, 'hey_jarvis');
  assert.ok((t.score as number) >= 0.5);
  assert.ok((t.recordingSeconds as number) > 6 && (t.recordingSeconds as number) < 10, `recorded ${t.recordingSeconds}`);
  assert.equal(t.endedBy, 'silence');
  assert.equal(typeof t.serverLatencyMs, 'number');
  assert.ok(Array.isArray(t.segments) && (t.segments as unknown[]).length > 0);
  assert.ok(heardSentence(String(t.text)) >= 4, `transcript: ${t.text}`);
});

test('a 2 s pause after the wake word: the sentence after it is still recorded and transcribed', async () => {
  const audio = concat(silence(1), speak('hey jarvis', 'en-gb-x-rp', 150), silence(2), decodeFile(SENTENCE_0870), silence(4));
  const run = await runListen(['--server', server.url, '--input', '-', '--json', '--language', 'en'], { stdin: toBytes(audio) });
  assert.equal(run.code, 0, run.stderr);
  const transcripts = jsonLines(run.stdout).filter((e) => e.type === 'transcript');
  assert.equal(transcripts.length, 1, run.stdout);
  assert.equal(transcripts[0]!.endedBy, 'silence');
  assert.ok(heardSentence(String(transcripts[0]!.text)) >= 4, `transcript: ${transcripts[0]!.text}`);
});

test('file input (any format) in plain mode prints the transcript; --exec receives it', async () => {
  const wav = join(dir, 'stream.wav');
  const ogg = join(dir, 'stream.ogg');
  writeFileSync(wav, encodeWav(wakeThenSentence()));
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-c:a', 'libvorbis', '-q:a', '6', ogg]);
  const out = join(dir, 'exec.txt');
  const script = join(dir, 'save.mjs');
  writeFileSync(
    script,
    `import { appendFileSync } from 'node:fs'; appendFileSync(${JSON.stringify(out)}, process.env.EARSHOT_TEXT + '\\n' + process.argv.at(-1) + '\\n');`,
  );
  const run = await runListen(['--server', server.url, '--input', ogg, '--exec', `"${process.execPath}" "${script}"`]);
  assert.equal(run.code, 0, run.stderr);
  const printed = run.stdout.trim().split('\n');
  assert.equal(printed.length, 1, run.stdout);
  assert.ok(heardSentence(printed[0]) >= 4, `transcript: ${printed[0]}`);
  assert.match(run.stderr, /wake word hey_jarvis \(score [0-9.]+\)/);
  assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), [printed[0], printed[0]]);
});

test('long real speech and noise without the wake word: no detection, nothing sent', async () => {
  const speech = ['0880', '0890', '0920', '0930'].map((n) => decodeFile(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${n}.wav`));
  const noise = decodeFile(NOISE);
  const audio = concat(...speech, noise, silence(1), decodeFile(SENTENCE_0870), noise, ...speech);
  const run = await runListen(['--server', server.url, '--input', '-', '--json'], { stdin: toBytes(audio) });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), '');
  assert.doesNotMatch(run.stderr, /wake word/);
});

test('server unreachable: clear message, utterance kept and delivered once the server is back', async () => {
  // The client talks to a port where nothing listens yet; later a plain TCP relay to the real server opens there.
  const port = await freePort();
  const client = startListen(['--server', `http://127.0.0.1:${port}`, '--input', '-', '--json'], { stdin: toBytes(wakeThenSentence()) });
  let relay: Server | null = null;
  try {
    for (let i = 0; i < 600 && !/unreachable/.test(client.stderrSoFar()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(
      client.stderrSoFar(),
      /server unreachable at http:\/\/127\.0\.0\.1:\d+\/transcribe \(ECONNREFUSED\); retrying in \d+ s \(1 utterance queued\), still listening/,
    );
    relay = await tcpRelay(port, server.port);
    const run = await client.done;
    assert.equal(run.code, 0, run.stderr);
    const events = jsonLines(run.stdout);
    assert.ok(events.some((e) => e.type === 'error' && e.retrying === true));
    const transcripts = events.filter((e) => e.type === 'transcript');
    assert.equal(transcripts.length, 1);
    assert.ok(heardSentence(String(transcripts[0].text)) >= 4, `transcript: ${transcripts[0].text}`);
  } finally {
    client.kill();
    await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
  }
});

test('server errors that retrying cannot fix are reported and the client exits non-zero', async () => {
  const locked = await startServer({ args: ['--api-key', 'right-key'] });
  try {
    const run = await runListen(['--server', locked.url, '--input', '-', '--api-key', 'wrong-key', '--retry-window', '5'], {
      stdin: toBytes(wakeThenSentence()),
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /transcription failed .*server answered 401.*check --api-key/);
    const ok = await runListen(['--server', locked.url, '--input', '-', '--api-key', 'right-key'], { stdin: toBytes(wakeThenSentence()) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(heardSentence(ok.stdout) >= 4, ok.stdout);
  } finally {
    await locked.stop();
  }
});

/** A byte-for-byte TCP relay from `from` to `to` on localhost. */
function tcpRelay(from: number, to: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const relay = createServer((inbound) => {
    const outbound = connect(to, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  const close = relay.close.bind(relay);
  relay.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof relay.close;
  return new Promise((resolve) => relay.listen(from, '127.0.0.1', () => resolve(relay)));
}
