// Smoke test of `npm run bench -- --quick`: every section runs end to end on real models, real audio,
// a real server and a real faster-whisper (bench/.venv is created from PyPI when missing), and the
// results come out complete. Timings are printed by the bench, never judged here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function runBench(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20000)));
    child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20000)));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

test('npm run bench -- --quick measures every section on both engines and writes JSON + Markdown', { timeout: 20 * 60_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'earshot-bench-test-'));
  try {
    const { code, output } = await runBench(out);
    assert.equal(code, 0, output);
    const files = readdirSync(out);
    const jsonFile = files.find((f) => f.endsWith('-quick.json'));
    assert.ok(jsonFile, `no results JSON in ${files.join(', ')}`);
    assert.ok(existsSync(join(out, jsonFile.replace(/\.json$/, '.md'))));
    assert.ok(!files.includes('latest.json'), 'a quick run must not stand in for the latest full results');
    const r = JSON.parse(readFileSync(join(out, jsonFile), 'utf8'));

    assert.equal(r.mode, 'quick');
    assert.deepEqual(r.sections, ['batch', 'stream', 'load', 'memory']);
    assert.ok(r.machine.cpuModel && r.machine.cores >= 1);
    assert.match(r.machine.versions.whisperCpp, /^\d+\.\d+/);
    assert.match(r.machine.versions.fasterWhisper, /^\d+\.\d+/);
    assert.match(r.machine.versions.ctranslate2, /^\d+\.\d+/);

    // Batch: both engines transcribed every clip of every configuration, and said real words.
    const pairs = [...r.batch.matrix, ...r.batch.corpus];
    assert.ok(r.batch.matrix.length >= 2 && r.batch.corpus.length >= 1);
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
    assert.ok(r.batch.loadTimes.some((l: { engine: string }) => l.engine === 'faster-whisper'));
    assert.ok(r.batch.processPeaks.every((m: { peakMiB: number }) => m.peakMiB > 0));

    // Streaming through a real server's /ws: finals came back for real speech.
    const level = r.stream.levels[0];
    assert.equal(level.streams, 1);
    assert.ok(level.finalsReceived > 0, JSON.stringify(level));
    assert.deepEqual(level.errors, []);

    // Load: every request answered 200.
    for (const l of r.load.levels) assert.equal(l.errors, 0, JSON.stringify(l.errorSamples));

    // Memory: the server, its worker and the Python process were all measured.
    const earshot = r.memory.rows.find((x: { engine: string }) => x.engine === 'earshot');
    const fw = r.memory.rows.find((x: { engine: string }) => x.engine === 'faster-whisper');
    assert.ok(earshot.processMiB > 0 && earshot.workerMiB > 0);
    assert.ok(fw.processMiB > 0);

    const md = readFileSync(join(out, jsonFile.replace(/\.json$/, '.md')), 'utf8');
    for (const heading of ['## Batch', '## Streaming', '## Server under load', '## Memory']) assert.ok(md.includes(heading), heading);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
