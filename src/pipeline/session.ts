// One real-time transcription stream: audio in (16 kHz mono float, any chunk size), utterance
// events out. The WebSocket route and the `listen` command are thin adapters over this class.
//
//   push(samples) → VAD + segmenter → speech_start … [pause … resume] … speech_end
//                                   ↘ partial decodes of the growing utterance (LocalAgreement-2)
//                   pause → speculative final decode (kept if the pause becomes the end)
//                   speech_end → the speculative decode, a covering partial, or a fresh final decode
//                                → hallucination filter → final | dropped
//
// Guarantees:
// - utterance ids are 1, 2, 3 … in stream order and never reused;
// - per utterance: speech_start, then partials (revision 1, 2, …), then speech_end, then at most
//   one final or one dropped; no partial of an utterance is emitted after its speech_end;
// - a final is emitted exactly once per utterance whose decode has text after filtering; silence
//   or noise that decodes to nothing emits no final; text the filter removed emits `dropped`;
// - finals are emitted in utterance order, whatever order their decodes finish in;
// - all times are stream seconds: samples received since the session began / 16000 (wall-clock
//   delays never shift them; audio dropped by backpressure still counts).
//
// Decoding schedule (latency first):
// - Every decode of an utterance — partial, speculative or final — uses the same options (the
//   final's beam, temperature fallback, one segment, no timestamp tokens) and the same prompt: the
//   end of the session's committed text, so a fragment after a pause is decoded as the
//   continuation of a sentence, not as a new one ("ASK NOT!"). Same options means any decode
//   that covers the utterance's speech can BE its final: nothing is decoded twice. (A session that
//   sets different encoder windows for partials and finals gives that up: its partials are never
//   adopted.) The window is fitted to the utterance by default (FIT_WINDOW_SECONDS): Whisper pads
//   every decode to 30 s otherwise, and that padding was most of a final's cost.
// - Partials: at most one non-final decode (partial or speculative) in flight per session
//   (priority 'low'); a new one starts when none runs and the utterance grew by the partial
//   cadence, so a slow engine yields fewer partials.
// - At a pause (minPauseMs of silence inside speech) the final decode starts speculatively
//   (priority 'normal') on the audio up to where the utterance would end — unless the running or
//   newest partial already covers the speech; a partial still running on earlier speech is aborted
//   and the speculation runs next (waiting for it pushed finals past the hangover). If speech resumes, the speculation is cancelled as a
//   final at no cost: it goes on as the partial of the speech up to the pause (so the session still
//   has one non-final decode in flight at most, and no decode is wasted).
// - At the end: the speculative decode, or the newest partial covering all the speech, is adopted
//   as the final (it may still be running); otherwise a fresh final decode (priority 'high') is
//   queued. Finals are delivered one at a time per session, in order.
// - Overload (policy/overload.ts): fewer partials, then partials from a smaller model or none,
//   then backpressure. Every session has at most one decode per priority in an engine's queue,
//   and the engine serves each priority first come first served, so sessions share it fairly.
//
// Backpressure: "pending" audio is audio received but not yet decoded for a final — input still
// waiting for the VAD plus ended utterances waiting for a fresh final decode (the utterance being
// decoded right now, and utterances whose adopted decode is running, do not count). It is bounded
// by maxPendingSec (default 30 s). Past it, the oldest pending audio is dropped first: whole
// queued utterances, oldest first (they get no final), then, if the VAD input alone is still over
// the bound, the oldest input (the stream position jumps over the hole; an utterance open at the
// hole ends there). Every drop is counted and reported in a `backpressure` event. push() returns
// false while pending audio is above half the bound, as a hint to a client that can slow down.
import { EventEmitter } from 'node:events';
import { EngineError, SAMPLE_RATE, type Engine, type Segment, type Transcript, type TranscribeOptions, type Word } from '../engines/types.js';
import { ONE_WINDOW_SECONDS, outputLanguage } from './batch.js';
import { HallucinationFilter, type DroppedSegment } from './filter/index.js';
import {
  LocalAgreement,
  loadLevel,
  OVERLOAD_DEFAULTS,
  REDUCED_CADENCE_FACTOR,
  wordsFromSegments,
  type LoadLevel,
  type OverloadThresholds,
} from './policy/index.js';
import { Segmenter, type EndReason, type SegmenterEvent } from './segmenter.js';
import type { SpeechMap } from './vad/speech-map.js';
import type { SpeechStateOptions } from './vad/speech-state.js';
import type { VadDetector } from './vad/types.js';

