// Turns a continuous 16 kHz mono stream into utterances.
//
// Audio goes through the VAD in fixed frames; the speech state machine decides where speech
// starts and ends (hysteresis, minimum speech/silence, pre/post roll). The segmenter keeps the
// audio of the current utterance (plus a little history for the pre-roll) and reports:
//   speech_start  — stream time where the utterance begins (pre-roll included)
//   speech_update — the utterance grew (read it with currentAudio())
//   pause         — minPauseMs of silence inside the utterance: where it would end if the pause lasts
//   resume        — speech came back after a pause (the utterance goes on)
//   speech_end    — stream time where it ends, with a copy of its audio and its VAD map
// An utterance that reaches maxUtteranceSec is cut at the quietest point of its last
// splitSearchSec (lowest smoothed speech probability, then lowest energy), so a cut falls in a
// pause whenever the speaker made one, and the next utterance begins right there.
// Times are stream seconds: samples pushed since the segmenter was created / 16000.
import { AudioTimeline } from './audio-timeline.js';
import { rms } from './vad/energy.js';
import { SpeechMap } from './vad/speech-map.js';
import { SpeechStateMachine, type SpeechStateOptions } from './vad/speech-state.js';
import type { VadDetector } from './vad/types.js';

export interface SegmenterOptions {
  /** speech state machine settings (thresholds, min speech/silence, padding) */
  vad?: Partial<SpeechStateOptions>;
  /** longest utterance before a forced cut, seconds */
  maxUtteranceSec?: number;
  /** how far back from the limit to look for a pause to cut at, seconds */
  splitSearchSec?: number;
}

export const SEGMENTER_DEFAULTS = { maxUtteranceSec: 20, splitSearchSec: 3 };

export type EndReason = 'silence' | 'max_length' | 'flush' | 'gap';

export type SegmenterEvent =
  | { type: 'speech_start'; utterance: number; start: number; startSample: number }
  | { type: 'speech_update'; utterance: number; duration: number }
  /** `endSample`: the end the utterance gets if this pause becomes its end; `lastSpeechSample`: where the silence began */
  | { type: 'pause'; utterance: number; endSample: number; lastSpeechSample: number }
  | { type: 'resume'; utterance: number }
  | {
      type: 'speech_end';
      utterance: number;
      start: number;
      end: number;
      startSample: number;
      endSample: number;
      /** where the speech itself stopped (the end without post-roll); endSample for cuts and flushes */
      lastSpeechSample: number;
      reason: EndReason;
      audio: Float32Array;
      /** VAD probabilities over `audio` (for the hallucination filter's speech ratio) */
      speech: SpeechMap;
    };

export class Segmenter {
  readonly sampleRate: number;
  readonly frameSize: number;
  readonly maxUtteranceSamples: number;
  readonly splitSearchSamples: number;
  private readonly machine: SpeechStateMachine;
  private readonly timeline = new AudioTimeline();
  /** absolute sample where the state machine's frame 0 begins (moves on a gap) */
  private frameOrigin = 0;
  /** per-frame probabilities, probs[k] for the frame starting at probStart + k * frameSize */
  private probs: number[] = [];
  private probStart = 0;
  private current: { utterance: number; startSample: number } | null = null;
  private lastUtterance = 0;
  /** samples kept while nobody speaks: enough for an onset confirmed late plus its pre-roll */
  private readonly idleHistory: number;

  constructor(
    private readonly detector: VadDetector,
    options: SegmenterOptions = {},
  ) {
    this.sampleRate = detector.sampleRate;
    this.frameSize = detector.frameSize;
    this.machine = new SpeechStateMachine({ ...options.vad, sampleRate: this.sampleRate, frameSize: this.frameSize });
    const maxSec = options.maxUtteranceSec ?? SEGMENTER_DEFAULTS.maxUtteranceSec;
    const searchSec = Math.min(options.splitSearchSec ?? SEGMENTER_DEFAULTS.splitSearchSec, maxSec / 2);
    if (!(maxSec >= 1)) throw new Error('maxUtteranceSec must be at least 1 s');
    this.maxUtteranceSamples = Math.round(maxSec * this.sampleRate);
    this.splitSearchSamples = Math.round(searchSec * this.sampleRate);
    const { minSpeechMs, preRollMs } = this.machine.options;
    this.idleHistory = Math.round(((minSpeechMs + preRollMs) / 1000 + 2) * this.sampleRate);
  }

