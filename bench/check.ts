// What a quick run (`npm run bench -- --quick`, CI's benchmark step) must have produced: every
// section ran end to end on real models, real audio, a real server and a real faster-whisper, and
// the results are complete. Timings are reported, never judged here. Throws on the first gap.
import assert from 'node:assert/strict';
import type { BenchResult } from './report.js';

export function checkQuickResult(r: BenchResult, markdown: string): void {
  const x = r as unknown as Record<string, any>;
  assert.equal(x.mode, 'quick');
  assert.deepEqual(x.sections, ['batch', 'stream', 'load', 'memory', 'latency']);
  assert.ok(x.machine.cpuModel && x.machine.cores >= 1);
  assert.match(x.machine.versions.whisperCpp, /^\d+\.\d+/);
  assert.match(x.machine.versions.fasterWhisper, /^\d+\.\d+/);
  assert.match(x.machine.versions.ctranslate2, /^\d+\.\d+/);

  // Batch: both engines transcribed every clip of every configuration, and said real words.
  const pairs = [...x.batch.matrix, ...x.batch.corpus];
  assert.ok(x.batch.matrix.length >= 2 && x.batch.corpus.length >= 1);
  for (const p of pairs) {
    for (const c of p.clips) {
      assert.ok(c.earshotSeconds > 0 && c.fwSeconds > 0, `${p.key} ${c.id}: no timing`);
      assert.ok(c.ratio > 0);
      assert.match(c.earshotText, /\w/, `${p.key} ${c.id}: Earshot said nothing`);
      assert.match(c.fwText, /\w/, `${p.key} ${c.id}: faster-whisper said nothing`);
    }
    assert.equal(typeof p.wer.earshot, 'number');
    assert.equal(typeof p.wer.fasterWhisper, 'number');
  }
  assert.ok(x.batch.loadTimes.some((l: { engine: string }) => l.engine === 'faster-whisper'));
  assert.ok(x.batch.processPeaks.every((m: { peakMiB: number }) => m.peakMiB > 0));

  // Streaming through a real server's /ws: finals came back for real speech.
  const level = x.stream.levels[0];
  assert.equal(level.streams, 1);
  assert.ok(level.finalsReceived > 0, JSON.stringify(level));
  assert.deepEqual(level.errors, []);

  // Latency: every engine of the plan was installed and transcribed the short clips.
  assert.deepEqual(x.latency.missing, []);
  for (const e of x.latency.engines) assert.ok(e.medianSeconds > 0 && typeof e.wer === 'number', JSON.stringify(e));

  // Load: every request answered 200.
  for (const l of x.load.levels) assert.equal(l.errors, 0, JSON.stringify(l.errorSamples));

  // Memory: the server, its worker and the Python process were all measured.
  const earshot = x.memory.rows.find((row: { engine: string }) => row.engine === 'earshot');
  const fw = x.memory.rows.find((row: { engine: string }) => row.engine === 'faster-whisper');
  assert.ok(earshot.processMiB > 0 && earshot.workerMiB > 0);
  assert.ok(fw.processMiB > 0);

  for (const heading of ['## Batch', '## Streaming', '## Server under load', '## Memory']) assert.ok(markdown.includes(heading), heading);
}
