// The segmenter on real speech (pocketsphinx test recordings) joined with silence and real noise,
// pushed in uneven chunks like a network client would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenter, type SegmenterEvent } from '../../src/pipeline/segmenter.js';
import { SileroVadModel, SpeechMap } from '../../src/pipeline/vad/index.js';
import { ALSA_NOISE, SR, card, chunked, compose, decode16k, librivox, overlap, scaled, silence } from './helpers/audio.js';

let model: SileroVadModel;
test.before(async () => {
  model = await SileroVadModel.load();
});
test.after(async () => {
  await model.close();
});

async function run(seg: Segmenter, audio: Float32Array, sizes?: number[]) {
  const events: SegmenterEvent[] = [];
  for (const chunk of chunked(audio, sizes)) events.push(...(await seg.push(chunk)));
  return events;
}

type End = Extract<SegmenterEvent, { type: 'speech_end' }>;
const ends = (events: SegmenterEvent[]) => events.filter((e): e is End => e.type === 'speech_end');

function stream() {
  return compose([
    { kind: 'silence', audio: silence(1.0) },
    { kind: 'speech', audio: decode16k(librivox('0880')), label: '0880' },
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'noise', audio: scaled(decode16k(ALSA_NOISE), 0.5) },
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(card('003')), label: 'cards 003' },
    { kind: 'silence', audio: silence(1.5) },
  ]);
}

test('one utterance per speech clip, with its audio, in order; nothing for noise or silence', async () => {
  const { audio, placed } = stream();
  const events = await run(new Segmenter(model.createDetector()), audio);
  const speech = placed.filter((p) => p.kind === 'speech');
  const done = ends(events);
  assert.equal(done.length, speech.length);
  done.forEach((e, i) => {
    const p = speech[i];
    assert.equal(e.utterance, i + 1);
    assert.equal(e.reason, 'silence');
    assert.ok(overlap(e.start, e.end, p.start, p.end) > 0.8 * (p.end - p.start), `${p.label}: ${e.start}-${e.end}`);
    assert.ok(e.start > p.start - 0.5 && e.end < p.end + 0.5, `${p.label}: ${e.start}-${e.end}`);
    assert.equal(e.audio.length, e.endSample - e.startSample);
    // the utterance audio is exactly the stream's samples over [start, end)
    assert.deepEqual(e.audio.subarray(0, 1000), audio.subarray(e.startSample, e.startSample + 1000));
    // the VAD map rides along: mostly speech over the utterance
    assert.ok(e.speech.speechRatio(0, e.end - e.start) > 0.5, `${p.label}: speech ratio ${e.speech.speechRatio(0, e.end - e.start)}`);
  });
  // event order per utterance: start, updates, end
  for (const u of [1, 2]) {
    const mine = events.filter((e) => e.utterance === u).map((e) => e.type);
    assert.equal(mine[0], 'speech_start');
    assert.equal(mine[mine.length - 1], 'speech_end');
    assert.ok(mine.includes('speech_update'));
  }
  const noise = placed.find((p) => p.kind === 'noise')!;
  assert.ok(done.every((e) => overlap(e.start, e.end, noise.start, noise.end) === 0));
});

test('chunk sizes do not change the result', async () => {
  const { audio } = stream();
  const a = ends(await run(new Segmenter(model.createDetector()), audio, [audio.length]));
  const b = ends(await run(new Segmenter(model.createDetector()), audio, [7, 511, 513, 2048, 100]));
  assert.deepEqual(
    a.map((e) => [e.startSample, e.endSample]),
    b.map((e) => [e.startSample, e.endSample]),
  );
});

test('long speech is cut below the maximum, in the pause between sentences when there is one', async () => {
  // 0870 + 0890 + 0920 back to back: ~0.57 s of quiet between the first two (shorter than the
  // 0.7 s hangover set here; the 0.5 s default would end the utterance there), no pause at all in the
  // 3 s before the second limit.
  const { audio, placed } = compose([
    { kind: 'speech', audio: decode16k(librivox('0870')) },
    { kind: 'speech', audio: decode16k(librivox('0890')) },
    { kind: 'speech', audio: decode16k(librivox('0920')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  const events = await run(new Segmenter(model.createDetector(), { maxUtteranceSec: 9, vad: { minSilenceMs: 700 } }), audio);
  const done = ends(events);
  assert.ok(done.length >= 3, JSON.stringify(done.map((e) => [e.start, e.end, e.reason])));
  for (const e of done) assert.ok(e.end - e.start <= 9 + 1e-9, `${e.start}-${e.end}`);
  // cuts are seamless: the next utterance starts exactly where the cut one ended
  for (let i = 0; i + 1 < done.length; i++) {
    if (done[i].reason === 'max_length') assert.equal(done[i + 1].startSample, done[i].endSample);
  }
  // first cut: inside the quiet between 0870 and 0890 (speech ends 6.82 s, resumes 7.39 s)
  assert.equal(done[0].reason, 'max_length');
  const boundary = placed[1].start;
  assert.ok(done[0].end > boundary - 0.3 && done[0].end < boundary + 0.3, `cut at ${done[0].end}, pause around ${boundary}`);
  const whole = await SpeechMap.compute(audio, model.createDetector());
  assert.ok(whole.meanProbability(done[0].end - 0.016, done[0].end + 0.016) < 0.35, 'first cut is not in a pause');
  // all the speech is covered, none twice
  const covered = done.reduce((s, e) => s + (e.end - e.start), 0);
  assert.ok(covered > 17 && covered < 19, `covered ${covered}`);
  const starts = events.filter((e) => e.type === 'speech_start').map((e) => e.utterance);
  assert.deepEqual(
    starts,
    done.map((e) => e.utterance),
  );
});

test('flush ends the utterance now with every sample received; later speech opens a new one', async () => {
  const clip = decode16k(librivox('0870'));
  const seg = new Segmenter(model.createDetector());
  const events = await run(seg, clip.subarray(0, 4 * SR + 123));
  assert.ok(seg.inSpeech);
  const started = events.find((e) => e.type === 'speech_start')!;
  assert.equal(seg.currentAudio()!.length, 4 * SR + 123 - (started as { startSample: number }).startSample);
  const [ended] = seg.flush();
  assert.equal(ended.type, 'speech_end');
  assert.equal((ended as End).reason, 'flush');
  assert.equal((ended as End).endSample, 4 * SR + 123);
  assert.equal(seg.inSpeech, false);
  assert.deepEqual(seg.flush(), []);
  const more = await run(seg, clip.subarray(4 * SR + 123));
  const next = more.find((e) => e.type === 'speech_start');
  assert.ok(next && next.utterance === 2 && next.startSample >= 4 * SR + 123);
});

test('skip keeps stream time counting over a hole and ends the utterance at the hole', async () => {
  const clip = decode16k(librivox('0880'));
  const seg = new Segmenter(model.createDetector());
  await run(seg, clip.subarray(0, 2 * SR));
  const [ended] = seg.skip(5 * SR);
  assert.equal((ended as End).reason, 'gap');
  assert.equal((ended as End).endSample, 2 * SR);
  assert.equal(seg.positionSamples, 7 * SR);
  const events = await run(
    seg,
    compose([
      { kind: 'speech', audio: clip },
      { kind: 'silence', audio: silence(1.5) },
    ]).audio,
  );
  const e = ends(events)[0];
  assert.ok(e.start >= 7 && e.start < 7.5 && e.end > 9.5 && e.end < 10.2, `${e.start}-${e.end}`);
});
