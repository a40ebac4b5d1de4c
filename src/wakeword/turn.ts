// Turn-taking after a wake word, with the server's own VAD (Silero v5 + the speech state machine of
// src/pipeline/vad), so the client and the server agree on where speech is.
//
//   detection → wake tail  — the end of the wake word itself may still be sounding: skipped (≤ 0.6 s)
//             → waiting    — people pause after a wake word: wait for speech to begin, up to speechTimeout;
//                            none → 'no-speech' (the caller gives up quietly)
//             → speaking   — until the state machine's end of speech (silenceDuration of silence) or
//                            maxDuration of speech → 'silence' | 'max'
// Everything is counted in samples, so a file processed at full speed behaves like the microphone.
import { SPEECH_STATE_DEFAULTS, SpeechStateMachine } from '../pipeline/vad/speech-state.js';
import type { VadDetector } from '../pipeline/vad/types.js';
import { SAMPLE_RATE } from './features.js';

export interface TurnOptions {
  /** seconds to wait for speech after the wake word before giving up */
  speechTimeout: number;
  /** seconds of silence that end the speech */
  silenceDuration: number;
  /** seconds of speech at most */
  maxDuration: number;
}

export type TurnState = 'waiting' | 'speaking' | 'silence' | 'max' | 'no-speech';

/** the wake word's own tail is never longer than this after the detection fires */
const WAKE_TAIL_SAMPLES = Math.round(0.6 * SAMPLE_RATE);

export class TurnEndpointer {
  private machine!: SpeechStateMachine;
  private pending = new Float32Array(0);
  private phase: 'tail' | 'waiting' | 'speaking' = 'tail';
  private samples = 0;
  private speechStartSample = 0;

  constructor(
    private readonly detector: VadDetector,
    private readonly options: TurnOptions,
  ) {
    this.start();
  }

  /** A new turn begins (right after a detection). */
  start(): void {
    this.detector.reset();
    this.machine = new SpeechStateMachine({
      ...SPEECH_STATE_DEFAULTS,
      sampleRate: this.detector.sampleRate,
      frameSize: this.detector.frameSize,
      minSilenceMs: this.options.silenceDuration * 1000,
      minPauseMs: this.options.silenceDuration * 1000,
      longUtteranceMs: 0,
    });
    this.pending = new Float32Array(0);
    this.phase = 'tail';
    this.samples = 0;
    this.speechStartSample = 0;
  }

  /** Feeds the next chunk (16 kHz int16) and says where the turn stands. */
  async push(chunk: Int16Array): Promise<TurnState> {
    const joined = new Float32Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    for (let i = 0; i < chunk.length; i++) joined[this.pending.length + i] = chunk[i]! / 32768;
    const F = this.detector.frameSize;
    let at = 0;
    for (; at + F <= joined.length; at += F) {
      const probability = await this.detector.process(joined.subarray(at, at + F));
      this.samples += F;
      if (this.phase === 'tail') {
        if (probability >= this.machine.options.negThreshold && this.samples < WAKE_TAIL_SAMPLES) continue;
        this.phase = 'waiting';
      }
      const event = this.machine.update(probability);
      if (this.phase === 'waiting') {
        if (event?.type === 'start') {
          this.phase = 'speaking';
          this.speechStartSample = this.samples;
        } else if (this.samples >= this.options.speechTimeout * SAMPLE_RATE && !this.machine.inSpeech) {
          return 'no-speech';
        }
      } else if (event?.type === 'end') {
        return 'silence';
      } else if (this.samples - this.speechStartSample >= this.options.maxDuration * SAMPLE_RATE) {
        return 'max';
      }
    }
    this.pending = joined.slice(at);
    return this.phase === 'speaking' ? 'speaking' : 'waiting';
  }
}
