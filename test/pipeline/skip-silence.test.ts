// Batch decoding of speech only: the VAD finds the speech in a recording with long silences, only
// that is decoded, and every time comes back on the original timeline.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile } from '../../src/audio/decode.js';
import { WhisperEngine } from '../../src/engines/whisper/engine.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { ModelStore } from '../../src/models/store.js';
import type { EngineManager } from '../../src/engines/manager.js';
import { loadConfig } from '../../src/config/schema.js';
import { skipsSilence, transcribeBatch, transcribeSpeech, transcribeSpeechOnly } from '../../src/pipeline/batch.js';
import { createVad, SpeechMap, speechRegions, SpeechTimeline, type CreatedVad } from '../../src/pipeline/vad/index.js';
import { TEST_MODEL } from '../helpers/server.js';

const SR = 16000;

describe('skipping silence in batch', () => {
  let engine: WhisperEngine;
  let vad: CreatedVad;
  before(async () => {
    const model = await new ModelStore().get(TEST_MODEL);
    assert.ok(model, `model ${TEST_MODEL} missing: run npm run fetch:test-models`);
    engine = new WhisperEngine({ modelId: model.id, modelPath: model.path, threads: 2, parallel: 1, processes: 1, device: 'cpu' });
    await engine.ready();
    vad = await createVad({ kind: 'silero' });
  });
  after(async () => {
    await engine?.close();
    await vad?.close();
  });

  it('maps joined-audio times back across the joints', () => {
    const t = new SpeechTimeline(
      [
        { start: 10 * SR, end: 12 * SR },
        { start: 100 * SR, end: 103 * SR },
      ],
      SR,
    );
    assert.equal(t.length, 5 * SR);
    assert.equal(t.toOriginal(0), 10);
    assert.equal(t.toOriginal(1.5), 11.5);
    assert.equal(t.toOriginal(2), 100);
    assert.equal(t.toOriginal(2, true), 12);
    assert.equal(t.toOriginal(4), 102);
  });

  it('decodes two utterances three minutes apart as their speech only, at their real times', async () => {
    const [a, b] = pocketsphinxClips().filter((c) => c.set === 'librivox');
    const first = (await decodeFile(a!.path)).samples;
    const second = (await decodeFile(b!.path)).samples;
    const gap = 180 * SR;
    const audio = new Float32Array(5 * SR + first.length + gap + second.length);
    audio.set(first, 5 * SR);
    const secondAt = 5 * SR + first.length + gap;
    audio.set(second, secondAt);

    const map = await SpeechMap.compute(audio, vad.create());
    const speech = new SpeechTimeline(speechRegions(map, audio.length), SR);
    assert.equal(speech.regions.length, 2);
    const { transcript, decodedSeconds } = await transcribeSpeechOnly(engine, audio, map, { language: 'en', wordTimestamps: true });
    assert.ok(decodedSeconds < (first.length + second.length) / SR + 2, `decoded ${decodedSeconds} s`);
    assert.equal(transcript.duration, audio.length / SR);

    const both = werCount(`${a!.reference} ${b!.reference}`, transcript.text);
    assert.ok(both.errors / both.words < 0.15, transcript.text);
    const late = transcript.segments.filter((s) => s.start >= secondAt / SR - 0.5);
    const early = transcript.segments.filter((s) => s.end <= (5 * SR + first.length) / SR + 0.5);
    assert.ok(early.length > 0 && late.length > 0, JSON.stringify(transcript.segments.map((s) => [s.start, s.end])));
    assert.equal(early.length + late.length, transcript.segments.length);
    assert.ok(early[0]!.start >= 4.4);
    for (const w of transcript.segments.flatMap((s) => s.words ?? [])) {
      const inFirst = w.start >= 4.5 && w.end <= (5 * SR + first.length) / SR + 0.5;
      const inSecond = w.start >= secondAt / SR - 0.5 && w.end <= audio.length / SR;
      assert.ok(inFirst || inSecond, `word "${w.word}" at ${w.start}–${w.end} lies in the silence`);
    }
  });

  it("batch.skipSilence 'long' (the default): one window's worth is decoded whole, a longer recording from its speech only", async () => {
    assert.equal(loadConfig({ env: {} }).batch.skipSilence, 'long');
    assert.equal(loadConfig({ env: { EARSHOT_SKIP_SILENCE: '1' } }).batch.skipSilence, 'always');
    assert.equal(loadConfig({ env: { EARSHOT_SKIP_SILENCE: '0' } }).batch.skipSilence, 'off');
    assert.equal(loadConfig({ flags: { batch: { skipSilence: false } }, env: {} }).batch.skipSilence, 'off');
    assert.throws(() => loadConfig({ env: { EARSHOT_SKIP_SILENCE: 'sometimes' } }), /batch\.skipSilence/);
    assert.deepEqual(
      [skipsSilence('long', 30), skipsSilence('long', 30.01), skipsSilence('always', 3), skipsSilence('off', 3600), skipsSilence(undefined, 3600)],
      [false, true, true, false, false],
    );

    // the engine manager's one job here: hand the request its engine
    const engines = { withEngine: (_: unknown, use: (e: WhisperEngine) => unknown) => use(engine) } as unknown as EngineManager;
    const [clip] = pocketsphinxClips().filter((c) => c.set === 'librivox');
    const speech = (await decodeFile(clip!.path)).samples;
    const short = new Float32Array(8 * SR + speech.length);
    short.set(speech, 8 * SR);
    const whole = await transcribeBatch(engines, { audio: short, options: { language: 'en' } }, { vad, skipSilence: 'long' });
    assert.equal(whole.decodedSeconds, short.length / SR, 'a clip of under 30 s is decoded whole');
    const long = new Float32Array(60 * SR + speech.length);
    long.set(speech, 60 * SR);
    const cut = await transcribeBatch(engines, { audio: long, options: { language: 'en' } }, { vad, skipSilence: 'long' });
    assert.ok(cut.decodedSeconds < speech.length / SR + 2, `decoded ${cut.decodedSeconds} s of ${long.length / SR} s`);
    for (const r of [whole, cut]) {
      const { errors, words } = werCount(clip!.reference, r.transcript.text);
      assert.ok(errors / words < 0.15, r.transcript.text);
    }
    assert.ok(cut.transcript.segments[0]!.start >= 59.5, `first segment at ${cut.transcript.segments[0]!.start} s`);
  });

  it('decodes nothing when nobody speaks', async () => {
    const silence = new Float32Array(600 * SR);
    const map = await SpeechMap.compute(silence, vad.create());
    const speech = new SpeechTimeline(speechRegions(map, silence.length), SR);
    const { transcript, decodedSeconds } = await transcribeSpeech(engine, silence, speech, { language: 'en' });
    assert.equal(decodedSeconds, 0);
    assert.equal(transcript.text, '');
    assert.equal(transcript.duration, 600);
  });
});
