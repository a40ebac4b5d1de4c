// Scheduling and backpressure invariants of StreamSession, driven by a DETERMINISTIC ENGINE-LIKE
// OBJECT: it answers only when the test tells it to, so the order of decodes, aborts and drops can
// be pinned down without timing. Everything else is real: Silero VAD, real recorded speech, the
// segmenter, LocalAgreement and the hallucination filter. What the session produces with a real
// whisper.cpp engine is tested in session.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError, type Engine, type EngineInfo, type Transcript, type TranscribeOptions } from '../../src/engines/types.js';
import { FIT_WINDOW_SECONDS, StreamSession, type StreamSessionConfig, type StreamSessionEvents } from '../../src/pipeline/session.js';
import { SileroVadModel } from '../../src/pipeline/vad/index.js';
import { SR, card, compose, decode16k, librivox, silence } from './helpers/audio.js';

let model: SileroVadModel;
test.before(async () => {
  model = await SileroVadModel.load();
});
test.after(async () => {
  await model.close();
});

interface Call {
  audio: Float32Array;
  options: TranscribeOptions;
  answer(text: string): void;
  fail(err: Error): void;
  settled: boolean;
}

/** Engine-like object for ordering tests: every transcribe() waits for answer()/fail(). */
class ScriptedEngine implements Engine {
  readonly info: EngineInfo = {
    modelId: 'scripted',
    kind: 'whisper',
    device: 'cpu',
    languages: '*',
    multilingual: true,
    canTranslate: false,
    wordTimestamps: false,
    detail: {},
  };
  readonly calls: Call[] = [];
  private waiters: Array<() => void> = [];
  /** when set, every call is answered at once with this function's text (null: leave it to the test) */
  autoAnswer?: (call: Call) => string | null;

  ready() {
    return Promise.resolve();
  }
  stats() {
    return { workers: 1, busy: 0, queued: 0, restarts: 0, completed: 0, failed: 0 };
  }
  close() {
    return Promise.resolve();
  }

