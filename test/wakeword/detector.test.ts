// The wake-word detector and listener on real audio, no server: espeak-ng "hey jarvis" fires exactly once,
// real speech and noise never do, and the listener records, stops on silence and cools down as seed 000 did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { WakewordDetector } from '../../src/wakeword/detector.js';
import { WakewordListener, type ListenEvent, type ListenerOptions } from '../../src/wakeword/listener.js';
import { chunksOf, concat, decodeFile, LIBRIVOX, NOISE, RATE, SENTENCE_0870, silence, speak } from './helpers/audio.js';

const SEED_000: ListenerOptions = { threshold: 0.5, silenceDuration: 1.5, silenceThreshold: 500, maxDuration: 10, cooldown: 3, preRoll: 0.5 };

const detector = await WakewordDetector.create({ wakewords: ['hey_jarvis'] });
test.after(() => detector.release());

async function peakScore(audio: Int16Array, label = 'hey_jarvis'): Promise<number> {
  detector.resetAll();
  let peak = 0;
  for (const chunk of chunksOf(audio)) peak = Math.max(peak, (await detector.process(chunk)).scores.get(label) ?? 0);
  return peak;
}

async function listen(audio: Int16Array, options: Partial<ListenerOptions> = {}, onScores?: (s: Map<string, number>) => void): Promise<ListenEvent[]> {
  detector.resetAll();
  const listener = new WakewordListener(detector, { ...SEED_000, ...options }, onScores);
  const events: ListenEvent[] = [];
  async function* source() {
    yield* chunksOf(audio);
  }
  for await (const event of listener.run(source())) events.push(event);
  return events;
}

const heyJarvis = speak('hey jarvis', 'en-gb-x-rp', 150);

test('espeak-ng "hey jarvis" scores above the threshold in several voices', async (t) => {
  for (const [voice, speed] of [
    ['en-gb-x-rp', 150],
    ['en-us', 175],
    ['en', 150],
    ['en-us-nyc', 150],
  ] as const) {
    const peak = await peakScore(concat(silence(1), speak('hey jarvis', voice, speed), silence(1)));
    t.diagnostic(`${voice} @${speed} wpm: peak ${peak.toFixed(3)}`);
    assert.ok(peak >= 0.5, `${voice} @${speed}: ${peak}`);
  }
});

test('wake word, sentence, silence: one detection, one utterance ended by silence, with the pre-roll', async () => {
  const sentence = decodeFile(SENTENCE_0870);
  const events = await listen(concat(silence(1), heyJarvis, silence(0.3), sentence, silence(4)));
  const detections = events.filter((e) => e.type === 'detection');
  const utterances = events.filter((e) => e.type === 'utterance');
  assert.equal(detections.length, 1);
  assert.equal(utterances.length, 1);
  const [d] = detections;
  const [u] = utterances;
  assert.equal(d.detection.wakeword, 'hey_jarvis');
  assert.ok(d.detection.score >= 0.5);
  // Detection lands within the wake word or shortly after it, before the sentence is over.
  const wakeEnd = 1 + heyJarvis.length / RATE;
  assert.ok(d.detection.streamTime > 1 && d.detection.streamTime < wakeEnd + 1, `detected at ${d.detection.streamTime}`);
  assert.equal(u.endedBy, 'silence');
  // Everything from the detection through the sentence plus ~1.5 s of quiet (the recording ends in a
  // quiet 0.3 s of its own); never the whole 4 s tail.
  const sentenceEnd = wakeEnd + 0.3 + sentence.length / RATE;
  assert.ok(u.recordingSeconds >= sentenceEnd - d.detection.streamTime + 1.0, `recorded ${u.recordingSeconds}`);
  assert.ok(u.recordingSeconds <= sentenceEnd - d.detection.streamTime + 1.7, `recorded ${u.recordingSeconds}`);
  assert.equal(u.audio.length, Math.round(u.recordingSeconds * RATE) + 0.5 * RATE);
});

test('a recording that never goes quiet stops at the maximum duration', async () => {
  const sentence = decodeFile(SENTENCE_0870);
  const events = await listen(concat(silence(1), heyJarvis, sentence, sentence, silence(2)), { maxDuration: 4 });
  const utterances = events.filter((e) => e.type === 'utterance');
  assert.equal(utterances.length, 1);
  assert.equal(utterances[0].endedBy, 'max');
  assert.ok(Math.abs(utterances[0].recordingSeconds - 4) < 0.1);
});

test('the cool-down swallows a repeat; after it the wake word works again', async () => {
  const gap = silence(2.5); // 1.5 s of it ends the recording, the rest falls into the 3 s cool-down
  const repeatInCooldown = await listen(concat(silence(1), heyJarvis, gap, heyJarvis, silence(4)));
  assert.equal(repeatInCooldown.filter((e) => e.type === 'detection').length, 1);
  const repeatAfter = await listen(concat(silence(1), heyJarvis, gap, silence(4), heyJarvis, silence(3)));
  assert.equal(repeatAfter.filter((e) => e.type === 'detection').length, 2);
  assert.ok(repeatAfter.some((e) => e.type === 'listening'));
});

test('long real speech and noise without the wake word: no detection', async (t) => {
  const speech = readdirSync(LIBRIVOX)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => decodeFile(`${LIBRIVOX}/${f}`));
  const noise = decodeFile(NOISE);
  const cards = readdirSync('/usr/share/pocketsphinx/test/data/cards')
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => decodeFile(`/usr/share/pocketsphinx/test/data/cards/${f}`));
  const loudNoise = noise.map((v) => Math.max(-32768, Math.min(32767, v * 4)));
  const audio = concat(...speech, noise, ...cards, loudNoise, ...speech.reverse(), noise, noise);
  let peak = 0;
  const events = await listen(audio, {}, (scores) => (peak = Math.max(peak, scores.get('hey_jarvis')!)));
  t.diagnostic(`${(audio.length / RATE).toFixed(1)} s of speech and noise, peak hey_jarvis score ${peak.toFixed(4)}`);
  assert.equal(events.filter((e) => e.type === 'detection').length, 0);
  assert.ok(peak < 0.5);
});

test('VAD gate: same single detection on speech, models skipped during silence and noise-free stretches', async () => {
  const gated = await WakewordDetector.create({ wakewords: ['hey_jarvis'], vad: true });
  try {
    const audio = concat(silence(5), heyJarvis, silence(3));
    let peak = 0;
    let gatedChunks = 0;
    let chunks = 0;
    for (const chunk of chunksOf(audio)) {
      const { scores, gated: skipped } = await gated.process(chunk);
      peak = Math.max(peak, scores.get('hey_jarvis')!);
      if (skipped) gatedChunks++;
      chunks++;
    }
    assert.ok(peak >= 0.5, `gated peak ${peak}`);
    assert.ok(Math.abs(peak - (await peakScore(audio))) < 0.02, 'replay after the gate opens reproduces the ungated score');
    assert.ok(gatedChunks > chunks / 2, `only ${gatedChunks}/${chunks} chunks gated`);
  } finally {
    await gated.release();
  }
});