export interface StreamSessionConfig {
  /** must be 16000: resample before push() (src/audio does that for the interfaces) */
  sampleRate?: number;
  /** ISO 639-1; undefined or 'auto' = detect per utterance */
  language?: string;
  task?: 'transcribe' | 'translate';
  /** emit partial (interim) results; default true */
  partials?: boolean;
  /** speech state machine settings (thresholds, hangover, pause, pre/post roll) */
  vad?: Partial<SpeechStateOptions>;
  /** longest utterance before a forced cut (default 20 s) */
  maxUtteranceSec?: number;
  /** where to look for the cut, back from the limit (default 3 s) */
  splitSearchSec?: number;
  /** partial cadence: minimum growth of the utterance between two partial decodes (default 0.5 s) */
  partialIntervalSec?: number;
  /** no partial decode of less audio than this (default 0.5 s) */
  minPartialSec?: number;
  /** bound on audio waiting for the VAD or a final decode (default 30 s) */
  maxPendingSec?: number;
  /** word timings in finals (and better partial alignment); default true when the engine has them */
  wordTimestamps?: boolean;
  /** start the final decode at the first pause and keep it if the pause ends the utterance (default true) */
  speculativeFinals?: boolean;
  /** prompt every decode with the end of the session's committed text (default true) */
  contextPrompt?: boolean;
  /** overload policy thresholds (policy/overload.ts) */
  overload?: Partial<OverloadThresholds>;
  /**
   * encoder window of partial decodes: 'fit' = the audio plus 1 s, at least FIT_WINDOW_SECONDS
   * (default: about a third of the cost on engines that pad to 30 s, slightly worse text on very
   * short utterances), 'full' = the engine's own
   */
  partialWindow?: DecodeWindow;
  /** encoder window of speculative and final decodes (default 'fit') */
  finalWindow?: DecodeWindow;
  /** options passed to every decode (beam size, temperature, prompt) */
  finalOptions?: Pick<TranscribeOptions, 'beamSize' | 'bestOf' | 'temperature' | 'temperatureIncrement' | 'initialPrompt'>;
}

/** the encoder window of a decode: the engine's own (Whisper: 30 s), or fitted to the audio */
export type DecodeWindow = 'full' | 'fit';

export interface StreamSessionOptions {
  engine: Engine;
  /** a smaller, faster engine for partials when the session is overloaded (policy/overload.ts) */
  partialEngine?: Engine;
  /** a detector for this session alone (stateful) */
  vad: VadDetector;
  config?: StreamSessionConfig;
  /** hallucination filter for finals (and, without counting, partials); null disables it */
  filter?: HallucinationFilter | null;
  /** milliseconds, for the lag measure (default performance.now) */
  clock?: () => number;
}

export interface SpeechStartEvent {
  utteranceId: number;
  start: number;
}
export interface SpeechEndEvent {
  utteranceId: number;
  start: number;
  end: number;
  reason: EndReason;
}
export interface PartialEvent {
  utteranceId: number;
  revision: number;
  /** words two consecutive decodes agreed on; never changes once sent */
  committed: string;
  /** the rest of the newest decode; may change */
  tentative: string;
}
export interface FinalEvent {
  utteranceId: number;
  text: string;
  start: number;
  end: number;
  language: string;
  /** segments of the final decode, times in stream seconds */
  segments: Segment[];
  /** words of all segments, times in stream seconds (empty without word timestamps) */
  words: Word[];
  /** seconds the engine took */
  processingTime: number;
  /** where the decode came from: a speculative decode started at a pause, a covering partial, or a decode after the end */
  source: FinalSource;
}
export type FinalSource = 'speculative' | 'partial' | 'decode';
export interface DroppedEvent {
  utteranceId: number;
  start: number;
  end: number;
  /** what the decoder produced */
  text: string;
  /** what the filter removed and why */
  reasons: DroppedSegment[];
}
export interface SessionErrorEvent {
  utteranceId?: number;
  stage: 'vad' | 'partial' | 'final';
  code: string;
  message: string;
  /** the session cannot go on (it closed itself) */
  fatal: boolean;
}
export interface BackpressureEvent {
  /** audio dropped by this event, seconds */
  droppedSeconds: number;
  /** all audio dropped by backpressure so far in this session */
  totalDroppedSeconds: number;
  /** audio still pending after the drop */
  pendingSeconds: number;
  /** queued utterances dropped whole (no final will come for them) */
  droppedUtterances: number[];
  /** input dropped before the VAD, seconds */
  droppedInputSeconds: number;
}

export interface StreamSessionEvents {
  speech_start: [SpeechStartEvent];
  speech_end: [SpeechEndEvent];
  partial: [PartialEvent];
  final: [FinalEvent];
  dropped: [DroppedEvent];
  error: [SessionErrorEvent];
  backpressure: [BackpressureEvent];
  /** an utterance's final decode is over (after its final, dropped or error event, or alone when it held no text) */
  utterance_done: [{ utteranceId: number }];
}

export interface StreamSessionStats {
  receivedSeconds: number;
  pendingSeconds: number;
  utterances: number;
  finals: number;
  dropped: number;
  partials: number;
  partialDecodes: number;
  partialsAborted: number;
  /** speculative final decodes started at pauses */
  speculativeDecodes: number;
  /** speculative decodes aborted because speech resumed */
  speculativeCancelled: number;
  /** finals taken from a speculative decode / from a covering partial / decoded after the end */
  finalsFromSpeculation: number;
  finalsFromPartial: number;
  finalsDecoded: number;
  /** engine seconds spent on this session per second of audio received */
  rtf: number;
  /** seconds since the oldest utterance still waiting for its final ended (0: none waits) */
  lagSeconds: number;
  /** the overload policy's level now */
  load: LoadLevel;
  /** a partial decode is running now */
  partialInFlight: boolean;
  /** a final decode is running now */
  finalInFlight: boolean;
  /** ended utterances waiting for their final decode */
  finalsQueued: number;
  backpressureDroppedSeconds: number;
  backpressureDroppedUtterances: number;
}

