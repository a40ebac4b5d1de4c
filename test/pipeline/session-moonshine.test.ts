// A live session on Moonshine (sherpa-onnx, an offline model whose cost follows the audio length):
// real speech at a client's pace, partials as cheap re-decodes, finals from the speculative decode at
// the pause (nothing decoded after the end), the same guarantees as with Whisper. Needs the test models
// from `npm run fetch:test-models` (EARSHOT_TEST_MOONSHINE_MODEL, default moonshine-tiny-en).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SherpaEngine } from '../../src/engines/sherpa/engine.js';
import { werCount } from '../../src/eval/wer.js';
import { ModelStore } from '../../src/models/store.js';
import { sherpaDetails } from '../../src/models/sherpa/validate.js';
import { StreamSession, type StreamSessionEvents } from '../../src/pipeline/session.js';
import { SileroVadModel } from '../../src/pipeline/vad/index.js';
import { SR, card, compose, decode16k, librivox, silence } from './helpers/audio.js';

const MODEL = process.env.EARSHOT_TEST_MOONSHINE_MODEL ?? 'moonshine-tiny-en';
const REF_0870 = 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them';
const REF_CARDS_005 = 'eight of spades four of clubs seven of hearts';

describe(`StreamSession with Moonshine (${MODEL})`, { timeout: 300_000 }, () => {
  let engine: SherpaEngine;
  let vad: SileroVadModel;
  before(async () => {
    const model = await new ModelStore().get(MODEL);
    if (!model) throw new Error(`test model "${MODEL}" is not installed: run "npm run fetch:test-models" first`);
    engine = new SherpaEngine({
      modelId: model.id,
      modelDir: model.dir,
      details: sherpaDetails(model.details, model.id),
      threads: 2,
      processes: 1,
      device: 'cpu',
    });
    vad = await SileroVadModel.load();
    await engine.ready();
  });
  after(async () => {
    await engine?.close();
    await vad?.close();
  });

  it('partials while speaking, one final per utterance from the decode started at the pause, in order', async () => {
    const session = new StreamSession({ engine, vad: vad.createDetector(), config: { language: 'en' } });
    const events: Array<{ type: keyof StreamSessionEvents; data: Record<string, unknown> }> = [];
    for (const type of ['speech_start', 'speech_end', 'partial', 'final', 'dropped', 'error'] as const) {
      session.on(type, ((data: Record<string, unknown>) => void events.push({ type, data })) as never);
    }
    const { audio } = compose([
      { kind: 'silence', audio: silence(0.5) },
      { kind: 'speech', audio: decode16k(librivox('0870')) },
      { kind: 'silence', audio: silence(1.5) },
      { kind: 'speech', audio: decode16k(card('005')) },
      { kind: 'silence', audio: silence(1.5) },
    ]);
    // 100 ms packets; the client waits for a running decode before sending more, so the schedule does
    // not depend on the CPU's speed
    for (let at = 0; at < audio.length; at += SR / 10) {
      session.push(audio.subarray(at, Math.min(at + SR / 10, audio.length)));
      await session.inputProcessed();
      while (session.stats().partialInFlight) await new Promise((r) => setTimeout(r, 10));
    }
    await session.stop();
    assert.deepEqual(
      events.filter((e) => e.type === 'error'),
      [],
    );
    const finals = events.filter((e) => e.type === 'final').map((e) => e.data as { utteranceId: number; text: string; source: string });
    assert.deepEqual(
      finals.map((f) => f.utteranceId),
      [1, 2],
    );
    const wer = (ref: string, hyp: string) => {
      const c = werCount(ref, hyp);
      return c.errors / c.words;
    };
    assert.ok(wer(REF_0870, finals[0]!.text) <= 0.2, finals[0]!.text);
    assert.ok(wer(REF_CARDS_005, finals[1]!.text) <= 0.35, finals[1]!.text);
    // every utterance showed text before its end, and its final is a decode that was already done
    for (const f of finals) {
      const end = events.findIndex((e) => e.type === 'speech_end' && e.data.utteranceId === f.utteranceId);
      assert.ok(
        events.slice(0, end).some((e) => e.type === 'partial' && e.data.utteranceId === f.utteranceId),
        `no partial before the end of ${f.utteranceId}`,
      );
      assert.notEqual(f.source, 'decode');
    }
    const partials = events.filter((e) => e.type === 'partial' && e.data.utteranceId === 1);
    assert.ok(partials.length >= 3, `${partials.length} partials for a 7 s sentence`);
    assert.equal(session.stats().finalsDecoded, 0);
  });
});
