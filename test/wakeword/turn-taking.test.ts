// Turn-taking after the wake word, on real audio with the real detector and the server's Silero VAD (no server):
// people pause after "hey jarvis" — 0.5, 1 or 2 s — and the whole sentence that follows is still recorded, ended
// by the VAD; nobody speaking gives up quietly; an invented transcript is dropped by the client-side filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HallucinationFilter } from '../../src/pipeline/filter/index.js';
import { SileroVadModel } from '../../src/pipeline/vad/index.js';
import { WakewordDetector } from '../../src/wakeword/detector.js';
import { judgeTranscript } from '../../src/wakeword/hallucination.js';
import { WakewordListener, type ListenEvent, type ListenerOptions } from '../../src/wakeword/listener.js';
import { TurnEndpointer } from '../../src/wakeword/turn.js';
import { chunksOf, concat, decodeFile, RATE, SENTENCE_0870, silence, speak } from './helpers/audio.js';

const SEED_000: ListenerOptions = { threshold: 0.5, silenceDuration: 1.5, silenceThreshold: 500, maxDuration: 10, cooldown: 3, preRoll: 0.5 };
const TURN = { speechTimeout: 4, silenceDuration: 1.5, maxDuration: 10 };

const detector = await WakewordDetector.create({ wakewords: ['hey_jarvis'] });
const vad = await SileroVadModel.load();
test.after(async () => {
  await detector.release();
  await vad.close();
});

const heyJarvis = speak('hey jarvis', 'en-gb-x-rp', 150);
const sentence = decodeFile(SENTENCE_0870); // 7.1 s: "and mister john dashwood had then leisure to consider …"
const sentenceSeconds = sentence.length / RATE;

async function listen(audio: Int16Array, endpointer?: TurnEndpointer): Promise<ListenEvent[]> {
  detector.resetAll();
  const listener = new WakewordListener(detector, SEED_000, undefined, endpointer);
  const events: ListenEvent[] = [];
  async function* source() {
    yield* chunksOf(audio);
  }
  for await (const event of listener.run(source())) events.push(event);
  return events;
}

for (const pause of [0.5, 1, 2]) {
  test(`a ${pause} s pause after the wake word: the whole sentence is recorded, ended by the VAD after it`, async () => {
    const audio = concat(silence(1), heyJarvis, silence(pause), sentence, silence(3));
    const events = await listen(audio, new TurnEndpointer(vad.createDetector(), TURN));
    assert.deepEqual(
      events.map((e) => e.type),
      ['detection', 'utterance'],
    );
    const utterance = events[1] as Extract<ListenEvent, { type: 'utterance' }>;
    assert.equal(utterance.endedBy, 'silence');
    // from the detection: the pause, the sentence, then the end-of-speech silence (1.5 s) and no more than a VAD frame or two
    assert.ok(utterance.recordingSeconds > pause + sentenceSeconds, `recorded ${utterance.recordingSeconds} s`);
    assert.ok(utterance.recordingSeconds < pause + sentenceSeconds + 1.5 + 0.6, `recorded ${utterance.recordingSeconds} s`);
  });
}

test("for contrast, seed 000's level rule ends a recording at a 2 s pause before the sentence begins", async () => {
  const events = await listen(concat(silence(1), heyJarvis, silence(2), sentence, silence(3)));
  const utterance = events.find((e) => e.type === 'utterance') as Extract<ListenEvent, { type: 'utterance' }>;
  assert.ok(utterance.recordingSeconds < 2, `recorded ${utterance.recordingSeconds} s`);
});

test('nobody speaks after the wake word: the listener gives up quietly after the speech timeout and listens again', async () => {
  const audio = concat(silence(1), heyJarvis, silence(6), heyJarvis, silence(0.5), sentence, silence(2));
  const events = await listen(audio, new TurnEndpointer(vad.createDetector(), TURN));
  assert.deepEqual(
    events.map((e) => e.type),
    ['detection', 'no-speech', 'listening', 'detection', 'utterance'],
  );
  const gaveUp = events[1] as Extract<ListenEvent, { type: 'no-speech' }>;
  const detected = events[0] as Extract<ListenEvent, { type: 'detection' }>;
  assert.ok(
    Math.abs(gaveUp.streamTime - detected.detection.streamTime - TURN.speechTimeout) < 0.2,
    `gave up after ${gaveUp.streamTime - detected.detection.streamTime} s`,
  );
});

test('client-side filter: a transcript invented over a silent recording is dropped; real speech is kept', async () => {
  const filter = new HallucinationFilter();
  const detectorVad = vad.createDetector();
  const quiet = concat(silence(0.4), heyJarvis.subarray(heyJarvis.length - 1600), silence(2));
  const invented = await judgeTranscript(
    filter,
    { text: 'Thank you.', language: 'en', segments: [{ start: 0.5, end: 2.5, text: ' Thank you.' }], body: {} },
    quiet,
    detectorVad,
    'en',
  );
  assert.equal(invented.text, '');
  assert.ok(invented.dropped.length > 0);
  const text = 'And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to do for them.';
  const real = await judgeTranscript(
    filter,
    { text, language: 'en', segments: [{ start: 0, end: sentenceSeconds, text }], body: {} },
    sentence,
    detectorVad,
    'en',
  );
  assert.equal(real.text, text);
});
