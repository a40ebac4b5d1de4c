// What happens after the wake word: keep a little audio from before it, record until the speaker stops
// (a run of quiet chunks) or the time limit, as seed 000's client did with int16 RMS against a fixed threshold.
import { SAMPLE_RATE } from './features.js';
import { concatInt16 } from '../audio/pcm.js';

export interface RecorderOptions {
  /** Seconds of quiet that end the recording (seed 000: 1.5). */
  silenceDuration: number;
  /** int16 RMS below which a chunk counts as quiet (seed 000: 500). */
  silenceThreshold: number;
  /** Hard limit on the recording after the wake word, in seconds (seed 000: 10). */
  maxDuration: number;
  /** Seconds of audio before the detection to include, so a fast talker's first syllable is not cut (0.5). */
  preRoll: number;
}

export type RecordingState = 'recording' | 'silence' | 'max';

export function rms(chunk: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < chunk.length; i++) sum += chunk[i] * chunk[i];
  return chunk.length ? Math.sqrt(sum / chunk.length) : 0;
}

export class UtteranceRecorder {
  private history: Int16Array[] = [];
  private historySamples = 0;
  private parts: Int16Array[] = [];
  private recordedSamples = 0;
  private quietSamples = 0;

  constructor(private readonly options: RecorderOptions) {}

  /** While listening: remember recent audio for the pre-roll. */
  remember(chunk: Int16Array): void {
    this.history.push(chunk);
    this.historySamples += chunk.length;
    const keep = Math.round(this.options.preRoll * SAMPLE_RATE);
    while (this.history.length > 1 && this.historySamples - this.history[0].length >= keep) {
      this.historySamples -= this.history.shift()!.length;
    }
  }

  /** Starts a recording seeded with the pre-roll (trimmed to exactly preRoll seconds). */
  start(): void {
    const keep = Math.round(this.options.preRoll * SAMPLE_RATE);
    const joined = concatInt16(this.history);
    this.parts = keep > 0 ? [joined.subarray(Math.max(0, joined.length - keep))] : [];
    this.history = [];
    this.historySamples = 0;
    this.recordedSamples = 0;
    this.quietSamples = 0;
  }

  /** Adds a chunk and says whether to keep going. */
  push(chunk: Int16Array): RecordingState {
    this.parts.push(chunk);
    this.recordedSamples += chunk.length;
    this.quietSamples = rms(chunk) < this.options.silenceThreshold ? this.quietSamples + chunk.length : 0;
    if (this.quietSamples >= this.options.silenceDuration * SAMPLE_RATE) return 'silence';
    if (this.recordedSamples >= this.options.maxDuration * SAMPLE_RATE) return 'max';
    return 'recording';
  }

  /** Seconds recorded since the detection (pre-roll not counted). */
  get recordedSeconds(): number {
    return this.recordedSamples / SAMPLE_RATE;
  }

  /** The utterance: pre-roll plus everything recorded. */
  take(): Int16Array {
    const audio = concatInt16(this.parts);
    this.parts = [];
    return audio;
  }
}
