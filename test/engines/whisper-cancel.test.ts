// Cancellation inside the whisper.cpp worker: an abort lands in the middle of a graph computation
// (the worker checks between graph nodes, not only between encoder and decoder passes), the worker
// survives it, and its decoding state serves the next job correctly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile } from '../../src/audio/decode.js';
import { EngineError } from '../../src/engines/types.js';
import { WhisperEngine } from '../../src/engines/whisper/engine.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { ModelStore } from '../../src/models/store.js';
import { TEST_MODEL } from '../helpers/server.js';

describe('whisper worker cancellation', () => {
  let engine: WhisperEngine;
  before(async () => {
    const model = await new ModelStore().get(TEST_MODEL);
    assert.ok(model, `model ${TEST_MODEL} missing: run npm run fetch:test-models`);
    // A grace period far below one 30 s window's decode: a worker that only stopped between passes
    // would be killed, and the restart count would show it.
    engine = new WhisperEngine({ modelId: model.id, modelPath: model.path, threads: 2, parallel: 1, processes: 1, device: 'cpu', abortGraceMs: 1500 });
    await engine.ready();
  });
  after(async () => {
    await engine?.close();
  });

  it('stops a decode mid-computation and keeps the worker and its state usable', async () => {
    const clip = pocketsphinxClips().find((c) => c.set === 'librivox')!;
    const audio = (await decodeFile(clip.path)).samples;
    const pid = engine.workerPids()[0];
    const controller = new AbortController();
    // whisper.cpp reports progress as each 30 s window starts, right before its encoder runs. The
    // cancel goes out 50 ms later, so that it lands while the encoder graph computes (hundreds of ms
    // on a CPU): sent at once, on a loaded 2-core machine it sometimes arrived during the short
    // convolution graph before it, where whisper.cpp's own check between graphs caught it first.
    const cancelled = engine.transcribe(audio, {
      language: 'en',
      signal: controller.signal,
      onProgress: () => setTimeout(() => controller.abort(), 50),
    });
    await assert.rejects(cancelled, (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.equal(err.code, 'aborted');
      assert.equal(err.message, 'transcription aborted mid-computation');
      return true;
    });
    assert.equal(engine.stats().restarts, 0);
    assert.deepEqual(engine.workerPids(), [pid]);

    const next = await engine.transcribe(audio, { language: 'en' });
    const { errors, words } = werCount(clip.reference, next.text);
    assert.ok(errors / words < 0.15, `transcript after the cancelled job: "${next.text}"`);
    assert.deepEqual(engine.workerPids(), [pid]);
  });

  it('times words with DTW only for jobs that ask, from the same worker', async () => {
    const clip = pocketsphinxClips().find((c) => c.set === 'librivox')!;
    const audio = (await decodeFile(clip.path)).samples;
    const plain = await engine.transcribe(audio, { language: 'en' });
    assert.equal(
      plain.segments.some((s) => s.words),
      false,
    );
    const timed = await engine.transcribe(audio, { language: 'en', wordTimestamps: true });
    const words = timed.segments.flatMap((s) => s.words ?? []);
    assert.ok(words.length > 5);
    for (let i = 1; i < words.length; i++) assert.ok(words[i]!.start >= words[i - 1]!.start, 'word times run forward');
    assert.ok(words.at(-1)!.end <= timed.duration + 0.01);
  });
});
