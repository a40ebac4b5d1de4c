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
// - minimum silence (the hangover): speech ends after minSilenceMs of silence — or, once the
//   utterance is longer than longUtteranceMs, after max(minPauseMs, minSilenceMs / 2): a long
//   utterance ends at a shorter pause, so finals of continuous talk stay readable and timely.
// - pauses: after minPauseMs of silence inside speech a `pause` is reported (with the end sample the
//   utterance would have if the pause became its end), and a `resume` when speech comes back
//   before the end. A session starts its final decode speculatively at the pause.
// - padding: the start moves back by preRollMs and the end forward by postRollMs, so the decoder
//   hears the first and last phonemes whole. A start never reaches back before the previous end.
//   postRollMs is capped at minPauseMs, so an end reached through a pause is exactly the pause's
//   end sample (the speculative decode covers the same audio as the final).

export interface SpeechStateOptions {
  sampleRate: number;
  frameSize: number;
  /** onset probability */
  threshold: number;
  /** offset probability (default threshold - 0.15) */
  negThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
  /** silence inside speech reported as a pause (where a speculative final starts) */
  minPauseMs: number;
  /** past this utterance length the hangover halves (never below minPauseMs); 0 = never */
  longUtteranceMs: number;
  preRollMs: number;
  postRollMs: number;
}

export const SPEECH_STATE_DEFAULTS: SpeechStateOptions = {
  sampleRate: 16000,
  frameSize: 512,
  threshold: 0.5,
  negThreshold: 0.35,
  minSpeechMs: 250,
  minSilenceMs: 500,
  minPauseMs: 250,
  longUtteranceMs: 10_000,
  preRollMs: 300,
  postRollMs: 250,
};

const ONSET_GAP_MS = 100;

export function resolveSpeechStateOptions(options: Partial<SpeechStateOptions> = {}): SpeechStateOptions {
  const merged = { ...SPEECH_STATE_DEFAULTS, ...stripUndefined(options) };
  if (options.negThreshold === undefined) merged.negThreshold = Math.max(0.01, merged.threshold - 0.15);
  if (merged.negThreshold > merged.threshold) throw new Error('VAD negThreshold must not exceed threshold');
  if (!(merged.threshold > 0 && merged.threshold <= 1)) throw new Error('VAD threshold must be in (0, 1]');
  for (const key of ['minSpeechMs', 'minSilenceMs', 'minPauseMs', 'longUtteranceMs', 'preRollMs', 'postRollMs'] as const) {
    if (!(merged[key] >= 0)) throw new Error(`VAD ${key} must be >= 0`);
  }
  // A pause is a silence shorter than the hangover (a longer one simply ends the utterance).
  merged.minPauseMs = Math.min(merged.minPauseMs, merged.minSilenceMs);
  // An end is known minPauseMs after the last speech at the earliest: padding past that point is not
  // audio we have yet when the speculative decode starts.
  merged.postRollMs = Math.min(merged.postRollMs, merged.minPauseMs);
  return merged;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type SpeechEvent =
  | { type: 'start'; sample: number }
  /** `lastSpeech`: the sample where the silence began (the end of the last voiced frame) */
  | { type: 'end'; sample: number; lastSpeech: number }
  /** a pause inside speech: `sample` is the end the utterance gets if this pause becomes its end */
  | { type: 'pause'; sample: number; lastSpeech: number }
  | { type: 'resume' };

export class SpeechStateMachine {
  readonly options: SpeechStateOptions;
  private readonly minSpeechFrames: number;
  private readonly minSilenceFrames: number;
  private readonly longEndFrames: number;
  private readonly minPauseFrames: number;
  private readonly longUtteranceFrames: number;
  private readonly onsetGapFrames: number;
  private readonly preRoll: number;
  private readonly postRoll: number;

  private frame = 0; // index of the next frame to arrive
  private speaking = false;
  private onsetFrame = -1; // candidate onset while not yet confirmed
  private voicedFrames = 0;
  private lastVoicedFrame = -1;
  private silenceStartFrame = -1; // first silent frame of the current pause while speaking
  private pauseReported = false;
  private speechStartFrame = 0; // where the current utterance began (for the long-utterance rule)
  private previousEndSample = 0;

  constructor(options: Partial<SpeechStateOptions> = {}) {
    this.options = resolveSpeechStateOptions(options);
    const msToFrames = (ms: number) => Math.ceil((ms * this.options.sampleRate) / 1000 / this.options.frameSize);
    this.minSpeechFrames = Math.max(1, msToFrames(this.options.minSpeechMs));
    this.minSilenceFrames = Math.max(1, msToFrames(this.options.minSilenceMs));
    this.minPauseFrames = Math.max(1, msToFrames(this.options.minPauseMs));
    this.longEndFrames = Math.max(this.minPauseFrames, Math.ceil(this.minSilenceFrames / 2));
    this.longUtteranceFrames = this.options.longUtteranceMs > 0 ? msToFrames(this.options.longUtteranceMs) : Infinity;
    this.onsetGapFrames = msToFrames(ONSET_GAP_MS);
    this.preRoll = Math.round((this.options.preRollMs * this.options.sampleRate) / 1000);
    this.postRoll = Math.round((this.options.postRollMs * this.options.sampleRate) / 1000);
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** inside speech and silent now: the sample where that silence began (else null) */
  get silenceSince(): number | null {
    return this.speaking && this.silenceStartFrame >= 0 ? this.silenceStartFrame * this.options.frameSize : null;
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
        this.pauseReported = false;
        const start = Math.max(this.previousEndSample, this.onsetFrame * frameSize - this.preRoll, 0);
        this.speechStartFrame = Math.floor(start / frameSize);
        this.onsetFrame = -1;
        return { type: 'start', sample: start };
      }
      return null;
    }
    if (probability >= threshold) {
      this.silenceStartFrame = -1;
      if (this.pauseReported) {
        this.pauseReported = false;
        return { type: 'resume' };
      }
      return null;
    }
    if (probability < negThreshold && this.silenceStartFrame < 0) this.silenceStartFrame = i;
    if (this.silenceStartFrame < 0) return null;
    const silent = i + 1 - this.silenceStartFrame;
    const lastSpeech = this.silenceStartFrame * frameSize;
    const end = Math.min(lastSpeech + this.postRoll, this.position);
    const long = this.silenceStartFrame - this.speechStartFrame >= this.longUtteranceFrames;
    if (silent >= (long ? this.longEndFrames : this.minSilenceFrames)) {
      this.endSpeech(end);
      return { type: 'end', sample: end, lastSpeech };
    }
    if (!this.pauseReported && silent >= this.minPauseFrames) {
      this.pauseReported = true;
      return { type: 'pause', sample: end, lastSpeech };
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
    this.speechStartFrame = Math.floor(sample / this.options.frameSize);
  }

  reset(): void {
    this.frame = 0;
    this.speaking = false;
    this.onsetFrame = -1;
    this.voicedFrames = 0;
    this.lastVoicedFrame = -1;
    this.silenceStartFrame = -1;
    this.pauseReported = false;
    this.previousEndSample = 0;
  }

  private endSpeech(sample: number): void {
    this.speaking = false;
    this.onsetFrame = -1;
    this.voicedFrames = 0;
    this.silenceStartFrame = -1;
    this.pauseReported = false;
    this.previousEndSample = sample;
  }
}
