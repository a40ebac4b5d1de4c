// Turns a sequence of per-frame speech probabilities into speech start/end decisions.
// Pure and synchronous: positions are absolute sample indices of the stream, frame i covering
// [i * frameSize, (i + 1) * frameSize).
//
// Rules:
// - onset/offset hysteresis: speech begins at p >= threshold; once speaking, only frames below
//   negThreshold count as silence, so a word's quieter tail does not end the utterance.
// - minimum speech: an onset is confirmed only after minSpeechMs of voiced frames (gaps up to
//   ONSET_GAP_MS tolerated), so clicks and short noises never open an utterance. The start is
//   reported late, but placed where the speech actually began.
// - minimum silence: speech ends after minSilenceMs of silence.
// - padding: the start moves back by preRollMs and the end forward by postRollMs, so the decoder
//   hears the first and last phonemes whole. A start never reaches back before the previous end.

export interface SpeechStateOptions {
  sampleRate: number;
  frameSize: number;
  /** onset probability */
  threshold: number;
  /** offset probability (default threshold - 0.15) */
  negThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
  preRollMs: number;
  postRollMs: number;
}

export const SPEECH_STATE_DEFAULTS: SpeechStateOptions = {
  sampleRate: 16000,
  frameSize: 512,
  threshold: 0.5,
  negThreshold: 0.35,
  minSpeechMs: 250,
  minSilenceMs: 700,
  preRollMs: 300,
  postRollMs: 300,
};

const ONSET_GAP_MS = 100;

export function resolveSpeechStateOptions(options: Partial<SpeechStateOptions> = {}): SpeechStateOptions {
  const merged = { ...SPEECH_STATE_DEFAULTS, ...stripUndefined(options) };
  if (options.negThreshold === undefined) merged.negThreshold = Math.max(0.01, merged.threshold - 0.15);
  if (merged.negThreshold > merged.threshold) throw new Error('VAD negThreshold must not exceed threshold');
  if (!(merged.threshold > 0 && merged.threshold <= 1)) throw new Error('VAD threshold must be in (0, 1]');
  for (const key of ['minSpeechMs', 'minSilenceMs', 'preRollMs', 'postRollMs'] as const) {
    if (!(merged[key] >= 0)) throw new Error(`VAD ${key} must be >= 0`);
  }
  // The end is only known minSilenceMs after the last speech: padding past that point is not audio we have yet.
  merged.postRollMs = Math.min(merged.postRollMs, merged.minSilenceMs);
  return merged;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type SpeechEvent = { type: 'start'; sample: number } | { type: 'end'; sample: number };

export class SpeechStateMachine {
  readonly options: SpeechStateOptions;
  private readonly minSpeechFrames: number;
  private readonly minSilenceFrames: number;
  private readonly onsetGapFrames: number;
  private readonly preRoll: number;
  private readonly postRoll: number;

  private frame = 0; // index of the next frame to arrive
  private speaking = false;
  private onsetFrame = -1; // candidate onset while not yet confirmed
  private voicedFrames = 0;
  private lastVoicedFrame = -1;
  private silenceStartFrame = -1; // first silent frame of the current pause while speaking
  private previousEndSample = 0;

  constructor(options: Partial<SpeechStateOptions> = {}) {
    this.options = resolveSpeechStateOptions(options);
    const msToFrames = (ms: number) => Math.ceil((ms * this.options.sampleRate) / 1000 / this.options.frameSize);
    this.minSpeechFrames = Math.max(1, msToFrames(this.options.minSpeechMs));
    this.minSilenceFrames = Math.max(1, msToFrames(this.options.minSilenceMs));
    this.onsetGapFrames = msToFrames(ONSET_GAP_MS);
    this.preRoll = Math.round((this.options.preRollMs * this.options.sampleRate) / 1000);
    this.postRoll = Math.round((this.options.postRollMs * this.options.sampleRate) / 1000);
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** samples covered by the frames seen so far */
  get position(): number {
    return this.frame * this.options.frameSize;
  }

  /** Feeds the next frame's probability; returns a start or end when one is decided. */
  update(probability: number): SpeechEvent | null {
    const i = this.frame++;
    const { threshold, negThreshold, frameSize } = this.options;
    if (!this.speaking) {
      if (this.onsetFrame < 0) {
        if (probability >= threshold) {
          this.onsetFrame = i;
          this.voicedFrames = 1;
          this.lastVoicedFrame = i;
        }
      } else if (probability >= negThreshold) {
        this.voicedFrames++;
        this.lastVoicedFrame = i;
      } else if (i - this.lastVoicedFrame > this.onsetGapFrames) {
        this.onsetFrame = -1; // too short: a click or a breath
      }
      if (this.onsetFrame >= 0 && this.voicedFrames >= this.minSpeechFrames) {
        this.speaking = true;
        this.silenceStartFrame = -1;
        const start = Math.max(this.previousEndSample, this.onsetFrame * frameSize - this.preRoll, 0);
        this.onsetFrame = -1;
        return { type: 'start', sample: start };
      }
      return null;
    }
    if (probability >= threshold) {
      this.silenceStartFrame = -1;
    } else if (probability < negThreshold && this.silenceStartFrame < 0) {
      this.silenceStartFrame = i;
    }
    if (this.silenceStartFrame >= 0 && i + 1 - this.silenceStartFrame >= this.minSilenceFrames) {
      const end = Math.min(this.silenceStartFrame * frameSize + this.postRoll, this.position);
      this.endSpeech(end);
      return { type: 'end', sample: end };
    }
    return null;
  }

  /** Ends the current speech at `sample` (a flush or a forced split), without waiting for silence. */
  forceEnd(sample: number): void {
    this.endSpeech(sample);
  }

  /**
   * Speech goes on, but the caller cut the utterance at `sample` (maximum length): the next
   * utterance begins there. A pause already being counted stays counted.
   */
  continueAfterSplit(sample: number): void {
    this.previousEndSample = sample;
  }

  reset(): void {
    this.frame = 0;
    this.speaking = false;
    this.onsetFrame = -1;
    this.voicedFrames = 0;
    this.lastVoicedFrame = -1;
    this.silenceStartFrame = -1;
    this.previousEndSample = 0;
  }

  private endSpeech(sample: number): void {
    this.speaking = false;
    this.onsetFrame = -1;
    this.voicedFrames = 0;
    this.silenceStartFrame = -1;
    this.previousEndSample = sample;
  }
}
