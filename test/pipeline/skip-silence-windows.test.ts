// Speech windows for engines that decode windows separately (CTranslate2, batched): the VAD's
// regions grouped into windows of at most 30 s, on the audio's own timeline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpeechMap, speechWindows } from '../../src/pipeline/vad/index.js';

const FRAME = 512;
const SR = 16000;

/** A speech map from a per-second pattern: 1 = speech. */
function mapOf(seconds: number[]): SpeechMap {
  const perSecond = SR / FRAME;
  const probs = new Float32Array(Math.ceil(seconds.length * perSecond));
  for (let f = 0; f < probs.length; f++) probs[f] = seconds[Math.floor(f / perSecond)] ? 0.9 : 0.02;
  return new SpeechMap(probs, FRAME, SR);
}

describe('speech windows', () => {
  it('groups nearby speech into one window and starts a new one past 30 s', () => {
    // speech 2–6 s, 10–14 s, 40–45 s in 60 s of audio
    const pattern = Array.from({ length: 60 }, (_, s) => ((s >= 2 && s < 6) || (s >= 10 && s < 14) || (s >= 40 && s < 45) ? 1 : 0));
    const windows = speechWindows(mapOf(pattern), 60 * SR);
    assert.equal(windows.length, 2);
    assert.ok(windows[0]!.start >= 1.7 && windows[0]!.start <= 2 && windows[0]!.end >= 14 && windows[0]!.end <= 14.3, JSON.stringify(windows));
    assert.ok(windows[1]!.start >= 39.7 && windows[1]!.end <= 45.3);
  });

  it('cuts speech longer than a window, each piece at most 30 s, nothing lost', () => {
    const pattern = Array.from({ length: 75 }, () => 1);
    const windows = speechWindows(mapOf(pattern), 75 * SR);
    assert.ok(windows.length >= 3);
    for (const w of windows) assert.ok(w.end - w.start <= 30 + 1e-9);
    assert.equal(windows[0]!.start, 0);
    assert.equal(windows.at(-1)!.end, 75);
    for (let i = 1; i < windows.length; i++) assert.equal(windows[i]!.start, windows[i - 1]!.end);
  });

  it('finds no window in silence', () => {
    assert.deepEqual(speechWindows(mapOf(Array.from({ length: 600 }, () => 0)), 600 * SR), []);
  });
});