/**
 * Defaults (docs/streaming.md): partials every 0.5 s of growth from 0.5 s of speech, so a cheap engine
 * shows text within about a second and a slow one simply yields fewer; bench/stream.ts compares other
 * hangover and pause settings (its variants).
 */
export const SESSION_DEFAULTS = {
  partials: true,
  partialIntervalSec: 0.5,
  minPartialSec: 0.5,
  maxPendingSec: 30,
  speculativeFinals: true,
  contextPrompt: true,
  // Fitted encoder windows: a Whisper decode of a 3 s utterance costs about a third (bench/results/stream,
  // 2026-11-30: Whisper base end → final p50 / p95 1.18 / 1.35 → 0.70 / 0.82 s, WER 3.7 → 1.8 % on the
  // stream). 'full' is the accurate choice on one-word utterances.
  partialWindow: 'fit' as DecodeWindow,
  finalWindow: 'fit' as DecodeWindow,
};

/**
 * The shortest fitted window. Measured on Whisper base, CTranslate2 int8, greedy, 128 LibriVox, cards
 * and telephone prompts of 0.4–26 s: a window of the audio + 1 s, at least 10 s, took 0.43× the full
 * window's time at WER 13.4 % against 12.4 % (7 more errors in 693 words, on phone prompts of a word or
 * two), 15 of the 128 tries redone on the full window by the engine's guard (a loop, or a try that
 * would have fallen back to sampling). Without the guard: 0.34×, 14.3 %; a 6 s minimum: 21.5 %.
 */
export const FIT_WINDOW_SECONDS = 10;

/** how much committed text prompts the next decodes (Whisper reads at most 224 prompt tokens) */
const CONTEXT_CHARS = 200;
/** one decoding window: audio up to this is decoded as one segment without timestamp tokens */
const ONE_WINDOW_SAMPLES = ONE_WINDOW_SECONDS * SAMPLE_RATE;

type InputItem =
  | { kind: 'audio'; samples: Float32Array }
  | { kind: 'skip'; samples: number }
  | { kind: 'flush'; done: () => void }
  | { kind: 'mark'; done: () => void };

interface Utterance {
  id: number;
  startSample: number;
  ended: boolean;
  /** inside a pause reported by the VAD (speech may resume) */
  paused: boolean;
  agreement: LocalAgreement;
  revision: number;
  lastCommitted: string;
  lastTentative: string;
  /** utterance length (samples) at the last partial decode */
  lastPartialSamples: number;
  partialsFailed: boolean;
  /** the newest finished decode of this utterance (partial or speculative) */
  newest: Decode | null;
}

/** A decode of an unfinished utterance: a partial, or a speculative final. */
interface Decode {
  utterance: Utterance;
  kind: 'partial' | 'speculative';
  /** absolute sample where its audio ends */
  endSample: number;
  /** identifies the decoding options: equal keys decode the same audio the same way */
  key: string;
  controller: AbortController;
  /** the transcript, or null when it failed or was aborted */
  promise: Promise<Transcript | null>;
  transcript?: Transcript;
}

interface FinalJob {
  utterance: Utterance;
  start: number;
  end: number;
  audio: Float32Array;
  speech: SpeechMap;
  /** clock() when the utterance ended */
  endedAt: number;
  /** a decode of the utterance that already covers its speech: it is the final */
  adopted?: Decode;
}

export class StreamSession extends EventEmitter<StreamSessionEvents> {
  private readonly engine: Engine;
  private readonly partialEngine: Engine | undefined;
  private readonly segmenter: Segmenter;
  private readonly filter: HallucinationFilter | null;
  private readonly config: StreamSessionConfig;
  private readonly clock: () => number;
  private readonly partialsEnabled: boolean;
  private readonly speculativeEnabled: boolean;
  private readonly partialWindow: DecodeWindow;
  private readonly finalWindow: DecodeWindow;
  private readonly contextEnabled: boolean;
  private readonly partialIntervalSamples: number;
  private readonly minPartialSamples: number;
  private readonly maxPendingSamples: number;
  private readonly wordTimestamps: boolean;
  private readonly thresholds: OverloadThresholds;