  transcribe(audio: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    return new Promise<Transcript>((resolve, reject) => {
      const call: Call = {
        audio,
        options,
        settled: false,
        answer: (text) => {
          if (call.settled) return;
          call.settled = true;
          const duration = audio.length / SR;
          resolve({
            text: text.trim(),
            language: options.language ?? 'en',
            duration,
            segments: text.trim()
              ? [{ id: 0, seek: 0, start: 0, end: duration, text, tokens: [], temperature: 0, avgLogprob: -0.2, compressionRatio: 1, noSpeechProb: 0.01 }]
              : [],
            task: 'transcribe',
            model: 'scripted',
            engine: 'whisper',
            processingTime: 0,
          });
        },
        fail: (err) => {
          if (call.settled) return;
          call.settled = true;
          reject(err);
        },
      };
      options.signal?.addEventListener('abort', () => call.fail(new EngineError('aborted', 'aborted')), { once: true });
      this.calls.push(call);
      if (this.autoAnswer) {
        const text = this.autoAnswer(call);
        if (text !== null) queueMicrotask(() => call.answer(text));
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** resolves when there are at least n calls */
  async waitForCalls(n: number): Promise<Call> {
    while (this.calls.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.calls[n - 1];
  }
}

type Logged = { [K in keyof StreamSessionEvents]: { type: K; data: StreamSessionEvents[K][0] } }[keyof StreamSessionEvents];

function record(session: StreamSession): Logged[] {
  const log: Logged[] = [];
  for (const type of ['speech_start', 'speech_end', 'partial', 'final', 'dropped', 'error', 'backpressure'] as const) {
    session.on(type, ((data: unknown) => log.push({ type, data } as Logged)) as never);
  }
  return log;
}

function nextEvent<K extends keyof StreamSessionEvents>(session: StreamSession, type: K): Promise<StreamSessionEvents[K][0]> {
  return new Promise((resolve) => session.once(type, ((data: StreamSessionEvents[K][0]) => resolve(data)) as never));
}

/** Waits until everything pushed so far went through the VAD. */
async function settle(session: StreamSession) {
  await session.inputProcessed();
}

test('scheduling (deterministic engine-like object): one partial in flight, skipped while busy, aborted by the final', async () => {
  const engine = new ScriptedEngine();
  const session = new StreamSession({
    engine,
    vad: model.createDetector(),
    config: { language: 'en', partialIntervalSec: 1, minPartialSec: 1, speculativeFinals: false },
    clock: () => 0,
  });
  const log = record(session);
  const speech = decode16k(librivox('0870')); // 7.1 s, speech from ~0.3 s
  const { audio } = compose([
    { kind: 'silence', audio: silence(0.5) },
    { kind: 'speech', audio: speech },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  let at = 0;
  const pushTo = async (sec: number) => {
    const to = Math.round(sec * SR);
    for (; at < to; at += 1600) session.push(audio.subarray(at, Math.min(at + 1600, to)));
    await settle(session);
  };

  await pushTo(2.5);
  const p1 = await engine.waitForCalls(1);
  assert.equal(p1.options.priority, 'low');
  assert.equal(p1.options.singleSegment, true);
  await pushTo(5.5); // 3 s more audio while partial 1 is still decoding: no second partial
  assert.equal(engine.calls.length, 1);

  const partial1 = nextEvent(session, 'partial');
  p1.answer(' And Mr. John');
  assert.deepEqual(await partial1, { utteranceId: 1, revision: 1, committed: '', tentative: 'And Mr. John' });
  // it came back: the utterance grew by more than 1 s meanwhile, so the next partial starts at once
  const p2 = await engine.waitForCalls(2);
  assert.ok(p2.audio.length > p1.audio.length + SR);
  await pushTo(6.5); // the utterance grows while partial 2 decodes
  const partial2 = nextEvent(session, 'partial');
  p2.answer(' And Mr. John Dashwood had then');
  assert.deepEqual(await partial2, { utteranceId: 1, revision: 2, committed: 'And Mr. John', tentative: 'Dashwood had then' });
  const p3 = await engine.waitForCalls(3);
  assert.equal(p3.options.priority, 'low');

  // the utterance ends while partial 3 is decoding: partial 3 is aborted, the final is asked with priority high
  await pushTo(audio.length / SR);
  const fin = await engine.waitForCalls(4);
  assert.equal(p3.options.signal?.aborted, true);
  assert.equal(fin.options.priority, 'high');
  // partials and finals decode alike (so one can stand for the other)
  for (const k of ['singleSegment', 'withoutTimestamps', 'beamSize', 'temperature', 'temperatureIncrement', 'language'] as const) {
    assert.equal(fin.options[k], p1.options[k], k);
  }
  p3.answer(' too late'); // ignored
  const final = nextEvent(session, 'final');
  fin.answer(' And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to do for them.');
  const f = await final;
  assert.equal(f.utteranceId, 1);
  assert.match(f.text, /^And Mr\. John Dashwood/);
  await session.stop();

  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start', 'partial', 'partial', 'speech_end', 'final'],
  );
  const start = log[0].data as { start: number };
  const end = log[3].data as { end: number };
  assert.ok(start.start > 0.3 && start.start < 1.0, `start ${start.start}`);
  assert.ok(end.end > 7.5 && end.end < 8.2, `end ${end.end}`);
  assert.deepEqual([f.start, f.end], [start.start, end.end]);
  assert.equal(session.stats().partialsAborted, 1);
});

test('scheduling (deterministic engine-like object): finals one at a time, in order, exactly once; silence gets none', async () => {
  const engine = new ScriptedEngine();
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { partials: false } });
  const log = record(session);
  const { audio } = compose([
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(card('003')) },
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(card('004')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  session.push(audio);
  const f1 = await engine.waitForCalls(1);
  await settle(session);
  // all three utterances have ended, but only one final decode runs at a time
  assert.equal(log.filter((e) => e.type === 'speech_end').length, 3);
  assert.equal(engine.calls.length, 1);
  f1.answer(' Ten of clubs.');
  const f2 = await engine.waitForCalls(2);
  f2.answer(''); // nothing decoded: no final, no dropped
  const f3 = await engine.waitForCalls(3);
  f3.answer(' Five, five.');
  await session.stop();
  const finals = log.filter((e) => e.type === 'final').map((e) => e.data as { utteranceId: number; text: string });
  assert.deepEqual(
    finals.map((f) => [f.utteranceId, f.text]),
    [
      [1, 'Ten of clubs.'],
      [3, 'Five, five.'],
    ],
  );
  assert.equal(engine.calls.length, 3);
});

test('scheduling (deterministic engine-like object): a hallucination is reported as dropped, not as a final', async () => {
  const engine = new ScriptedEngine();
  engine.autoAnswer = () => ' Thanks for watching!';
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { language: 'en', partials: false } });
  const log = record(session);
  session.push(
    compose([
      { kind: 'speech', audio: decode16k(card('002')) },
      { kind: 'silence', audio: silence(1.5) },
    ]).audio,
  );
  await session.stop();
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start', 'speech_end', 'dropped'],
  );
  const dropped = log[2].data as { utteranceId: number; reasons: { rule: string; pattern?: string }[] };
  assert.equal(dropped.utteranceId, 1);
  assert.deepEqual(
    dropped.reasons.map((r) => [r.rule, r.pattern]),
    [['phrase', 'en:Thanks for watching']],
  );
});

test('backpressure (deterministic engine-like object): a stalled engine drops the oldest queued utterances, counted', async () => {
  const engine = new ScriptedEngine();
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { partials: false, maxPendingSec: 5 } });
  const log = record(session);
  const clip = decode16k(librivox('0880')); // ~3 s each
  const pieces = [];
  for (let i = 0; i < 4; i++) pieces.push({ kind: 'speech' as const, audio: clip }, { kind: 'silence' as const, audio: silence(1.5) });
  const { audio } = compose(pieces);
  // a client sending in real time: every chunk is through the VAD before the next one comes
  for (let at = 0; at < audio.length; at += SR / 2) {
    session.push(audio.subarray(at, at + SR / 2));
    await settle(session);
  }
  const first = await engine.waitForCalls(1); // utterance 1 is being decoded (not pending)
  // utterances 2, 3, 4 wait (about 3.4 s each, bound 5 s): 2 and 3 are dropped, oldest first
  const bp = log.filter((e) => e.type === 'backpressure').map((e) => e.data as { droppedUtterances: number[]; droppedSeconds: number });
  assert.deepEqual(
    bp.flatMap((b) => b.droppedUtterances),
    [2, 3],
  );
  const stats = session.stats();
  assert.equal(stats.backpressureDroppedUtterances, 2);
  assert.ok(stats.pendingSeconds <= 5);
  assert.ok(Math.abs(stats.backpressureDroppedSeconds - bp.reduce((s, b) => s + b.droppedSeconds, 0)) < 1e-9);
  engine.autoAnswer = () => ' He was not an ill disposed young man.';
  first.answer(' He was not an ill disposed young man.');
  await session.stop();
  const finals = log.filter((e) => e.type === 'final').map((e) => (e.data as { utteranceId: number }).utteranceId);
  assert.deepEqual(finals, [1, 4]);
  assert.equal(engine.calls.length, 2);
});

test('backpressure (deterministic engine-like object): input beyond the bound is dropped oldest first and stream time jumps over the hole', async () => {
  const engine = new ScriptedEngine();
  engine.autoAnswer = () => ' Ten of clubs.';
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { partials: false, maxPendingSec: 10 } });
  const log = record(session);
  // 30 s: speech at 4 s (will be dropped with the oldest input) and at 25 s (kept)
  const { audio, placed } = compose([
    { kind: 'silence', audio: silence(4) },
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(20) },
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(3.9) },
  ]);
  // pushed in 1 s chunks far faster than real time: the VAD takes the first, the rest queue up
  let hints = 0;
  for (let at = 0; at < audio.length; at += SR) if (!session.push(audio.subarray(at, at + SR))) hints++;
  assert.ok(hints > 0, 'push() signals pressure');
  await session.stop();
  const bp = log.filter((e) => e.type === 'backpressure').map((e) => e.data as { droppedInputSeconds: number; totalDroppedSeconds: number });
  const droppedInput = bp.reduce((s, b) => s + b.droppedInputSeconds, 0);
  assert.ok(droppedInput >= audio.length / SR - 1 - 10 - 1e-6, `dropped ${droppedInput}`);
  const starts = log.filter((e) => e.type === 'speech_start').map((e) => (e.data as { start: number }).start);
  assert.equal(starts.length, 1, JSON.stringify(starts));
  const kept = placed[3];
  assert.ok(starts[0] > kept.start - 0.5 && starts[0] < kept.start + 0.3, `speech at ${kept.start}, reported at ${starts[0]}`);
  assert.equal(session.position, audio.length / SR);
});

