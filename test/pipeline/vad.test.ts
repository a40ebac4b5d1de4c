// Silero v5 (onnxruntime-node) against the Python onnxruntime reference on real speech, and both
// detectors + the speech state machine on streams of real speech, silence and real noise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EnergyVad, ENERGY_STATE_DEFAULTS, SileroVadModel, SpeechMap, SpeechStateMachine, createVad } from '../../src/pipeline/vad/index.js';
import type { VadDetector } from '../../src/pipeline/vad/index.js';
import { ALSA_NOISE, SR, card, compose, decode16k, librivox, overlap, scaled, silence } from './helpers/audio.js';

const reference = JSON.parse(readFileSync(new URL('./fixtures/silero-v5-reference.json', import.meta.url), 'utf8')) as {
  clips: { path: string; probabilities: number[] }[];
};

let model: SileroVadModel;
test.before(async () => {
  model = await SileroVadModel.load();
});
test.after(async () => {
  await model.close();
});

test('Silero v5 per-frame probabilities match the Python onnxruntime reference within 0.01', async () => {
  for (const clip of reference.clips) {
    const map = await SpeechMap.compute(decode16k(clip.path), model.createDetector());
    assert.equal(map.probabilities.length, clip.probabilities.length, clip.path);
    let worst = 0;
    for (const [i, p] of clip.probabilities.entries()) worst = Math.max(worst, Math.abs(p - map.probabilities[i]));
    assert.ok(worst < 0.01, `${clip.path}: max difference ${worst}`);
    // the clip is speech: most frames well above 0.5
    const speechy = clip.probabilities.filter((p) => p > 0.5).length / clip.probabilities.length;
    assert.ok(speechy > 0.5, `${clip.path}: only ${speechy} of frames are speech`);
  }
});

test('a detector rejects frames of the wrong size and resets to the same output', async () => {
  const vad = model.createDetector();
  await assert.rejects(vad.process(new Float32Array(480)), /512/);
  const audio = decode16k(librivox('0880')).subarray(0, 512 * 20);
  const first = await SpeechMap.compute(audio, vad);
  const second = await SpeechMap.compute(audio, vad);
  assert.deepEqual([...second.probabilities], [...first.probabilities]);
});

/** speech, silence and noise joined: where the speech really is */
function testStream() {
  const noise = decode16k(ALSA_NOISE);
  return compose([
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(librivox('0880')), label: '0880' },
    { kind: 'silence', audio: silence(2.0) },
    { kind: 'noise', audio: scaled(noise, 0.5), label: 'alsa noise' },
    { kind: 'silence', audio: silence(2.0) },
    { kind: 'speech', audio: decode16k(card('005')), label: 'cards 005' },
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(librivox('0930')), label: '0930' },
    { kind: 'silence', audio: silence(2.0) },
  ]);
}

async function regions(detector: VadDetector, audio: Float32Array, stateOptions = {}) {
  const machine = new SpeechStateMachine(stateOptions);
  const found: { start: number; end: number }[] = [];
  const frame = detector.frameSize;
  for (let at = 0; at + frame <= audio.length; at += frame) {
    const ev = machine.update(await detector.process(audio.subarray(at, at + frame)));
    if (ev?.type === 'start') found.push({ start: ev.sample / SR, end: Number.NaN });
    if (ev?.type === 'end') found[found.length - 1].end = ev.sample / SR;
  }
  if (found.length && Number.isNaN(found[found.length - 1].end)) found[found.length - 1].end = audio.length / SR;
  return found;
}

test('Silero + state machine: one region per speech clip, none on silence or ALSA noise', async () => {
  const { audio, placed } = testStream();
  const found = await regions(model.createDetector(), audio);
  const speech = placed.filter((p) => p.kind === 'speech');
  assert.equal(found.length, speech.length, JSON.stringify(found));
  speech.forEach((p, i) => {
    const r = found[i];
    // covers the clip (the clips themselves start/end with a little silence, padding adds 0.3 s)
    assert.ok(overlap(r.start, r.end, p.start, p.end) > 0.8 * (p.end - p.start), `${p.label}: ${JSON.stringify(r)} vs ${p.start}-${p.end}`);
    assert.ok(r.start > p.start - 0.5 && r.end < p.end + 0.5, `${p.label}: region ${JSON.stringify(r)} spills out of ${p.start}-${p.end}`);
  });
  const noise = placed.find((p) => p.kind === 'noise')!;
  assert.ok(
    found.every((r) => overlap(r.start, r.end, noise.start, noise.end) === 0),
    'noise taken for speech',
  );
});

test('energy VAD with seed 002 parameters finds the speech and ignores silence', async () => {
  const { audio, placed } = compose([
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(librivox('0890')), label: '0890' },
    { kind: 'silence', audio: silence(2.5) },
    { kind: 'speech', audio: decode16k(card('002')), label: 'cards 002' },
    { kind: 'silence', audio: silence(2.5) },
  ]);
  const found = await regions(new EnergyVad(), audio, ENERGY_STATE_DEFAULTS);
  const speech = placed.filter((p) => p.kind === 'speech');
  assert.equal(found.length, speech.length, JSON.stringify(found));
  speech.forEach((p, i) => {
    assert.ok(overlap(found[i].start, found[i].end, p.start, p.end) > 0.8 * (p.end - p.start), JSON.stringify(found[i]));
  });
  // pure digital silence is never speech; loud noise is (the energy detector cannot tell) — that is why Silero is the default
  assert.equal(await new EnergyVad().process(new Float32Array(512)), 0);
});

