// StreamSession end to end with the real whisper.cpp engine, the real Silero VAD and real speech
// (pocketsphinx recordings joined with silence and ALSA's Noise.wav). Needs the test models from
// `npm run fetch:test-models`; the model is EARSHOT_TEST_STREAM_MODEL (default tiny.en: English
// speech, and the smallest model keeps the many re-decodes of streaming affordable on CI's CPU).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WhisperEngine } from '../../src/engines/whisper/engine.js';
import { werCount } from '../../src/eval/wer.js';
import { ModelStore } from '../../src/models/store.js';
import { HallucinationFilter } from '../../src/pipeline/filter/index.js';
import { normalizeWord } from '../../src/pipeline/policy/index.js';
import { StreamSession, type StreamSessionEvents } from '../../src/pipeline/session.js';
import { SileroVadModel } from '../../src/pipeline/vad/index.js';
import { ALSA_NOISE, SR, card, compose, decode16k, librivox, overlap, scaled, silence } from './helpers/audio.js';

const MODEL = process.env.EARSHOT_TEST_STREAM_MODEL ?? 'tiny.en';
const REF_0870 = 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them';
const REF_CARDS_005 = 'eight of spades four of clubs seven of hearts';
// whisper.cpp's sample, shipped in the nodejs-whisper dependency: 11 s with two 1.2 s rhetorical pauses
const JFK = new URL('../../node_modules/nodejs-whisper/cpp/whisper.cpp/samples/jfk.mp3', import.meta.url).pathname;
const REF_JFK = 'and so my fellow americans ask not what your country can do for you ask what you can do for your country';

type Logged = { [K in keyof StreamSessionEvents]: { type: K; data: StreamSessionEvents[K][0] } }[keyof StreamSessionEvents];

function record(session: StreamSession): Logged[] {
  const log: Logged[] = [];
  for (const type of ['speech_start', 'speech_end', 'partial', 'final', 'dropped', 'error', 'backpressure'] as const) {
    session.on(type, ((data: unknown) => log.push({ type, data } as Logged)) as never);
  }
  return log;
}

