// The listen client's plumbing, each part on real inputs: command splitting and --exec without a shell,
// settings layering, WAV encoding, ffmpeg/stdin audio input, and the retrying upload queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { audioChunks, microphoneCommand, rechunk } from '../../src/wakeword/audio-input.js';
import { listenConfigFromEnv as configFromEnv, listenConfigFromFile as configFromFile, resolveListenConfig } from '../../src/config/listen.js';
import { runExec, splitCommand } from '../../src/wakeword/exec.js';
import { resolveWakewordModel } from '../../src/wakeword/wakeword-models.js';
import { TranscribeError } from '../../src/wakeword/transcribe-client.js';
import { UploadQueue } from '../../src/wakeword/upload-queue.js';
import { decodeWav, encodeWavS16 as encodeWav } from '../../src/audio/wav.js';
import { decodeFile, NOISE } from './helpers/audio.js';

const dir = mkdtempSync(join(tmpdir(), 'earshot-listen-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('splitCommand: words and quotes like a shell, no expansions', () => {
  assert.deepEqual(splitCommand('notify-send -a "Earshot bot"'), ['notify-send', '-a', 'Earshot bot']);
  assert.deepEqual(splitCommand(`say 'it'\\''s' "a \\"b\\"" c\\ d`), ['say', "it's", 'a "b"', 'c d']);
  assert.deepEqual(splitCommand('echo $HOME `id` ; rm'), ['echo', '$HOME', '`id`', ';', 'rm']);
  assert.deepEqual(splitCommand('x ""'), ['x', '']);
  assert.throws(() => splitCommand('echo "open'), /unterminated/);
  assert.throws(() => splitCommand('   '), /empty/);
});

test('--exec gets the transcript verbatim as its last argument and in EARSHOT_TEXT, never via a shell', async () => {
  const script = join(dir, 'record args.mjs');
  const out = join(dir, 'out.json');
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
writeFileSync(process.argv[2], JSON.stringify({ args: process.argv.slice(3), text: process.env.EARSHOT_TEXT, wakeword: process.env.EARSHOT_WAKEWORD }));`,
  );
  const text = `turn on "the" light; $(touch ${join(dir, 'pwned')}) \`id\` && echo 'x' | cat`;
  const code = await runExec(`"${process.execPath}" "${script}" "${out}" --flag`, { text, wakeword: 'hey_jarvis' });
  assert.equal(code, 0);
  const seen = JSON.parse(readFileSync(out, 'utf8')) as { args: string[]; text: string; wakeword: string };
  assert.deepEqual(seen.args, ['--flag', text]);
  assert.equal(seen.text, text);
  assert.equal(seen.wakeword, 'hey_jarvis');
  assert.throws(() => readFileSync(join(dir, 'pwned')));
  assert.equal(await runExec(`"${process.execPath}" -e "process.exit(3)"`, { text: 'x', wakeword: 'w' }), 3);
  await assert.rejects(runExec('/nonexistent/earshot-cmd', { text: 'x', wakeword: 'w' }), /ENOENT/);
});

test('settings: seed 000 defaults, then config file < env < flags; seed names accepted', () => {
  const defaults = resolveListenConfig({ server: 'http://localhost:8000' });
  assert.deepEqual(
    { ...defaults },
    {
      server: 'http://localhost:8000',
      wakewords: ['hey_jarvis'],
      threshold: 0.5,
      input: 'mic',
      silenceDuration: 1.5,
      silenceThreshold: 500,
      maxDuration: 10,
      cooldown: 3,
      preRoll: 0.5,
      json: false,
      vad: false,
      realtime: false,
      retryWindow: 300,
      speechTimeout: 4,
      endpoint: 'vad',
      filter: true,
    },
  );
  const file = join(dir, 'listen.json');
  writeFileSync(
    file,
    JSON.stringify({
      listen: { server_url: 'http://file:1', wakeword_threshold: 0.7, cooldown_time: 5, max_recording_duration: 8, wakeword: 'alexa, hey_mycroft', json: true },
    }),
  );
  const fromFile = configFromFile(file);
  const fromEnv = configFromEnv({ EARSHOT_LISTEN_COOLDOWN: '2', EARSHOT_LISTEN_SILENCE_THRESHOLD: '800', EARSHOT_LISTEN_VAD: 'yes', PATH: '/bin' });
  const merged = resolveListenConfig(fromFile, fromEnv, { threshold: '0.6', cooldown: undefined });
  assert.equal(merged.server, 'http://file:1');
  assert.deepEqual(merged.wakewords, ['alexa', 'hey_mycroft']);
  assert.equal(merged.threshold, 0.6); // flag beats file
  assert.equal(merged.cooldown, 2); // env beats file; an unset flag does not override
  assert.equal(merged.maxDuration, 8);
  assert.equal(merged.silenceThreshold, 800);
  assert.equal(merged.vad, true);
  assert.equal(merged.json, true);
  assert.throws(() => configFromEnv({ EARSHOT_LISTEN_THRESHHOLD: '1' }), /unknown environment variable/);
  writeFileSync(file, JSON.stringify({ treshold: 1 }));
  assert.throws(() => configFromFile(file), /unknown setting "treshold"/);
  assert.throws(() => resolveListenConfig({}), /server/);
  assert.throws(() => resolveListenConfig({ server: 'http://x', threshold: '2' }), /threshold/);
});