  get inSpeech(): boolean {
    return this.current !== null;
  }

  get currentUtterance(): number | null {
    return this.current?.utterance ?? null;
  }

  /** stream position: every sample pushed (or skipped), in seconds */
  get position(): number {
    return this.timeline.end / this.sampleRate;
  }

  get positionSamples(): number {
    return this.timeline.end;
  }

  /** stream time where the current utterance began */
  get currentStart(): number | null {
    return this.current ? this.current.startSample / this.sampleRate : null;
  }

  /** The current utterance's audio so far (a view: copy it before the next push). */
  currentAudio(): Float32Array | null {
    return this.current ? this.timeline.view(this.current.startSample, this.timeline.end) : null;
  }

  /** VAD probabilities over the current utterance so far. */
  currentSpeechMap(): SpeechMap | null {
    return this.current ? this.speechMap(this.current.startSample, this.timeline.end) : null;
  }

  /** A copy of the current utterance's audio up to `endSample`, with its VAD map (a speculative final). */
  currentUpTo(endSample: number): { audio: Float32Array; speech: SpeechMap } | null {
    if (!this.current) return null;
    const end = Math.min(endSample, this.timeline.end);
    return { audio: this.timeline.copy(this.current.startSample, end), speech: this.speechMap(this.current.startSample, end) };
  }

  get currentStartSample(): number | null {
    return this.current?.startSample ?? null;
  }

  /** Feeds samples of any length. Calls must not overlap (await each one). */
  async push(samples: Float32Array): Promise<SegmenterEvent[]> {
    const events: SegmenterEvent[] = [];
    const before = this.current ? { utterance: this.current.utterance, end: this.timeline.end } : null;
    this.timeline.append(samples);
    const F = this.frameSize;
    for (;;) {
      const frameStart = this.frameOrigin + this.machine.position;
      if (frameStart + F > this.timeline.end) break;
      const probability = await this.detector.process(this.timeline.view(frameStart, frameStart + F));
      if (this.probs.length === 0) this.probStart = frameStart;
      this.probs.push(probability);
      const ev = this.machine.update(probability);
      if (ev?.type === 'start') {
        const startSample = Math.max(this.frameOrigin + ev.sample, this.timeline.start);
        events.push(this.begin(startSample));
      } else if (ev?.type === 'end' && this.current) {
        events.push(this.finish(this.frameOrigin + ev.sample, 'silence', this.frameOrigin + ev.lastSpeech));
      } else if (ev?.type === 'pause' && this.current) {
        events.push({
          type: 'pause',
          utterance: this.current.utterance,
          endSample: this.frameOrigin + ev.sample,
          lastSpeechSample: this.frameOrigin + ev.lastSpeech,
        });
      } else if (ev?.type === 'resume' && this.current) {
        events.push({ type: 'resume', utterance: this.current.utterance });
      }
      if (this.current && frameStart + F - this.current.startSample >= this.maxUtteranceSamples) {
        events.push(...this.split(frameStart + F));
      }
    }
    if (this.current && (!before || before.utterance !== this.current.utterance || this.timeline.end > before.end)) {
      events.push({ type: 'speech_update', utterance: this.current.utterance, duration: (this.timeline.end - this.current.startSample) / this.sampleRate });
    }
    this.trim();
    return events;
  }

  /** Ends the current utterance now, with every sample received so far. */
  flush(): SegmenterEvent[] {
    if (!this.current) return [];
    const end = this.timeline.end;
    const silentSince = this.machine.silenceSince;
    this.machine.forceEnd(end - this.frameOrigin);
    const ev = this.finish(end, 'flush', silentSince === null ? end : this.frameOrigin + silentSince);
    this.trim();
    return [ev];
  }