/** Polls a condition (no deadline of its own: the test runner's timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
}

const of = <K extends Logged['type']>(log: Logged[], type: K) =>
  log.filter((e): e is Extract<Logged, { type: K }> => e.type === type).map((e) => e.data as StreamSessionEvents[K][0]);

describe('StreamSession with whisper.cpp', { timeout: 600_000 }, () => {
  let engine: WhisperEngine;
  let vad: SileroVadModel;

  before(async () => {
    const installed = await new ModelStore().get(MODEL);
    if (!installed) throw new Error(`test model "${MODEL}" is not installed: run "npm run fetch:test-models" first`);
    engine = new WhisperEngine({ modelId: installed.id, modelPath: installed.path, threads: 2, parallel: 1, processes: 1, device: 'cpu' });
    vad = await SileroVadModel.load();
    await engine.ready();
  });
  after(async () => {
    await engine?.close();
    await vad?.close();
  });

  it('streams speech: agreed partials, then one final per utterance in stream time; nothing for noise or silence', async () => {
    const session = new StreamSession({ engine, vad: vad.createDetector(), config: { language: 'en', partialIntervalSec: 1, minPartialSec: 1 } });
    const log = record(session);
    const { audio, placed } = compose([
      { kind: 'silence', audio: silence(1) },
      { kind: 'speech', audio: decode16k(librivox('0870')) },
      { kind: 'silence', audio: silence(1.5) },
      { kind: 'noise', audio: scaled(decode16k(ALSA_NOISE), 0.5) },
      { kind: 'silence', audio: silence(1.5) },
      { kind: 'speech', audio: decode16k(card('005')) },
      { kind: 'silence', audio: silence(1.5) },
    ]);
    // A client sending 100 ms packets. Inside the long sentence it pauses until the running partial
    // decode is back, so every re-decode sees at least a second more audio whatever the CPU speed.
    let at = 0;
    const pushTo = async (sec: number) => {
      for (const to = Math.round(sec * SR); at < to; at += SR / 10) session.push(audio.subarray(at, Math.min(at + SR / 10, to)));
      await session.inputProcessed();
    };
    for (const sec of [2.5, 4, 5.5, 7]) {
      await pushTo(sec);
      await until(() => !session.stats().partialInFlight);
    }
    await pushTo(audio.length / SR);
    await session.stop();
    const stats = session.stats();
    if (process.env.EARSHOT_TEST_VERBOSE) console.log(JSON.stringify(log, null, 1), stats);

    assert.deepEqual(of(log, 'error'), []);
    assert.deepEqual(of(log, 'backpressure'), []);
    const starts = of(log, 'speech_start');
    const ends = of(log, 'speech_end');
    const finals = of(log, 'final');
    assert.deepEqual(
      starts.map((s) => s.utteranceId),
      [1, 2],
    );
    assert.deepEqual(
      ends.map((s) => s.utteranceId),
      [1, 2],
    );
    assert.deepEqual(
      finals.map((f) => f.utteranceId),
      [1, 2],
      'one final per utterance, in order',
    );

    // the utterances are where the speech is, in stream seconds; the noise is in none of them
    const speech = placed.filter((p) => p.kind === 'speech');
    const noise = placed.find((p) => p.kind === 'noise')!;
    finals.forEach((f, i) => {
      assert.ok(overlap(f.start, f.end, speech[i].start, speech[i].end) > 0.8 * (speech[i].end - speech[i].start), `${f.start}-${f.end}`);
      assert.equal(overlap(f.start, f.end, noise.start, noise.end), 0);
      assert.deepEqual([f.start, f.end], [starts[i].start, ends[i].end]);
      assert.equal(f.language, 'en');
      for (const w of f.words) assert.ok(w.start >= f.start - 1e-6 && w.end <= f.end + 1e-6, `word ${w.word} ${w.start}-${w.end} outside ${f.start}-${f.end}`);
      for (const s of f.segments) assert.ok(s.start >= f.start - 1e-6 && s.end <= f.end + 1e-6);
    });
    assert.ok(finals[0].words.length >= 15, 'word timings in the final');

    // what was said
    const wer1 = werCount(REF_0870, finals[0].text);
    const wer2 = werCount(REF_CARDS_005, finals[1].text);
    assert.ok(wer1.errors / wer1.words <= 0.2, `utterance 1: "${finals[0].text}"`);
    assert.ok(wer2.errors / wer2.words <= 0.35, `utterance 2: "${finals[1].text}"`);

    // partials: numbered 1, 2, …; committed text only ever grows; all before the utterance's end
    const partials = of(log, 'partial').filter((p) => p.utteranceId === 1);
    assert.ok(partials.length >= 2, `${partials.length} partials (${stats.partialDecodes} decodes)`);
    assert.deepEqual(
      partials.map((p) => p.revision),
      partials.map((_, i) => i + 1),
    );
    for (let i = 1; i < partials.length; i++) {
      assert.ok(partials[i].committed.startsWith(partials[i - 1].committed), `un-committed: "${partials[i - 1].committed}" → "${partials[i].committed}"`);
    }
    const lastCommitted = partials[partials.length - 1].committed;
    assert.ok(lastCommitted.length > 0, 'LocalAgreement committed words before the end of the sentence');
    const finalWords = new Set(finals[0].text.split(/\s+/).map(normalizeWord));
    const committedWords = lastCommitted.split(/\s+/).map(normalizeWord);
    assert.ok(
      committedWords.filter((w) => finalWords.has(w)).length >= 0.8 * committedWords.length,
      `committed "${lastCommitted}" vs final "${finals[0].text}"`,
    );
    const order = log.filter((e) => 'utteranceId' in e.data && e.data.utteranceId === 1).map((e) => e.type);
    assert.equal(order[0], 'speech_start');
    assert.deepEqual(order.slice(-2), ['speech_end', 'final']);
    assert.ok(order.slice(1, -2).every((t) => t === 'partial'));
    assert.equal(stats.finals, 2);
    assert.equal(stats.receivedSeconds, audio.length / SR);
  });

  it('JFK: fragments after a pause are decoded as the sentence they continue (no "ASK NOT!"), with partials', async () => {
    const session = new StreamSession({ engine, vad: vad.createDetector(), config: { language: 'en' } });
    const log = record(session);
    const { audio } = compose([
      { kind: 'speech', audio: decode16k(JFK) },
      { kind: 'silence', audio: silence(1.5) },
    ]);
    // 100 ms packets; the client waits for a running partial before sending more, so every
    // utterance gets partials whatever the CPU speed
    for (let at = 0; at < audio.length; at += SR / 10) {
      session.push(audio.subarray(at, Math.min(at + SR / 10, audio.length)));
      await session.inputProcessed();
      await until(() => !session.stats().partialInFlight);
    }
    await session.stop();
    const finals = of(log, 'final');
    const text = finals.map((f) => f.text).join(' ');
    if (process.env.EARSHOT_TEST_VERBOSE)
      console.log(
        finals.map((f) => [f.text, f.source]),
        session.stats(),
      );
    assert.deepEqual(of(log, 'error'), []);
    // no fragment shouted as a sentence of its own
    assert.deepEqual(text.match(/\b[A-Z]{2,}\b/g) ?? [], [], text);
    const wer = werCount(REF_JFK, text);
    assert.ok(wer.errors / wer.words <= 0.15, text);
    // every utterance showed text before its final
    for (const f of finals)
      assert.ok(
        of(log, 'partial').some((p) => p.utteranceId === f.utteranceId),
        `no partial for "${f.text}"`,
      );
  });

  it('reports a decode the filter rejects as dropped, with the reason, and sends no final', async () => {
    // "he was not an ill disposed young man" is real speech, declared a hallucination by configuration for this test
    const filter = new HallucinationFilter({ patterns: { en: ['.*\\byoung man\\b.*'] } });
    const session = new StreamSession({ engine, vad: vad.createDetector(), config: { language: 'en', partials: false }, filter });
    const log = record(session);
    session.push(
      compose([
        { kind: 'silence', audio: silence(0.5) },
        { kind: 'speech', audio: decode16k(librivox('0880')) },
        { kind: 'silence', audio: silence(1.5) },
      ]).audio,
    );
    await session.stop();
    assert.deepEqual(
      log.map((e) => e.type),
      ['speech_start', 'speech_end', 'dropped'],
      JSON.stringify(log.map((e) => ('text' in e.data ? e.data.text : e.type))),
    );
    const dropped = of(log, 'dropped')[0];
    assert.match(dropped.text, /young man/i);
    assert.deepEqual(
      dropped.reasons.map((r) => [r.rule, r.pattern]),
      [['phrase', 'en:.*\\byoung man\\b.*']],
    );
    assert.equal(filter.stats.snapshot().byPattern['en:.*\\byoung man\\b.*'], 1);
  });

  it('close() cancels the running final decode in the engine and emits nothing more', async () => {
    const session = new StreamSession({ engine, vad: vad.createDetector(), config: { language: 'en', partials: false } });
    const log = record(session);
    session.push(
      compose([
        { kind: 'speech', audio: decode16k(librivox('0870')) },
        { kind: 'silence', audio: silence(1.5) },
      ]).audio,
    );
    await until(() => session.stats().finalInFlight);
    await until(() => engine.stats().busy === 1);
    session.close();
    await until(() => engine.stats().busy === 0 && engine.stats().queued === 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      log.map((e) => e.type),
      ['speech_start', 'speech_end'],
    );
    // the engine is still fine afterwards
    const t = await engine.transcribe(decode16k(card('001')), { language: 'en' });
    assert.match(t.text, /(ten|10) of clubs/i);
  });
});
