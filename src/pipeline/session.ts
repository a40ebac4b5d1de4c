// One real-time transcription stream: audio in (16 kHz mono float, any chunk size), utterance
// events out. The WebSocket route and the `listen` command are thin adapters over this class.
//
//   push(samples) → VAD + segmenter → speech_start … speech_end
//                                   ↘ partial decodes of the growing utterance (LocalAgreement-2)
//                   speech_end → final decode (priority high) → hallucination filter → final | dropped
//
// Guarantees:
// - utterance ids are 1, 2, 3 … in stream order and never reused;
// - per utterance: speech_start, then partials (revision 1, 2, …), then speech_end, then at most
//   one final or one dropped; no partial of an utterance is emitted after its speech_end;
// - a final is emitted exactly once per utterance whose decode has text after filtering; silence
//   or noise that decodes to nothing emits no final; text the filter removed emits `dropped`;
// - finals are emitted in utterance order;
// - all times are stream seconds: samples received since the session began / 16000 (wall-clock
//   delays never shift them; audio dropped by backpressure still counts).
//
// Decoding schedule: at most one partial decode in flight per session (priority 'low', single
// segment, no temperature fallback). A new one starts only when none is running and the
// utterance grew by partialIntervalSec since the last one, so a slow engine simply yields fewer
// partials. When an utterance ends, its in-flight partial is aborted through its AbortSignal and
// the final decode (priority 'high') is queued; finals run one at a time per session, in order.
//
// Backpressure: "pending" audio is audio received but not yet decoded for a final — input still
// waiting for the VAD plus ended utterances waiting for their final decode (the utterance being
// decoded right now does not count). It is bounded by maxPendingSec (default 30 s). Past it, the
// oldest pending audio is dropped first: whole queued utterances, oldest first (they get no final),
// then, if the VAD input alone is still over the bound, the oldest input (the stream position
// jumps over the hole; an utterance open at the hole ends there). Every drop is counted and
// reported in a `backpressure` event. push() returns false while pending audio is above half the
// bound, as a hint to a client that can slow down.
import { EventEmitter } from 'node:events';
import { EngineError, SAMPLE_RATE, type Engine, type Segment, type TranscribeOptions, type Transcript, type Word } from '../engines/types.js';
import { outputLanguage } from './batch.js';
import { HallucinationFilter, type DroppedSegment } from './filter/index.js';
import { LocalAgreement, wordsFromSegments } from './policy/index.js';
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
  /** speech state machine settings (thresholds, min speech/silence, pre/post roll) */
  vad?: Partial<SpeechStateOptions>;
  /** longest utterance before a forced cut (default 20 s) */
  maxUtteranceSec?: number;
  /** where to look for the cut, back from the limit (default 3 s) */
  splitSearchSec?: number;
  /** minimum growth of the utterance between two partial decodes (default 1 s) */
  partialIntervalSec?: number;
  /** no partial decode of less audio than this (default 1 s) */
  minPartialSec?: number;
  /** bound on audio waiting for the VAD or a final decode (default 30 s) */
  maxPendingSec?: number;
  /** word timings in finals (and better partial alignment); default true when the engine has them */
  wordTimestamps?: boolean;
  /** options passed to every final decode (beam size, temperature, prompt) */
  finalOptions?: Pick<TranscribeOptions, 'beamSize' | 'bestOf' | 'temperature' | 'temperatureIncrement' | 'initialPrompt'>;
}

export interface StreamSessionOptions {
  engine: Engine;
  /** a detector for this session alone (stateful) */
  vad: VadDetector;
  config?: StreamSessionConfig;
  /** hallucination filter for finals (and, without counting, partials); null disables it */
  filter?: HallucinationFilter | null;
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
}
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
  /** a partial decode is running now */
  partialInFlight: boolean;
  /** a final decode is running now */
  finalInFlight: boolean;
  /** ended utterances waiting for their final decode */
  finalsQueued: number;
  backpressureDroppedSeconds: number;
  backpressureDroppedUtterances: number;
}

const DEFAULTS = {
  partials: true,
  partialIntervalSec: 1.0,
  minPartialSec: 1.0,
  maxPendingSec: 30,
};