  /**
   * `samples` of stream time were dropped before reaching the VAD (backpressure). The current
   * utterance ends where the audio stops, and the stream position jumps over the hole, so every
   * later time still counts samples since the start.
   */
  skip(samples: number): SegmenterEvent[] {
    const events: SegmenterEvent[] = [];
    if (this.current) events.push(this.finish(this.timeline.end, 'gap'));
    const next = this.timeline.end + samples;
    this.timeline.restartAt(next);
    this.machine.reset();
    this.frameOrigin = next;
    this.probs = [];
    this.probStart = next;
    return events;
  }

  private begin(startSample: number): SegmenterEvent {
    const utterance = ++this.lastUtterance;
    this.current = { utterance, startSample };
    return { type: 'speech_start', utterance, start: startSample / this.sampleRate, startSample };
  }

  private finish(endSample: number, reason: EndReason, lastSpeechSample = endSample): SegmenterEvent {
    const { utterance, startSample } = this.current!;
    this.current = null;
    return {
      type: 'speech_end',
      utterance,
      start: startSample / this.sampleRate,
      end: endSample / this.sampleRate,
      startSample,
      endSample,
      lastSpeechSample,
      reason,
      audio: this.timeline.copy(startSample, endSample),
      speech: this.speechMap(startSample, endSample),
    };
  }

  /** Cuts the current utterance at its quietest recent point and opens the next one there. */
  private split(position: number): SegmenterEvent[] {
    const { startSample } = this.current!;
    const cut = this.bestCut(Math.max(startSample + this.frameSize, position - this.splitSearchSamples), position);
    const ended = this.finish(cut, 'max_length');
    this.machine.continueAfterSplit(cut - this.frameOrigin);
    return [ended, this.begin(cut)];
  }

  /** Middle of the frame in [from, to) with the lowest smoothed speech probability, ties broken by energy. */
  private bestCut(from: number, to: number): number {
    const F = this.frameSize;
    const first = Math.max(0, Math.ceil((from - this.probStart) / F));
    const last = Math.min(this.probs.length, Math.floor((to - this.probStart) / F)); // exclusive
    if (last <= first) return to;
    const smoothed = (k: number) => {
      let sum = 0;
      let n = 0;
      for (let j = k - 1; j <= k + 1; j++) {
        if (j >= 0 && j < this.probs.length) {
          sum += this.probs[j];
          n++;
        }
      }
      return sum / n;
    };
    let lowest = Infinity;
    for (let k = first; k < last; k++) lowest = Math.min(lowest, smoothed(k));
    // Among frames about as quiet as the quietest (to the VAD), take the one with the least energy:
    // with no real pause, that is the valley between two words rather than the middle of one.
    let best = first;
    let bestEnergy = Infinity;
    for (let k = first; k < last; k++) {
      if (smoothed(k) > lowest + 0.05) continue;
      const s = this.probStart + k * F;
      const energy = rms(this.timeline.view(s, s + F));
      if (energy < bestEnergy) {
        bestEnergy = energy;
        best = k;
      }
    }
    return this.probStart + best * F + F / 2;
  }

  private speechMap(startSample: number, endSample: number): SpeechMap {
    const F = this.frameSize;
    const first = Math.max(0, Math.floor((startSample - this.probStart) / F));
    const last = Math.max(first, Math.min(this.probs.length, Math.ceil((endSample - this.probStart) / F)));
    const probabilities = Float32Array.from(this.probs.slice(first, last));
    return new SpeechMap(probabilities, F, this.sampleRate, this.probStart + first * F - startSample, this.machine.options.threshold);
  }

  /** Drops audio and probabilities no utterance can need any more. */
  private trim(): void {
    const keepFrom = this.current ? this.current.startSample : this.timeline.end - this.idleHistory;
    // discard in bulk (every ~2 s of slack) so the copy inside discardBefore stays rare
    if (keepFrom - this.timeline.start < 2 * this.sampleRate) return;
    this.timeline.discardBefore(keepFrom);
    const dropFrames = Math.floor((keepFrom - this.frameSize - this.probStart) / this.frameSize);
    if (dropFrames > 0) {
      this.probs.splice(0, dropFrames);
      this.probStart += dropFrames * this.frameSize;
    }
  }
}