test('close() (deterministic engine-like object): aborts in-flight decodes and emits nothing after', async () => {
  const engine = new ScriptedEngine();
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { partials: false } });
  const log = record(session);
  session.push(
    compose([
      { kind: 'speech', audio: decode16k(card('001')) },
      { kind: 'silence', audio: silence(1.5) },
    ]).audio,
  );
  const call = await engine.waitForCalls(1);
  session.close();
  assert.equal(call.options.signal?.aborted, true);
  call.answer(' Ten of clubs.');
  await session.stop(); // resolves at once on a closed session
  assert.throws(() => session.push(new Float32Array(10)), /stopped/);
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start', 'speech_end'],
  );
});

// ---- latency-first schedule ---------------------------------------------------------------

/** The quietest 20 ms of `audio` between fractions a and b of its length (a gap between two words). */
function quietestPoint(audio: Float32Array, a: number, b: number): number {
  const W = 320;
  let best = Math.round(audio.length * a);
  let bestEnergy = Infinity;
  for (let at = Math.round(audio.length * a); at + W < audio.length * b; at += W / 2) {
    let e = 0;
    for (let i = at; i < at + W; i++) e += audio[i]! * audio[i]!;
    if (e < bestEnergy) {
      bestEnergy = e;
      best = at + W / 2;
    }
  }
  return best;
}