test('wake-word models: built-in names in any spelling, or a path', () => {
  assert.equal(resolveWakewordModel('hey jarvis').name, 'hey_jarvis');
  assert.equal(resolveWakewordModel('Hey-Jarvis_v0.1').name, 'hey_jarvis');
  const own = resolveWakewordModel(resolveWakewordModel('alexa').path);
  assert.equal(own.name, 'alexa_v0.1');
  assert.throws(() => resolveWakewordModel('ok_computer'), /unknown wake word/);
  assert.throws(() => resolveWakewordModel('./ruby_chan.onnx'), /not found/);
});

test('WAV encode/decode round trip', () => {
  const samples = Int16Array.from({ length: 1000 }, (_, i) => Math.round(Math.sin(i / 7) * 20000));
  const wav = encodeWav(samples);
  assert.equal(wav.length, 44 + 2000);
  const back = decodeWav(wav);
  assert.equal(back.sampleRate, 16000);
  assert.equal(back.channels, 1);
  assert.deepEqual([...back.samples], [...samples]);
});

test('file input: any format through ffmpeg, 80 ms chunks, zero-padded tail', async () => {
  const chunks: Int16Array[] = [];
  for await (const c of audioChunks({ input: NOISE })) chunks.push(c);
  const reference = decodeFile(NOISE); // 48 kHz source, resampled by ffmpeg
  assert.equal(chunks.length, Math.ceil(reference.length / 1280));
  assert.ok(chunks.every((c) => c.length === 1280));
  assert.deepEqual([...chunks[3]], [...reference.subarray(3 * 1280, 4 * 1280)]);
  await assert.rejects(async () => {
    for await (const c of audioChunks({ input: join(dir, 'missing.wav') })) void c;
  }, /ffmpeg could not decode/);
});

test('raw input is re-chunked across arbitrary read sizes', async () => {
  const samples = Int16Array.from({ length: 3000 }, (_, i) => i - 1500);
  const bytes = Buffer.from(samples.buffer);
  const pieces = [bytes.subarray(0, 3), bytes.subarray(3, 2561), bytes.subarray(2561)];
  const out: number[] = [];
  for await (const c of rechunk(Readable.from(pieces))) out.push(...c);
  assert.equal(out.length, 3 * 1280);
  assert.deepEqual(out.slice(0, 3000), [...samples]);
  assert.ok(out.slice(3000).every((v) => v === 0));
});

test('microphone recorder per platform', () => {
  assert.equal(microphoneCommand(undefined, 'linux', (n) => n === 'arecord').command, 'arecord');
  assert.deepEqual(microphoneCommand('hw:1,0', 'linux', (n) => n === 'arecord').args.slice(-2), ['-D', 'hw:1,0']);
  assert.ok(microphoneCommand(undefined, 'linux', (n) => n === 'ffmpeg' || n === 'pactl').args.includes('pulse'));
  assert.ok(microphoneCommand(undefined, 'linux', (n) => n === 'ffmpeg').args.includes('alsa'));
  assert.ok(microphoneCommand('1', 'darwin', (n) => n === 'ffmpeg').args.includes(':1'));
  assert.ok(microphoneCommand('Microphone (USB)', 'win32', (n) => n === 'ffmpeg').args.includes('audio=Microphone (USB)'));
  assert.throws(() => microphoneCommand(undefined, 'win32', (n) => n === 'ffmpeg'), /--device/);
  assert.throws(() => microphoneCommand(undefined, 'linux', () => false), /no microphone recorder/);
});

test('upload queue: retries unreachable-server errors with backoff, in order, and gives up on others', async () => {
  const attempts: string[] = [];
  const results: string[] = [];
  const failures: string[] = [];
  const retries: number[] = [];
  let down = 2;
  const queue = new UploadQueue<string, string>({
    send: async (job) => {
      attempts.push(job);
      if (job === 'bad') throw new TranscribeError('server answered 400', false, 400);
      if (down-- > 0) throw new TranscribeError('server unreachable', true);
      return job.toUpperCase();
    },
    onResult: (_job, r) => void results.push(r),
    onFailure: (job) => void failures.push(job),
    onRetry: (_job, _e, delay) => void retries.push(delay),
    initialBackoffMs: 10,
  });
  queue.enqueue('first');
  queue.enqueue('bad');
  queue.enqueue('third');
  await queue.drain();
  assert.deepEqual(attempts, ['first', 'first', 'first', 'bad', 'third']);
  assert.deepEqual(results, ['FIRST', 'THIRD']);
  assert.deepEqual(failures, ['bad']);
  assert.deepEqual(retries, [10, 20]);

  const gaveUp: string[] = [];
  const stubborn = new UploadQueue<string, string>({
    send: async () => {
      throw new TranscribeError('server unreachable', true);
    },
    onResult: () => undefined,
    onFailure: (_job, e) => void gaveUp.push(e.message),
    retryWindowMs: 50,
    initialBackoffMs: 10,
  });
  stubborn.enqueue('x');
  await stubborn.drain();
  assert.match(gaveUp[0], /gave up/);
});