type InputItem =
  | { kind: 'audio'; samples: Float32Array }
  | { kind: 'skip'; samples: number }
  | { kind: 'flush'; done: () => void }
  | { kind: 'mark'; done: () => void };

interface Utterance {
  id: number;
  start: number;
  ended: boolean;
  agreement: LocalAgreement;
  revision: number;
  lastCommitted: string;
  lastTentative: string;
  /** utterance length (samples) at the last partial decode */
  lastPartialSamples: number;
  partialsFailed: boolean;
}

interface FinalJob {
  utterance: Utterance;
  start: number;
  end: number;
  audio: Float32Array;
  speech: SpeechMap;
}

export class StreamSession extends EventEmitter<StreamSessionEvents> {
  private readonly engine: Engine;
  private readonly segmenter: Segmenter;
  private readonly filter: HallucinationFilter | null;
  private readonly config: StreamSessionConfig;
  private readonly partialsEnabled: boolean;
  private readonly partialIntervalSamples: number;
  private readonly minPartialSamples: number;
  private readonly maxPendingSamples: number;
  private readonly wordTimestamps: boolean;

  private readonly input: InputItem[] = [];
  private inputSamples = 0;
  private processing = false;
  private readonly finalQueue: FinalJob[] = [];
  private finalRunning: { job: FinalJob; controller: AbortController } | null = null;
  private partialRunning: { utterance: Utterance; controller: AbortController } | null = null;
  private current: Utterance | null = null;
  private detectedLanguage: string | undefined;
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
    bpSamples: 0,
    bpUtterances: 0,
  };

  constructor(options: StreamSessionOptions) {
    super();
    this.engine = options.engine;
    this.config = options.config ?? {};
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
    this.partialsEnabled = this.config.partials ?? DEFAULTS.partials;
    this.partialIntervalSamples = Math.round((this.config.partialIntervalSec ?? DEFAULTS.partialIntervalSec) * SAMPLE_RATE);
    this.minPartialSamples = Math.round((this.config.minPartialSec ?? DEFAULTS.minPartialSec) * SAMPLE_RATE);
    this.maxPendingSamples = Math.round((this.config.maxPendingSec ?? DEFAULTS.maxPendingSec) * SAMPLE_RATE);
    this.wordTimestamps = this.config.wordTimestamps ?? this.engine.info.wordTimestamps;
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
    this.partialRunning?.controller.abort();
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
    return {
      receivedSeconds: this.counters.received / SAMPLE_RATE,
      pendingSeconds: this.pendingSamples() / SAMPLE_RATE,
      utterances: this.counters.utterances,
      finals: this.counters.finals,
      dropped: this.counters.dropped,
      partials: this.counters.partials,
      partialDecodes: this.counters.partialDecodes,
      partialsAborted: this.counters.partialsAborted,
      partialInFlight: this.partialRunning !== null,
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
      if (ev.type === 'speech_start') {
        this.counters.utterances++;
        this.current = {
          id: ev.utterance,
          start: ev.start,
          ended: false,
          agreement: new LocalAgreement(),
          revision: 0,
          lastCommitted: '',
          lastTentative: '',
          lastPartialSamples: 0,
          partialsFailed: false,
        };
        this.emit('speech_start', { utteranceId: ev.utterance, start: ev.start });
      } else if (ev.type === 'speech_update') {
        this.maybeStartPartial();
      } else {
        const utterance = this.current!;
        utterance.ended = true;
        this.current = null;
        // the final supersedes any partial still being decoded
        if (this.partialRunning?.utterance === utterance) {
          this.partialRunning.controller.abort();
          this.counters.partialsAborted++;
        }
        this.emit('speech_end', { utteranceId: ev.utterance, start: ev.start, end: ev.end, reason: ev.reason });
        this.finalQueue.push({ utterance, start: ev.start, end: ev.end, audio: ev.audio, speech: ev.speech });
        this.enforceBackpressure();
        this.runFinals();
      }
    }
  }

  // ---- partials ----------------------------------------------------------------------------

  private maybeStartPartial(): void {
    const utterance = this.current;
    if (!this.partialsEnabled || this.closed || !utterance || utterance.ended || utterance.partialsFailed) return;
    if (this.partialRunning) return; // one in flight per session; the next one starts when it returns
    const audio = this.segmenter.currentAudio();
    if (!audio || audio.length < this.minPartialSamples) return;
    if (audio.length - utterance.lastPartialSamples < this.partialIntervalSamples) return;
    utterance.lastPartialSamples = audio.length;
    const copy = audio.slice();
    const controller = new AbortController();
    this.counters.partialDecodes++;
    this.partialRunning = { utterance, controller };
    void this.decodePartial(utterance, copy, controller).finally(() => {
      this.partialRunning = null;
      if (!this.closed) this.maybeStartPartial();
      this.wakeIdle();
    });
  }

  private async decodePartial(utterance: Utterance, audio: Float32Array, controller: AbortController): Promise<void> {
    const language = this.partialLanguage();
    let transcript: Transcript;
    try {
      transcript = await this.engine.transcribe(audio, {
        language,
        task: this.config.task,
        priority: 'low',
        noContext: true,
        singleSegment: true,
        withoutTimestamps: true,
        wordTimestamps: this.wordTimestamps,
        beamSize: 1,
        temperature: 0,
        temperatureIncrement: 0,
        signal: controller.signal,
      });
    } catch (err) {
      if (controller.signal.aborted || this.closed || utterance.ended) return;
      if (err instanceof EngineError && err.code === 'aborted') return;
      // partials are a nicety: report once, stop trying for this utterance, the final still comes
      utterance.partialsFailed = true;
      this.emitError('partial', err as Error, utterance.id, false);
      return;
    }
    if (this.closed || utterance.ended || controller.signal.aborted) return;
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

  private partialLanguage(): string | undefined {
    const asked = this.config.language;
    if (asked && asked !== 'auto') return asked;
    // a second of audio is a poor basis for language detection: reuse what the last final found
    return this.detectedLanguage;
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
    void this.decodeFinal(job, controller).finally(() => {
      this.finalRunning = null;
      this.runFinals();
      this.wakeIdle();
    });
  }

  private async decodeFinal(job: FinalJob, controller: AbortController): Promise<void> {
    const { utterance } = job;
    let transcript: Transcript;
    try {
      transcript = await this.engine.transcribe(job.audio, {
        ...this.config.finalOptions,
        language: this.config.language,
        task: this.config.task,
        priority: 'high',
        noContext: true,
        // VAD-cut utterances: timestamp decoding makes Whisper skip leading words ("starts" at 0.5 s).
        withoutTimestamps: job.audio.length <= 30 * SAMPLE_RATE,
        wordTimestamps: this.wordTimestamps,
        signal: controller.signal,
      });
    } catch (err) {
      if (this.closed) return;
      this.emitError('final', err as Error, utterance.id, false);
      return;
    }
    if (this.closed) return;
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
    const segments = result.segments.map((s) => ({
      ...s,
      start: at(s.start),
      end: at(s.end),
      words: s.words?.map((w) => ({ ...w, start: at(w.start), end: at(w.end) })),
    }));
    this.counters.finals++;
    this.emit('final', {
      utteranceId: utterance.id,
      text: result.text,
      start: job.start,
      end: job.end,
      language: result.language,
      segments,
      words: segments.flatMap((s) => s.words ?? []),
      processingTime: transcript.processingTime,
    });
  }

  // ---- backpressure ------------------------------------------------------------------------

  private pendingSamples(): number {
    return this.inputSamples + this.finalQueue.reduce((n, job) => n + job.audio.length, 0);
  }

  private enforceBackpressure(): void {
    let pending = this.pendingSamples();
    if (pending <= this.maxPendingSamples) return;
    const droppedUtterances: number[] = [];
    let droppedSamples = 0;
    let droppedInput = 0;
    // 1. queued utterances, oldest first: the oldest audio not yet decoded
    while (pending > this.maxPendingSamples && this.finalQueue.length > 0) {
      const job = this.finalQueue.shift()!;
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
    return (
      this.closed ||
      (!this.processing && this.input.length === 0 && this.finalQueue.length === 0 && !this.finalRunning && !this.partialRunning)
    );
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