/** One real sentence with short pauses inserted between words: speech, pause, speech, pause, speech. */
function sentenceWithPauses(pauseSec: number) {
  const sentence = decode16k(librivox('0870'));
  const c1 = quietestPoint(sentence, 0.25, 0.4);
  const c2 = quietestPoint(sentence, 0.6, 0.75);
  return compose([
    { kind: 'silence', audio: silence(0.5) },
    { kind: 'speech', audio: sentence.subarray(0, c1) },
    { kind: 'silence', audio: silence(pauseSec) },
    { kind: 'speech', audio: sentence.subarray(c1, c2) },
    { kind: 'silence', audio: silence(pauseSec) },
    { kind: 'speech', audio: sentence.subarray(c2) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
}

async function pushRealTime(session: StreamSession, audio: Float32Array, chunk = SR / 10) {
  for (let at = 0; at < audio.length; at += chunk) {
    session.push(audio.subarray(at, Math.min(at + chunk, audio.length)));
    await settle(session);
  }
}

test('speculative final (deterministic engine-like object): started at the pause, kept when the pause ends the utterance — no decode after the end', async () => {
  const engine = new ScriptedEngine();
  // the hangover set to 700 ms so that 0.45 s after the speech lies well between the pause and the end
  const session = new StreamSession({
    engine,
    vad: model.createDetector(),
    config: { language: 'en', partials: false, vad: { minSilenceMs: 700 } },
    clock: () => 0,
  });
  const log = record(session);
  const { audio, placed } = compose([
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  // up to 0.45 s after the speech: past the pause (250 ms), before the hangover (700 ms)
  await pushRealTime(session, audio.subarray(0, Math.round((placed[0]!.end + 0.45) * SR)));
  const speculative = await engine.waitForCalls(1);
  assert.equal(speculative.options.priority, 'normal');
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start'],
  ); // the utterance has not ended yet
  const heard = speculative.audio.length / SR;
  speculative.answer(' Ten of clubs.');
  await pushRealTime(session, audio.subarray(Math.round((placed[0]!.end + 0.45) * SR)));
  await session.stop();
  // the speculation's result came back during the pause: a partial, then the same text as the final
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start', 'partial', 'speech_end', 'final'],
  );
  const final = log[3]!.data as { text: string; source: string; start: number; end: number };
  assert.deepEqual([final.text, final.source], ['Ten of clubs.', 'speculative']);
  assert.ok(Math.abs(final.end - final.start - heard) < 0.05, `final spans ${final.end - final.start} s, the speculation heard ${heard} s`);
  assert.equal(engine.calls.length, 1);
  const stats = session.stats();
  assert.deepEqual([stats.speculativeDecodes, stats.speculativeCancelled, stats.finalsFromSpeculation, stats.finalsDecoded], [1, 0, 1, 0]);
});

test('short pauses inside a sentence (deterministic engine-like object): one final, not three; speculations cancelled as finals when speech resumes, their decodes kept as partials', async () => {
  const engine = new ScriptedEngine();
  // speculative finals held until the test decides (partials off: a partial answered in the pause would stand for them)
  engine.autoAnswer = () => null;
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { language: 'en', partials: false }, clock: () => 0 });
  const log = record(session);
  const { audio, placed } = sentenceWithPauses(0.4);
  const pushUntil = async (sec: number, from: number) => pushRealTime(session, audio.subarray(Math.round(from * SR), Math.round(sec * SR)));
  // the first pause: a speculation starts; speech resumes before the hangover: no speech_end
  await pushUntil(placed[3]!.start + 0.3, 0);
  const first = engine.calls.filter((c) => c.options.priority === 'normal');
  assert.equal(first.length, 1, 'one speculation at the first pause');
  assert.equal(first[0]!.options.signal?.aborted, false, 'cancelled as a final, not aborted');
  assert.ok(!log.some((e) => e.type === 'speech_end'));
  // its answer arrives after the resume: a partial, not a final
  first[0]!.answer(' And Mr. John Dashwood');
  await pushUntil(placed[3]!.start + 0.4, placed[3]!.start + 0.3);
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start', 'partial'],
  );
  // the second pause: a new speculation; speech resumes again; its answer comes back as a partial
  await pushUntil(placed[5]!.start + 0.3, placed[3]!.start + 0.4);
  let speculations = engine.calls.filter((c) => c.options.priority === 'normal');
  assert.equal(speculations.length, 2);
  assert.equal(speculations[1]!.options.signal?.aborted, false);
  speculations[1]!.answer(' And Mr. John Dashwood had then leisure to consider');
  // the third pause is the end: its speculation is the final
  await pushUntil(placed[6]!.start + 0.45, placed[5]!.start + 0.3);
  speculations = engine.calls.filter((c) => c.options.priority === 'normal');
  assert.equal(speculations.length, 3, 'one speculation per pause');
  speculations[2]!.answer(' And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to do for them.');
  await pushUntil(audio.length / SR, placed[6]!.start + 0.45);
  await session.stop();
  const types = log.map((e) => e.type);
  assert.equal(types.filter((t) => t === 'speech_start').length, 1, types.join());
  assert.equal(types.filter((t) => t === 'speech_end').length, 1, types.join());
  assert.deepEqual(types.slice(-2), ['speech_end', 'final']);
  const final = log.at(-1)!.data as { text: string; source: string; start: number; end: number };
  assert.equal(final.source, 'speculative');
  assert.match(final.text, /^And Mr\. John Dashwood had then leisure .* for them\.$/);
  assert.ok(final.start < placed[1]!.start + 0.1 && final.end > placed[5]!.start + 1, `final ${final.start}–${final.end}`);
  const stats = session.stats();
  assert.deepEqual([stats.speculativeDecodes, stats.speculativeCancelled, stats.finalsDecoded], [3, 2, 0]);
  assert.equal(engine.calls.length, 3, 'no decode wasted, none after the end');
});