  private readonly input: InputItem[] = [];
  private inputSamples = 0;
  private processing = false;
  private readonly finalQueue: FinalJob[] = [];
  private finalRunning: { job: FinalJob; controller: AbortController } | null = null;
  /** the current utterance's one non-final decode in flight (partial or speculative) */
  private slot: Decode | null = null;
  /** every decode still running (adopted ones included), to abort on close */
  private readonly running = new Set<Decode>();
  private current: Utterance | null = null;
  private detectedLanguage: string | undefined;
  /** the end of the committed text: the prompt of the next decodes */
  private context = '';
  private stopping = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counters = {
    received: 0,
    utterances: 0,
    finals: 0,
    dropped: 0,
    partials: 0,
    partialDecodes: 0,
    partialsAborted: 0,
    speculative: 0,
    speculativeCancelled: 0,
    fromSpeculation: 0,
    fromPartial: 0,
    decoded: 0,
    engineSeconds: 0,
    bpSamples: 0,
    bpUtterances: 0,
  };

  constructor(options: StreamSessionOptions) {
    super();
    this.engine = options.engine;
    this.partialEngine = options.partialEngine;
    this.config = options.config ?? {};
    this.clock = options.clock ?? (() => performance.now());
    this.filter = options.filter === undefined ? new HallucinationFilter() : options.filter;
    if (this.config.sampleRate !== undefined && this.config.sampleRate !== SAMPLE_RATE) {
      throw new Error(`the session takes ${SAMPLE_RATE} Hz mono audio; resample ${this.config.sampleRate} Hz input first`);
    }
    if (options.vad.sampleRate !== SAMPLE_RATE) throw new Error(`the session runs at ${SAMPLE_RATE} Hz; the VAD wants ${options.vad.sampleRate}`);
    options.vad.reset();
    this.segmenter = new Segmenter(options.vad, {
      vad: this.config.vad,
      maxUtteranceSec: this.config.maxUtteranceSec,
      splitSearchSec: this.config.splitSearchSec,
    });
    this.partialsEnabled = this.config.partials ?? SESSION_DEFAULTS.partials;
    this.speculativeEnabled = this.config.speculativeFinals ?? SESSION_DEFAULTS.speculativeFinals;
    this.partialWindow = this.config.partialWindow ?? SESSION_DEFAULTS.partialWindow;
    this.finalWindow = this.config.finalWindow ?? SESSION_DEFAULTS.finalWindow;
    this.contextEnabled = this.config.contextPrompt ?? SESSION_DEFAULTS.contextPrompt;
    this.partialIntervalSamples = Math.round((this.config.partialIntervalSec ?? SESSION_DEFAULTS.partialIntervalSec) * SAMPLE_RATE);
    this.minPartialSamples = Math.round((this.config.minPartialSec ?? SESSION_DEFAULTS.minPartialSec) * SAMPLE_RATE);
    this.maxPendingSamples = Math.round((this.config.maxPendingSec ?? SESSION_DEFAULTS.maxPendingSec) * SAMPLE_RATE);
    this.wordTimestamps = this.config.wordTimestamps ?? this.engine.info.wordTimestamps;
    this.thresholds = { ...OVERLOAD_DEFAULTS, ...this.config.overload };
  }

  /**
   * Queues 16 kHz mono samples (any length). Returns false while pending audio is above half
   * the backpressure bound (a hint to slow down; nothing was refused).
   */
  push(samples: Float32Array): boolean {
    if (this.closed || this.stopping) throw new Error('stream session is stopped');
    if (!(samples instanceof Float32Array)) throw new TypeError('push() takes a Float32Array of 16 kHz mono samples');
    if (samples.length > 0) {
      // copy: the caller may reuse its buffer
      this.input.push({ kind: 'audio', samples: samples.slice() });
      this.inputSamples += samples.length;
      this.counters.received += samples.length;
      this.process(); // the VAD takes the oldest chunk at once when idle: that chunk is no longer pending
      this.enforceBackpressure();
    }
    return this.pendingSamples() <= this.maxPendingSamples / 2;
  }