test('energy VAD maps the seed RMS threshold to probability 0.5', async () => {
  const vad = new EnergyVad({ threshold: 0.02 });
  const tone = (amp: number) => Float32Array.from({ length: 512 }, (_, i) => amp * Math.SQRT2 * Math.sin((2 * Math.PI * 440 * i) / SR));
  assert.ok(Math.abs((await vad.process(tone(0.02))) - 0.5) < 0.02);
  assert.ok((await vad.process(tone(0.01))) < 0.3);
  assert.equal(await vad.process(tone(0.5)), 1);
});

test('state machine: hysteresis, minimum speech, minimum silence and padding', () => {
  const m = new SpeechStateMachine({ threshold: 0.5, negThreshold: 0.35, minSpeechMs: 96, minSilenceMs: 160, preRollMs: 64, postRollMs: 64 });
  const F = 512;
  const feed = (ps: number[]) => ps.map((p) => m.update(p));
  // a 2-frame blip (64 ms < 96 ms) followed by more than 100 ms of silence never starts speech
  assert.deepEqual(feed([0.1, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]).filter(Boolean), []);
  // onset at frame 9, confirmed after 3 voiced frames; start = 9*F - 64 ms
  const evs = feed([0.9, 0.9, 0.9]);
  assert.deepEqual(evs[2], { type: 'start', sample: 9 * F - 1024 });
  // 0.4 is between the thresholds: neither ends nor resets; 5 frames below 0.35 (160 ms) end it
  assert.deepEqual(feed([0.4, 0.4, 0.4, 0.4, 0.4, 0.4]).filter(Boolean), []);
  const tail = feed([0.2, 0.2, 0.2, 0.2, 0.2]);
  // silence began at frame 18; end = 18*F + 64 ms
  assert.deepEqual(tail[4], { type: 'end', sample: 18 * F + 1024, lastSpeech: 18 * F });
  assert.equal(m.inSpeech, false);
});

test('state machine: a pause inside speech is reported, then either resumes or becomes the end at the same sample', () => {
  // frames of 32 ms: pause after 3 silent frames (96 ms), end after 8 (256 ms), post-roll capped at the pause
  const m = new SpeechStateMachine({ threshold: 0.5, negThreshold: 0.35, minSpeechMs: 64, minSilenceMs: 256, minPauseMs: 96, preRollMs: 0, postRollMs: 200 });
  assert.equal(m.options.postRollMs, 96);
  const F = 512;
  const feed = (ps: number[]) => ps.map((p) => m.update(p)).filter(Boolean);
  assert.deepEqual(feed([0.9, 0.9, 0.9, 0.9]), [{ type: 'start', sample: 0 }]);
  // silence from frame 4: after 3 frames a pause, ending where the utterance would end
  assert.deepEqual(feed([0.1, 0.1, 0.1]), [{ type: 'pause', sample: 4 * F + 1536, lastSpeech: 4 * F }]);
  assert.deepEqual(feed([0.1]), []); // reported once
  // speech comes back: resume, and the pause is forgotten
  assert.deepEqual(feed([0.9, 0.9]), [{ type: 'resume' }]);
  // a second pause that lasts: pause, then the end at exactly the pause's sample
  const events = feed([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  assert.deepEqual(events, [
    { type: 'pause', sample: 10 * F + 1536, lastSpeech: 10 * F },
    { type: 'end', sample: 10 * F + 1536, lastSpeech: 10 * F },
  ]);
});

test('state machine: past longUtteranceMs a shorter pause ends the utterance', () => {
  const opts = { threshold: 0.5, negThreshold: 0.35, minSpeechMs: 64, minSilenceMs: 640, minPauseMs: 96, preRollMs: 0, postRollMs: 0, longUtteranceMs: 3200 };
  const silentFramesToEnd = (speechFrames: number) => {
    const m = new SpeechStateMachine(opts);
    for (let i = 0; i < speechFrames; i++) m.update(0.9);
    for (let i = 1; i < 100; i++) if (m.update(0.1)?.type === 'end') return i;
    return -1;
  };
  assert.equal(silentFramesToEnd(20), 20); // 0.64 s utterance: the full hangover (640 ms = 20 frames)
  assert.equal(silentFramesToEnd(120), 10); // 3.84 s utterance: half of it
});

test('createVad("auto") loads Silero; "energy" gives the seed defaults', async () => {
  const auto = await createVad();
  assert.equal(auto.kind, 'silero');
  assert.equal(auto.create().frameSize, 512);
  await auto.close();
  const energy = await createVad({ kind: 'energy' });
  assert.equal(energy.kind, 'energy');
  assert.equal(energy.stateDefaults.minSilenceMs, 1000);
  const broken = await createVad({ kind: 'auto', modelPath: '/nonexistent/silero.onnx' });
  assert.equal(broken.kind, 'energy');
  assert.match(broken.fallbackReason ?? '', /Silero VAD unavailable/);
  await assert.rejects(createVad({ kind: 'silero', modelPath: '/nonexistent/silero.onnx' }));
});