/** "Ten of clubs" then 1.5 s of silence. */
function cardThenSilence() {
  const { audio, placed } = compose([
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  return { audio, speechEnd: Math.round(placed[0]!.end * SR) };
}

/**
 * A session given the speech at real-time pace (every decode answered at once), then 150 ms of
 * silence: a partial starts on audio holding all the speech, and it is held (the test answers it).
 */
async function heldCoveringPartial(config: StreamSessionConfig = {}) {
  const engine = new ScriptedEngine();
  engine.autoAnswer = () => ' Ten of clubs.';
  const session = new StreamSession({
    engine,
    vad: model.createDetector(),
    config: { language: 'en', partialIntervalSec: 0.1, minPartialSec: 0.3, ...config },
    clock: () => 0,
  });
  const log = record(session);
  const { audio, speechEnd } = cardThenSilence();
  await pushRealTime(session, audio.subarray(0, speechEnd));
  const before = engine.calls.length;
  assert.ok(before >= 1);
  engine.autoAnswer = undefined;
  const held = speechEnd + Math.round(0.15 * SR);
  await pushRealTime(session, audio.subarray(speechEnd, held));
  const covering = await engine.waitForCalls(before + 1);
  assert.equal(covering.options.priority, 'low');
  return { engine, session, log, before, covering, rest: audio.subarray(held) };
}

function lastFinal(log: Logged[]): [string, string, string] {
  const last = log.at(-1)!;
  const final = last.data as { text: string; source: string };
  return [last.type, final.text, final.source];
}

test('partial reuse (deterministic engine-like object): a partial that covers the speech is the final', async () => {
  const { engine, session, log, before, covering, rest } = await heldCoveringPartial();
  // the pause and the end pass while it runs: no speculation, no decode after the end
  await pushRealTime(session, rest);
  const ended = log.findIndex((e) => e.type === 'speech_end');
  assert.ok(ended > 0);
  assert.equal(engine.calls.length, before + 1);
  covering.answer(' Ten of clubs.');
  await session.stop();
  assert.deepEqual(lastFinal(log), ['final', 'Ten of clubs.', 'partial']);
  assert.equal(engine.calls.length, before + 1);
  assert.equal(session.stats().finalsFromPartial, 1);
});

test('encoder windows (deterministic engine-like object): fitted on every decode by default; partials on another window are never the final', async () => {
  // defaults: every decode (partials, the final) asks for the fitted window, so a covering partial can be the final
  const fitted = new ScriptedEngine();
  fitted.autoAnswer = () => ' Ten of clubs.';
  const plain = new StreamSession({
    engine: fitted,
    vad: model.createDetector(),
    config: { language: 'en', partialIntervalSec: 0.1, minPartialSec: 0.3 },
    clock: () => 0,
  });
  await pushRealTime(plain, cardThenSilence().audio);
  await plain.stop();
  assert.ok(fitted.calls.length >= 2);
  for (const call of fitted.calls) assert.equal(call.options.audioContextSeconds, FIT_WINDOW_SECONDS);

  // full-window partials, fitted finals: the partial holding all the speech is aborted at the pause and the speculation decodes
  const { engine, session, log, before, covering, rest } = await heldCoveringPartial({ partialWindow: 'full', finalWindow: 'fit' });
  assert.equal(covering.options.audioContextSeconds, undefined);
  await pushRealTime(session, rest);
  const speculation = await engine.waitForCalls(before + 2);
  assert.equal(covering.settled, true, 'the partial on the full window was aborted');
  assert.equal(speculation.options.priority, 'normal');
  assert.equal(speculation.options.audioContextSeconds, FIT_WINDOW_SECONDS);
  speculation.answer(' Ten of clubs.');
  await session.stop();
  assert.deepEqual(lastFinal(log), ['final', 'Ten of clubs.', 'speculative']);
  assert.equal(engine.calls.length, before + 2);
  assert.equal(session.stats().finalsFromPartial, 0);
});

test('context (deterministic engine-like object): every decode after a final is prompted with the committed text', async () => {
  const engine = new ScriptedEngine();
  const texts = [' And so, my fellow Americans,', ' ask not what your country can do for you.'];
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { language: 'en' }, clock: () => 0 });
  const log = record(session);
  // every decode of utterance k answers texts[k]
  engine.autoAnswer = () => texts[log.filter((e) => e.type === 'speech_start').length - 1] ?? '';
  const { audio } = compose([
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(1.5) },
    { kind: 'speech', audio: decode16k(card('003')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  await pushRealTime(session, audio);
  await session.stop();
  const finals = log.filter((e) => e.type === 'final').map((e) => (e.data as { text: string }).text);
  assert.deepEqual(finals, ['And so, my fellow Americans,', 'ask not what your country can do for you.']);
  const secondStart = (log.filter((e) => e.type === 'speech_start')[1]!.data as { start: number }).start;
  const later = engine.calls.filter((c) => c.audio.length > 0 && c.options.initialPrompt !== undefined);
  assert.ok(later.length > 0);
  for (const c of later) {
    assert.equal(c.options.initialPrompt, 'And so, my fellow Americans,');
    assert.equal(c.options.noContext, false); // whisper.cpp ignores a prompt without context
  }
  // the first utterance's decodes had nothing to go on
  assert.equal(engine.calls[0]!.options.initialPrompt, undefined);
  assert.ok(secondStart > 1);
});

test('overload (deterministic engine-like object): fewer partials, then partials from the small model, then finals only — every final once, in order', async () => {
  const engine = new ScriptedEngine();
  const small = new ScriptedEngine();
  (small.info as { modelId: string }).modelId = 'scripted-small';
  small.autoAnswer = () => ' small';
  const session = new StreamSession({
    engine,
    partialEngine: small,
    vad: model.createDetector(),
    config: { language: 'en', partialIntervalSec: 0.3, minPartialSec: 0.3 },
    clock: () => 0,
  });
  const log = record(session);
  const utteranceNow = () => log.filter((e) => e.type === 'speech_start').length;
  const clip = decode16k(librivox('0880')); // ~3 s
  const pieces = [];
  for (let i = 0; i < 4; i++) pieces.push({ kind: 'speech' as const, audio: clip }, { kind: 'silence' as const, audio: silence(1.5) });
  const { audio, placed } = compose(pieces);
  // The main engine is "slow" for finals: it answers decodes of speech at once but holds every decode
  // that heard the end of its utterance's speech (a speculation, or a partial that can stand for the final).
  const callUtterance = new Map<Call, number>();
  const heldFinalClass = (call: Call, u: number) => {
    const start = (log.filter((e) => e.type === 'speech_start')[u - 1]!.data as { start: number }).start;
    return start + call.audio.length / SR > placed[2 * (u - 1)]!.end - 0.05;
  };
  engine.autoAnswer = (call) => {
    const u = utteranceNow();
    callUtterance.set(call, u);
    return heldFinalClass(call, u) ? null : ` partial ${u}`;
  };
  small.autoAnswer = (call) => {
    callUtterance.set(call, utteranceNow());
    return ' small partial';
  };
  const levels: string[] = [];
  for (let at = 0; at < audio.length; at += SR / 10) {
    session.push(audio.subarray(at, at + SR / 10));
    await settle(session);
    if (levels.at(-1) !== session.stats().load) levels.push(session.stats().load);
  }
  assert.deepEqual(levels, ['normal', 'fewer_partials', 'small_partials']);
  const partialsOf = (e: ScriptedEngine, u: number) => e.calls.filter((c) => c.options.priority === 'low' && c.settled && callUtterance.get(c) === u).length;
  assert.ok(partialsOf(engine, 1) > 0 && partialsOf(engine, 2) > 0, 'partials while the engine keeps up');
  assert.equal(partialsOf(engine, 3), 0, 'no partials while two finals wait');
  assert.equal(partialsOf(engine, 4), 0);
  assert.ok(partialsOf(small, 4) > 0, 'partials of the small model when three finals wait');
  assert.equal(small.calls.filter((c) => c.options.priority !== 'low').length, 0, 'the small model never decodes a final');
  // one held final-class decode for each of utterances 1–3; none for 4 (overloaded: no speculation)
  const held = engine.calls.filter((c) => !c.settled);
  assert.deepEqual(
    held.map((c) => callUtterance.get(c)),
    [1, 2, 3],
  );
  // the speculations come back in reverse order; finals still come out 1, 2, 3, 4, each once
  engine.autoAnswer = (call) => (call.options.priority === 'low' ? null : ' fresh');
  held[2]!.answer(' three');
  held[1]!.answer(' two');
  held[0]!.answer(' one');
  await session.stop();
  const finals = log.filter((e) => e.type === 'final').map((e) => e.data as { utteranceId: number; text: string; source: string });
  assert.deepEqual(
    finals.map((f) => [f.utteranceId, f.text]),
    [
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'fresh'],
    ],
  );
  assert.equal(finals[3]!.source, 'decode');
  // no partial of an utterance after its speech_end
  for (const u of [1, 2, 3, 4]) {
    const end = log.findIndex((e) => e.type === 'speech_end' && (e.data as { utteranceId: number }).utteranceId === u);
    assert.ok(!log.slice(end).some((e) => e.type === 'partial' && (e.data as { utteranceId: number }).utteranceId === u));
  }
  assert.equal(session.stats().load, 'normal');
});

test('input (deterministic engine-like object): a client that pushes right after each inputProcessed() never stalls', async () => {
  const engine = new ScriptedEngine();
  engine.autoAnswer = () => ' Ten of clubs.';
  const session = new StreamSession({ engine, vad: model.createDetector(), config: { language: 'en' }, clock: () => 0 });
  const log = record(session);
  const { audio } = compose([
    { kind: 'speech', audio: decode16k(card('001')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  // awaiting the mark's promise directly resumes this loop before the input loop has wound down
  for (let at = 0; at < audio.length; at += SR / 10) {
    session.push(audio.subarray(at, at + SR / 10));
    await session.inputProcessed();
  }
  assert.deepEqual(log.map((e) => e.type).slice(-2), ['speech_end', 'final']);
  await session.stop();
});

test('a partial running at the pause (deterministic engine-like object): aborted, the speculation starts at once and is the final', async () => {
  const engine = new ScriptedEngine();
  engine.autoAnswer = () => null; // every decode waits for the test
  const session = new StreamSession({
    engine,
    vad: model.createDetector(),
    // the hangover at 700 ms so that 0.45 s after the speech lies well between the pause and the end
    config: { language: 'en', partialIntervalSec: 1, minPartialSec: 1, vad: { minSilenceMs: 700 } },
    clock: () => 0,
  });
  const log = record(session);
  const { audio, placed } = compose([
    { kind: 'speech', audio: decode16k(librivox('0880')) },
    { kind: 'silence', audio: silence(1.5) },
  ]);
  const speechEnd = placed[0]!.end;
  await pushRealTime(session, audio.subarray(0, Math.round(1.5 * SR)));
  const partial = await engine.waitForCalls(1); // on the first second or so of speech
  assert.equal(partial.options.priority, 'low');
  // past the pause, before the hangover: the partial, which does not hold the speech up to the pause, is aborted
  // and the speculation is already running
  await pushRealTime(session, audio.subarray(Math.round(1.5 * SR), Math.round((speechEnd + 0.45) * SR)));
  const speculation = await engine.waitForCalls(2);
  assert.equal(partial.options.signal?.aborted, true);
  assert.equal(speculation.options.priority, 'normal');
  assert.ok(speculation.audio.length > partial.audio.length, 'the speculation holds the speech up to the pause');
  partial.answer(' He was not'); // an aborted decode's answer is never shown
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start'],
  );
  speculation.answer(' He was not an ill disposed young man.');
  await pushRealTime(session, audio.subarray(Math.round((speechEnd + 0.45) * SR)));
  await session.stop();
  assert.deepEqual(
    log.map((e) => e.type),
    ['speech_start', 'partial', 'speech_end', 'final'],
  );
  const final = log.at(-1)!.data as { text: string; source: string };
  assert.deepEqual([final.text, final.source], ['He was not an ill disposed young man.', 'speculative']);
  assert.equal(engine.calls.length, 2);
  const stats = session.stats();
  assert.deepEqual([stats.partialsAborted, stats.speculativeDecodes, stats.finalsFromSpeculation, stats.finalsDecoded], [1, 1, 1, 0]);
});