  /** Ends the current utterance now (after all audio pushed before this call is through the VAD). */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.input.push({ kind: 'flush', done: resolve });
      this.process();
    });
  }

  /** Resolves once all audio pushed before this call has been through the VAD (nothing is ended). */
  inputProcessed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.input.push({ kind: 'mark', done: resolve });
      this.process();
    });
  }

  /** No more audio: ends the current utterance and resolves once its final (and all others) are out. */
  async stop(): Promise<void> {
    if (this.closed) return;
    if (!this.stopping) {
      this.stopping = true;
      await this.flush();
    }
    await this.whenIdle();
  }

  /** Aborts everything now: no further events, in-flight decodes cancelled, queues dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const item of this.input) if (item.kind === 'flush' || item.kind === 'mark') item.done();
    this.input.length = 0;
    this.inputSamples = 0;
    this.finalQueue.length = 0;
    for (const decode of this.running) decode.controller.abort();
    this.finalRunning?.controller.abort();
    this.wakeIdle();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** stream position in seconds: all audio received, including audio later dropped by backpressure */
  get position(): number {
    return this.counters.received / SAMPLE_RATE;
  }

  stats(): StreamSessionStats {
    const received = this.counters.received / SAMPLE_RATE;
    return {
      receivedSeconds: received,
      pendingSeconds: this.pendingSamples() / SAMPLE_RATE,
      utterances: this.counters.utterances,
      finals: this.counters.finals,
      dropped: this.counters.dropped,
      partials: this.counters.partials,
      partialDecodes: this.counters.partialDecodes,
      partialsAborted: this.counters.partialsAborted,
      speculativeDecodes: this.counters.speculative,
      speculativeCancelled: this.counters.speculativeCancelled,
      finalsFromSpeculation: this.counters.fromSpeculation,
      finalsFromPartial: this.counters.fromPartial,
      finalsDecoded: this.counters.decoded,
      rtf: received > 0 ? Math.round((this.counters.engineSeconds / received) * 1000) / 1000 : 0,
      lagSeconds: Math.round(this.lagSeconds() * 1000) / 1000,
      load: this.level(),
      partialInFlight: this.slot !== null,
      finalInFlight: this.finalRunning !== null,
      finalsQueued: this.finalQueue.length,
      backpressureDroppedSeconds: this.counters.bpSamples / SAMPLE_RATE,
      backpressureDroppedUtterances: this.counters.bpUtterances,
    };
  }

  // ---- input → segmenter -------------------------------------------------------------------

  private process(): void {
    if (this.processing || this.closed) return;
    this.processing = true;
    void this.drainInput().finally(() => {
      this.processing = false;
      // input may have arrived between the loop's last check and now (a caller resumed by a mark
      // pushes at once, before this runs): pick it up, or it would wait for the next push
      if (this.input.length > 0) this.process();
      this.wakeIdle();
    });
  }

  private async drainInput(): Promise<void> {
    while (!this.closed && this.input.length > 0) {
      const item = this.input.shift()!;
      try {
        if (item.kind === 'audio') {
          this.inputSamples -= item.samples.length;
          this.handle(await this.segmenter.push(item.samples));
        } else if (item.kind === 'skip') {
          this.handle(this.segmenter.skip(item.samples));
        } else if (item.kind === 'flush') {
          this.handle(this.segmenter.flush());
          item.done();
        } else {
          item.done();
        }
      } catch (err) {
        if (item.kind === 'flush' || item.kind === 'mark') item.done();
        this.fail('vad', err as Error);
        return;
      }
    }
  }

  private handle(events: SegmenterEvent[]): void {
    for (const ev of events) {
      if (this.closed) return;
      switch (ev.type) {
        case 'speech_start':
          this.counters.utterances++;
          this.current = {
            id: ev.utterance,
            startSample: ev.startSample,
            ended: false,
            paused: false,
            agreement: new LocalAgreement(),
            revision: 0,
            lastCommitted: '',
            lastTentative: '',
            lastPartialSamples: 0,
            partialsFailed: false,
            newest: null,
          };
          this.emit('speech_start', { utteranceId: ev.utterance, start: ev.start });
          break;
        case 'speech_update':
          this.maybeStartPartial();
          break;
        case 'pause':
          this.onPause(ev.endSample, ev.lastSpeechSample);
          break;
        case 'resume':
          this.onResume();
          break;
        case 'speech_end':
          this.onEnd(ev);
          break;
      }
    }
  }

  // ---- decoding options --------------------------------------------------------------------

  /** The options of every decode of an utterance of `samples` (partials, speculations and finals alike). */
  private decodeOptions(samples: number, language: string | undefined, kind: Decode['kind'] | 'final'): TranscribeOptions {
    const window = kind === 'partial' ? this.partialWindow : this.finalWindow;
    const prompt = [this.config.finalOptions?.initialPrompt, this.contextEnabled ? this.context : ''].filter((p): p is string => Boolean(p?.trim())).join(' ');
    const oneWindow = samples <= ONE_WINDOW_SAMPLES;
    return {
      ...this.config.finalOptions,
      language,
      task: this.config.task,
      wordTimestamps: this.wordTimestamps,
      // VAD-cut utterances: timestamp decoding makes Whisper skip leading words ("starts" at 0.5 s).
      withoutTimestamps: oneWindow,
      singleSegment: oneWindow,
      initialPrompt: prompt || undefined,
      // whisper.cpp drops the prompt with no_context; within one window there is nothing else to drop
      noContext: !prompt,
      ...(window === 'fit' && oneWindow ? { audioContextSeconds: FIT_WINDOW_SECONDS } : {}),
    };
  }

  /**
   * Decodes with equal keys decode the same audio the same way. The prompt is left out on purpose:
   * it is the committed text when the decode started, by the same rule for every decode.
   */
  private keyOf(engine: Engine, options: TranscribeOptions): string {
    const { initialPrompt: _prompt, noContext: _noContext, ...rest } = options;
    const ordered = Object.fromEntries(
      Object.entries(rest)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
    return `${engine.info.modelId}|${JSON.stringify(ordered)}`;
  }

  private finalLanguage(): string | undefined {
    return this.config.language;
  }

  private partialLanguage(): string | undefined {
    const asked = this.config.language;
    if (asked && asked !== 'auto') return asked;
    // a second of audio is a poor basis for language detection: reuse what the last final found
    return this.detectedLanguage;
  }

  // ---- partials and speculative finals -----------------------------------------------------

  private startDecode(utterance: Utterance, kind: Decode['kind'], engine: Engine, audio: Float32Array, endSample: number): Decode {
    const options = this.decodeOptions(audio.length, kind === 'partial' ? this.partialLanguage() : this.finalLanguage(), kind);
    const controller = new AbortController();
    const decode: Decode = {
      utterance,
      kind,
      endSample,
      key: this.keyOf(engine, options),
      controller,
      promise: Promise.resolve(null),
    };
    decode.promise = engine.transcribe(audio, { ...options, priority: kind === 'partial' ? 'low' : 'normal', signal: controller.signal }).then(
      (transcript) => {
        decode.transcript = transcript;
        this.counters.engineSeconds += transcript.processingTime;
        return transcript;
      },
      (err: unknown) => {
        const quiet = controller.signal.aborted || this.closed || (err instanceof EngineError && err.code === 'aborted');
        // partials are a nicety: report once, stop trying for this utterance, the final still comes
        if (!quiet && decode.kind === 'partial' && !utterance.ended) {
          utterance.partialsFailed = true;
          this.emitError('partial', err as Error, utterance.id, false);
        }
        return null;
      },
    );
    this.running.add(decode);
    void decode.promise.then(async (transcript) => {
      if (transcript && !utterance.ended && !this.closed && !controller.signal.aborted) {
        utterance.newest = decode;
        await this.emitPartial(utterance, transcript);
      }
      this.running.delete(decode);
      if (this.slot === decode) this.slot = null;
      if (!this.closed) this.maybeStartPartial();
      this.wakeIdle();
    });
    return decode;
  }

  private maybeStartPartial(): void {
    const utterance = this.current;
    if (!this.partialsEnabled || this.closed || !utterance || utterance.ended || utterance.partialsFailed) return;
    if (this.slot) return; // one in flight per session; the next one starts when it returns
    if (utterance.paused) return; // the speculative decode stands for the partial of a pause
    let engine = this.engine;
    let interval = this.partialIntervalSamples;
    const level = this.level();
    if (level !== 'normal') {
      interval *= REDUCED_CADENCE_FACTOR;
      if (level === 'no_partials') return;
      if (level === 'small_partials') engine = this.partialEngine!;
      else if (this.finalQueue.length > 0 || (this.finalRunning && !this.finalRunning.job.adopted)) return;
    }
    const audio = this.segmenter.currentAudio();
    if (!audio || audio.length < this.minPartialSamples) return;
    if (audio.length - utterance.lastPartialSamples < interval) return;
    utterance.lastPartialSamples = audio.length;
    this.counters.partialDecodes++;
    this.slot = this.startDecode(utterance, 'partial', engine, audio.slice(), utterance.startSample + audio.length);
  }

  /**
   * A decode whose audio holds all the speech of the utterance. Past lastSpeechSample it heard only
   * silence (speech coming back would have been a resume), except after a cut (`limit`): there the
   * next utterance begins, so the decode must end by the cut.
   */
  private covers(decode: Decode, lastSpeechSample: number, limit = Infinity): boolean {
    return decode.endSample >= lastSpeechSample && decode.endSample <= limit;
  }

  private finalKey(samples: number): string {
    return this.keyOf(this.engine, this.decodeOptions(samples, this.finalLanguage(), 'final'));
  }

  private onPause(endSample: number, lastSpeechSample: number): void {
    const utterance = this.current;
    if (!utterance) return;
    utterance.paused = true;
    if (!this.speculativeEnabled) return;
    const level = this.level();
    if (level === 'small_partials' || level === 'no_partials') return;
    const key = this.finalKey(endSample - utterance.startSample);
    const slot = this.slot;
    if (slot && slot.utterance === utterance && slot.key === key && this.covers(slot, lastSpeechSample)) {
      return; // the running partial already holds all the speech: it stands for the speculation
    }
    const newest = utterance.newest;
    if (newest && newest.key === key && this.covers(newest, lastSpeechSample)) return;
    if (slot) {
      // A decode of the speech before the pause is still running. Waiting for it delays the final by the
      // rest of it — past the hangover with a model that pads to 30 s (measured on Whisper base: 4 of 6
      // finals were decoded after the end) —, and its text is a partial the speculation's outdates within
      // one decode. So it is aborted: the engine stops at its next check (whisper.cpp between graph
      // nodes, CTranslate2 at its next pass) and the speculation runs next.
      slot.controller.abort();
      this.counters.partialsAborted++;
      this.slot = null;
    }
    const cut = this.segmenter.currentUpTo(endSample);
    if (!cut) return;
    this.counters.speculative++;
    this.slot = this.startDecode(utterance, 'speculative', this.engine, cut.audio, utterance.startSample + cut.audio.length);
  }

  private onResume(): void {
    const utterance = this.current;
    if (!utterance) return;
    utterance.paused = false;
    const slot = this.slot;
    if (slot && slot.kind === 'speculative') {
      // Speech goes on: the speculation will not be the final. Cancelling it costs nothing: the decode
      // already paid for comes back as the partial of the speech up to the pause. (Aborting it would
      // waste that work, and a whisper.cpp decode stops only at its next check.) The next pause that
      // finds it still running aborts it like any partial that does not cover the speech.
      slot.kind = 'partial';
      this.counters.speculativeCancelled++;
    }
    this.maybeStartPartial();
  }

  private onEnd(ev: Extract<SegmenterEvent, { type: 'speech_end' }>): void {
    const utterance = this.current!;
    utterance.ended = true;
    this.current = null;
    const key = this.finalKey(ev.audio.length);
    const limit = ev.reason === 'max_length' || ev.reason === 'gap' ? ev.endSample : Infinity;
    let adopted: Decode | undefined;
    const slot = this.slot;
    if (slot && slot.utterance === utterance) {
      this.slot = null;
      if (slot.key === key && this.covers(slot, ev.lastSpeechSample, limit)) adopted = slot;
      else {
        // the final supersedes a partial that does not cover the utterance
        slot.controller.abort();
        this.counters.partialsAborted++;
      }
    }
    const newest = utterance.newest;
    if (!adopted && newest && newest.key === key && this.covers(newest, ev.lastSpeechSample, limit)) adopted = newest;
    this.emit('speech_end', { utteranceId: ev.utterance, start: ev.start, end: ev.end, reason: ev.reason });
    this.finalQueue.push({ utterance, start: ev.start, end: ev.end, audio: ev.audio, speech: ev.speech, endedAt: this.clock(), adopted });
    this.enforceBackpressure();
    this.runFinals();
  }

  private async emitPartial(utterance: Utterance, transcript: Transcript): Promise<void> {
    let segments = transcript.segments;
    if (this.filter) {
      const speech = this.segmenter.currentSpeechMap();
      const filtered = await this.filter.filter(transcript, { speech: speech ?? undefined, language: outputLanguage(this.config) }, { record: false });
      segments = filtered.transcript.segments;
    }
    if (this.closed || utterance.ended) return;
    const state = utterance.agreement.update(wordsFromSegments(segments, transcript.language));
    if (state.committedText === utterance.lastCommitted && state.tentativeText === utterance.lastTentative) return;
    utterance.lastCommitted = state.committedText;
    utterance.lastTentative = state.tentativeText;
    utterance.revision++;
    this.counters.partials++;
    this.emit('partial', { utteranceId: utterance.id, revision: utterance.revision, committed: state.committedText, tentative: state.tentativeText });
  }

  // ---- finals ------------------------------------------------------------------------------

  private runFinals(): void {
    if (this.finalRunning || this.closed) return;
    const job = this.finalQueue.shift();
    if (!job) {
      this.wakeIdle();
      return;
    }
    const controller = new AbortController();
    this.finalRunning = { job, controller };
    void this.deliverFinal(job, controller).finally(() => {
      this.finalRunning = null;
      if (!this.closed) this.emit('utterance_done', { utteranceId: job.utterance.id });
      this.runFinals();
      this.maybeStartPartial();
      this.wakeIdle();
    });
  }

  private async deliverFinal(job: FinalJob, controller: AbortController): Promise<void> {
    const { utterance } = job;
    let transcript: Transcript | null = null;
    let source: FinalSource = 'decode';
    if (job.adopted) {
      transcript = await job.adopted.promise;
      source = job.adopted.kind;
    }
    if (this.closed) return;
    if (!transcript) {
      // nothing to adopt, or the adopted decode failed: decode after the end
      source = 'decode';
      try {
        transcript = await this.engine.transcribe(job.audio, {
          ...this.decodeOptions(job.audio.length, this.finalLanguage(), 'final'),
          priority: 'high',
          signal: controller.signal,
        });
        this.counters.engineSeconds += transcript.processingTime;
      } catch (err) {
        if (this.closed) return;
        this.emitError('final', err as Error, utterance.id, false);
        return;
      }
    }
    if (this.closed) return;
    if (source === 'speculative') this.counters.fromSpeculation++;
    else if (source === 'partial') this.counters.fromPartial++;
    else this.counters.decoded++;
    if (transcript.language) this.detectedLanguage = transcript.language;
    let result = transcript;
    let reasons: DroppedSegment[] = [];
    if (this.filter) {
      const filtered = await this.filter.filter(transcript, { speech: job.speech, audio: job.audio, language: outputLanguage(this.config) });
      result = filtered.transcript;
      reasons = filtered.dropped;
    }
    if (this.closed) return;
    if (result.text.trim() === '') {
      if (transcript.text.trim() !== '') {
        this.counters.dropped++;
        this.emit('dropped', { utteranceId: utterance.id, start: job.start, end: job.end, text: transcript.text, reasons });
      }
      return; // silence or noise decoded to nothing: no final
    }
    // utterance-relative → stream seconds (to the millisecond: no float noise in the JSON)
    const at = (t: number) => Math.round((t + job.start) * 1000) / 1000;
    // a decode adopted before the end may have heard a little less trailing silence: clamp to the utterance
    const within = (t: number) => Math.min(at(t), job.end);
    const segments = result.segments.map((s) => ({
      ...s,
      start: within(s.start),
      end: within(s.end),
      words: s.words?.map((w) => ({ ...w, start: within(w.start), end: within(w.end) })),
    }));
    this.counters.finals++;
    this.remember(result.text);
    this.emit('final', {
      utteranceId: utterance.id,
      text: result.text,
      start: job.start,
      end: job.end,
      language: result.language,
      segments,
      words: segments.flatMap((s) => s.words ?? []),
      processingTime: transcript.processingTime,
      source,
    });
  }

  /** Appends a final's text to the prompt context (its end, cut at a word boundary). */
  private remember(text: string): void {
    const joined = `${this.context} ${text.trim()}`.trim();
    if (joined.length <= CONTEXT_CHARS) {
      this.context = joined;
      return;
    }
    const tail = joined.slice(joined.length - CONTEXT_CHARS);
    const space = tail.indexOf(' ');
    this.context = space >= 0 ? tail.slice(space + 1) : tail;
  }

  // ---- load --------------------------------------------------------------------------------

  private lagSeconds(): number {
    let oldest = this.finalRunning?.job.endedAt ?? Infinity;
    for (const job of this.finalQueue) oldest = Math.min(oldest, job.endedAt);
    const finalLag = Number.isFinite(oldest) ? Math.max(0, (this.clock() - oldest) / 1000) : 0;
    return Math.max(finalLag, this.inputSamples / SAMPLE_RATE);
  }

  private level(): LoadLevel {
    return loadLevel(
      {
        finalsWaiting: this.finalQueue.length + (this.finalRunning ? 1 : 0),
        lagSeconds: this.lagSeconds(),
        hasPartialEngine: this.partialEngine !== undefined,
      },
      this.thresholds,
    );
  }

  // ---- backpressure ------------------------------------------------------------------------

  private pendingSamples(): number {
    return this.inputSamples + this.finalQueue.reduce((n, job) => n + (job.adopted ? 0 : job.audio.length), 0);
  }

  private enforceBackpressure(): void {
    let pending = this.pendingSamples();
    if (pending <= this.maxPendingSamples) return;
    const droppedUtterances: number[] = [];
    let droppedSamples = 0;
    let droppedInput = 0;
    // 1. queued utterances without a decode, oldest first: the oldest audio not yet decoded
    for (let k = 0; pending > this.maxPendingSamples && k < this.finalQueue.length; ) {
      const job = this.finalQueue[k]!;
      if (job.adopted) {
        k++;
        continue;
      }
      this.finalQueue.splice(k, 1);
      droppedUtterances.push(job.utterance.id);
      droppedSamples += job.audio.length;
      pending -= job.audio.length;
    }
    // 2. input the VAD has not reached, oldest first (becomes a hole the stream time jumps over)
    while (pending > this.maxPendingSamples) {
      const index = this.input.findIndex((item) => item.kind === 'audio');
      if (index < 0) break;
      const item = this.input[index] as { kind: 'audio'; samples: Float32Array };
      const excess = pending - this.maxPendingSamples;
      const cut = Math.min(item.samples.length, excess);
      if (cut === item.samples.length) this.input.splice(index, 1);
      else item.samples = item.samples.subarray(cut);
      this.inputSamples -= cut;
      pending -= cut;
      droppedInput += cut;
      // the hole goes where the dropped audio was, merged with a hole just before it
      const before = index > 0 ? this.input[index - 1] : undefined;
      if (before?.kind === 'skip') before.samples += cut;
      else this.input.splice(index, 0, { kind: 'skip', samples: cut });
    }
    droppedSamples += droppedInput;
    if (droppedSamples === 0) return;
    this.counters.bpSamples += droppedSamples;
    this.counters.bpUtterances += droppedUtterances.length;
    this.emit('backpressure', {
      droppedSeconds: droppedSamples / SAMPLE_RATE,
      totalDroppedSeconds: this.counters.bpSamples / SAMPLE_RATE,
      pendingSeconds: pending / SAMPLE_RATE,
      droppedUtterances,
      droppedInputSeconds: droppedInput / SAMPLE_RATE,
    });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private emitError(stage: SessionErrorEvent['stage'], err: Error, utteranceId: number | undefined, fatal: boolean): void {
    const code = err instanceof EngineError ? err.code : 'internal';
    // an 'error' event with no listener would throw inside our async plumbing: only emit when heard
    if (this.listenerCount('error') > 0) this.emit('error', { utteranceId, stage, code, message: err.message, fatal });
  }

  private fail(stage: SessionErrorEvent['stage'], err: Error): void {
    this.emitError(stage, err, this.current?.id, true);
    this.close();
  }

  private isIdle(): boolean {
    return this.closed || (!this.processing && this.input.length === 0 && this.finalQueue.length === 0 && !this.finalRunning && this.running.size === 0);
  }

  private whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
