// Our TypeScript openWakeWord pipeline must score every 80 ms frame like the reference Python package does.
// The reference traces come from scripts/wakeword-reference-scores.py (see there to regenerate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { WakewordDetector } from '../../src/wakeword/detector.js';
import { decodeWav } from '../../src/audio/wav.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TOLERANCE = 0.02;

interface Segment {
  silence?: number;
  file?: string;
}
interface Case {
  name: string;
  segments: Segment[];
  frames: number;
  scores: Record<string, number[]>;
}
interface Fixture {
  chunkSamples: number;
  wakewords: string[];
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(join(ROOT, 'test/wakeword/fixtures/reference-scores.json'), 'utf8')) as Fixture;

function buildStream(segments: Segment[], chunk: number): Int16Array {
  const parts = segments.map((s) => {
    if (s.silence !== undefined) return new Int16Array(Math.round(s.silence * 16000));
    const wav = decodeWav(readFileSync(isAbsolute(s.file!) ? s.file! : join(ROOT, s.file!)));
    assert.equal(wav.sampleRate, 16000);
    assert.equal(wav.channels, 1);
    return wav.samples;
  });
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Int16Array(Math.ceil(total / chunk) * chunk);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const detector = await WakewordDetector.create({ wakewords: fixture.wakewords });

for (const c of fixture.cases) {
  test(`per-frame scores match openWakeWord: ${c.name}`, async (t) => {
    const audio = buildStream(c.segments, fixture.chunkSamples);
    assert.equal(audio.length / fixture.chunkSamples, c.frames);
    detector.resetAll();
    const ours = new Map<string, number[]>();
    for (let at = 0; at < audio.length; at += fixture.chunkSamples) {
      const { scores } = await detector.process(audio.subarray(at, at + fixture.chunkSamples));
      for (const [label, score] of scores) ours.set(label, [...(ours.get(label) ?? []), score]);
    }
    assert.deepEqual([...ours.keys()].sort(), Object.keys(c.scores).sort());
    let worst = { diff: 0, label: '', frame: -1 };
    for (const [label, reference] of Object.entries(c.scores)) {
      const mine = ours.get(label)!;
      reference.forEach((r, frame) => {
        const diff = Math.abs(mine[frame] - r);
        if (diff > worst.diff) worst = { diff, label, frame };
      });
    }
    t.diagnostic(`max |ours - reference| = ${worst.diff.toFixed(5)} over ${c.frames} frames x ${ours.size} labels`);
    assert.ok(worst.diff <= TOLERANCE, `max |ours - reference| = ${worst.diff.toFixed(4)} (${worst.label}, frame ${worst.frame})`);
    const peak = (xs: number[]) => Math.max(...xs);
    // The fixture must actually exercise the detector: a wake word present, scored like the reference.
    if (peak(c.scores.hey_jarvis ?? []) > 0.5) assert.ok(peak(ours.get('hey_jarvis')!) > 0.5);
  });
}

test.after(() => detector.release());
