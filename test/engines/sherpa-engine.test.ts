// The sherpa-onnx engine with real Moonshine base-en weights (npm run fetch:test-models) on real
// speech (pocketsphinx-testdata): transcripts, long audio cut at pauses, a worker killed with
// SIGKILL mid-request (that request fails cleanly, the next one succeeds), cancellation, and the
// clear refusals Moonshine owes (no translation, English only, no invented decoder statistics).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SherpaEngine } from '../../src/engines/sherpa/engine.js';
import { EngineError, SAMPLE_RATE } from '../../src/engines/types.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { ModelStore } from '../../src/models/store.js';
import { sherpaDetails } from '../../src/models/sherpa/validate.js';
import { loadClip } from '../helpers/audio.js';

const MODEL = process.env.EARSHOT_TEST_SHERPA_MODEL ?? 'moonshine-base-en';
function wer(hypothesis: string, reference: string): number {
  const count = werCount(reference, hypothesis);
  return count.errors / count.words;
}

describe(`sherpa engine (${MODEL})`, { timeout: 300_000 }, () => {
  let engine: SherpaEngine;
  const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
  const audio = new Map<string, Float32Array>();

  before(async () => {
    const model = await new ModelStore().get(MODEL);
    if (!model) throw new Error(`test model "${MODEL}" is not installed: run "npm run fetch:test-models" first`);
    engine = new SherpaEngine({
      modelId: model.id,
      modelDir: model.dir,
      details: sherpaDetails(model.details, model.id),
      languages: model.languages === '*' ? undefined : model.languages,
      threads: 2,
      processes: 1,
      device: 'cpu',
    });
    for (const clip of clips) audio.set(clip.id, await loadClip(clip.path));
    await engine.ready();
  });
  after(async () => engine?.close());

  it('transcribes LibriVox clips close to their references, English, no decoder statistics invented', async () => {
    for (const clip of clips) {
      const t = await engine.transcribe(audio.get(clip.id)!);
      assert.equal(t.engine, 'sherpa');
      assert.equal(t.language, 'en');
      assert.ok(wer(t.text, clip.reference) <= 0.25, `${clip.id}: "${t.text}" vs "${clip.reference}"`);
      assert.ok(t.segments.length >= 1);
      for (const s of t.segments) {
        assert.equal(s.avgLogprob, undefined);
        assert.equal(s.noSpeechProb, undefined);
        assert.ok(s.end <= t.duration + 1e-6 && s.start >= 0 && s.end > s.start);
      }
    }
  });

  it('cuts audio longer than the model window at pauses and keeps every clip in order, in the original timeline', async () => {
    const gap = new Float32Array(SAMPLE_RATE * 0.8);
    const twice = [...clips, ...clips];
    const parts = twice.flatMap((c) => [audio.get(c.id)!, gap]);
    const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    assert.ok(joined.length / SAMPLE_RATE > 40, 'the joined audio spans several 20 s windows');
    const t = await engine.transcribe(joined);
    const reference = twice.map((c) => c.reference).join(' ');
    assert.ok(wer(t.text, reference) <= 0.2, `joined: "${t.text}"`);
    assert.ok(t.segments.length >= 2, 'one segment per piece');
    for (let i = 1; i < t.segments.length; i++) assert.ok(t.segments[i]!.start >= t.segments[i - 1]!.end - 1e-6);
    assert.ok(t.segments.at(-1)!.end > joined.length / SAMPLE_RATE - 15);
  });

  it('refuses translation and other languages with an unsupported error', async () => {
    const clip = audio.get(clips[0]!.id)!;
    await assert.rejects(engine.transcribe(clip, { task: 'translate' }), (e: EngineError) => e.code === 'unsupported' && /cannot translate/.test(e.message));
    await assert.rejects(engine.transcribe(clip, { language: 'ko' }), (e: EngineError) => e.code === 'unsupported' && /en only/.test(e.message));
    assert.match((await engine.transcribe(clip, { language: 'en' })).text, /\w/);
  });

  it('an offline model has no true stream: openStream refuses, live sessions re-decode instead', async () => {
    assert.equal(engine.info.streaming, false);
    await assert.rejects(engine.openStream(), (e: EngineError) => e.code === 'unsupported' && /not a streaming model/.test(e.message));
  });

  it('a worker killed with SIGKILL mid-request fails that request with worker_crashed; the next request succeeds', async () => {
    const long = new Float32Array(SAMPLE_RATE * 60);
    for (let i = 0; i < 6; i++) long.set(audio.get(clips[i % clips.length]!.id)!, i * SAMPLE_RATE * 10);
    const [pid] = engine.workerPids();
    assert.ok(pid);
    const doomed = engine.transcribe(long);
    // Kill while the job runs: the worker has it once the engine reports it busy.
    while (engine.stats().busy === 0) await new Promise((r) => setTimeout(r, 10));
    process.kill(pid!, 'SIGKILL');
    await assert.rejects(doomed, (e: EngineError) => e instanceof EngineError && e.code === 'worker_crashed');
    const next = await engine.transcribe(audio.get(clips[0]!.id)!);
    assert.ok(wer(next.text, clips[0]!.reference) <= 0.25, next.text);
    assert.notEqual(engine.workerPids()[0], pid, 'a fresh worker serves it');
    assert.ok(engine.stats().restarts >= 1);
  });

  it('a cancelled request rejects with aborted and leaves the worker serving', async () => {
    const long = new Float32Array(SAMPLE_RATE * 60);
    for (let i = 0; i < 6; i++) long.set(audio.get(clips[i % clips.length]!.id)!, i * SAMPLE_RATE * 10);
    const [pid] = engine.workerPids();
    const controller = new AbortController();
    const job = engine.transcribe(long, { signal: controller.signal });
    while (engine.stats().busy === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(job, (e: EngineError) => e.code === 'aborted');
    assert.equal(engine.workerPids()[0], pid, 'the worker stopped between pieces; nobody killed it');
    assert.match((await engine.transcribe(audio.get(clips[1]!.id)!)).text, /\w/);
  });
});
