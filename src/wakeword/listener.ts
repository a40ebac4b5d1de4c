// The always-on loop: wake word → record → hand off → cool down → listen again, all in stream time so a file
// processed at full speed behaves exactly like the same audio from a microphone.
import { CHUNK_SAMPLES, SAMPLE_RATE } from './features.js';
import type { WakewordDetector } from './detector.js';
import { UtteranceRecorder, type RecorderOptions } from './utterance-recorder.js';
import type { TurnEndpointer } from './turn.js';

export interface ListenerOptions extends RecorderOptions {
  /** Score at or above which a wake word counts as detected (seed 000: 0.5). */
  threshold: number;
  /** Seconds after a recording during which no wake word is accepted (seed 000: 3). */
  cooldown: number;
}

export interface Detection {
  wakeword: string;
  score: number;
  /** Seconds into the stream at the end of the chunk that fired. */
  streamTime: number;
  /** Wall-clock time the detection was made. */
  at: Date;
}

export type ListenEvent =
  | { type: 'detection'; detection: Detection }
  | {
      type: 'utterance';
      detection: Detection;
      audio: Int16Array;
      /** Seconds recorded after the detection (the pre-roll not counted). */
      recordingSeconds: number;
      endedBy: 'silence' | 'max' | 'end-of-input';
    }
  /** nobody spoke after the wake word within the speech timeout: nothing is sent */
  | { type: 'no-speech'; detection: Detection; streamTime: number }
  | { type: 'listening'; streamTime: number };

type State = { mode: 'listening' } | { mode: 'recording'; detection: Detection } | { mode: 'cooldown'; remaining: number };

export class WakewordListener {
  private samples = 0;
  private state: State = { mode: 'listening' };
  private readonly recorder: UtteranceRecorder;

  constructor(
    private readonly detector: WakewordDetector,
    private readonly options: ListenerOptions,
    /** Sees every scored frame (stream time at the chunk's end); for measuring and debugging. */
    private readonly onScores?: (scores: Map<string, number>, streamTime: number) => void,
    /** Ends the turn with the server's VAD (waits for speech to begin first); without it, RMS against silenceThreshold. */
    private readonly endpointer?: TurnEndpointer,
  ) {
    this.recorder = new UtteranceRecorder(options);
  }

  /** Consumes 80 ms chunks and yields what happened; the caller decides what to do with utterances. */
  async *run(chunks: AsyncIterable<Int16Array>): AsyncGenerator<ListenEvent> {
    for await (const chunk of chunks) {
      if (chunk.length !== CHUNK_SAMPLES) throw new Error(`listener expects ${CHUNK_SAMPLES}-sample chunks`);
      this.samples += chunk.length;
      yield* this.step(chunk);
    }
    if (this.state.mode === 'recording') {
      yield this.finish(this.state.detection, 'end-of-input');
    }
  }

  private async *step(chunk: Int16Array): AsyncGenerator<ListenEvent> {
    const state = this.state;
    if (state.mode === 'listening') {
      this.recorder.remember(chunk);
      const { scores } = await this.detector.process(chunk);
      this.onScores?.(scores, this.samples / SAMPLE_RATE);
      const best = strongest(scores);
      if (best && best.score >= this.options.threshold) {
        const detection: Detection = { ...best, streamTime: this.samples / SAMPLE_RATE, at: new Date() };
        this.recorder.start();
        this.endpointer?.start();
        this.state = { mode: 'recording', detection };
        yield { type: 'detection', detection };
      }
    } else if (state.mode === 'recording') {
      const byLevel = this.recorder.push(chunk);
      if (this.endpointer) {
        const turn = await this.endpointer.push(chunk);
        if (turn === 'no-speech') {
          // nothing was said, so nothing will be answered: listen again at once (no cool-down)
          this.recorder.take();
          this.detector.resetAll();
          this.state = { mode: 'listening' };
          yield { type: 'no-speech', detection: state.detection, streamTime: this.samples / SAMPLE_RATE };
          yield { type: 'listening', streamTime: this.samples / SAMPLE_RATE };
        } else if (turn === 'silence' || turn === 'max') {
          yield this.finish(state.detection, turn);
        }
      } else if (byLevel !== 'recording') {
        yield this.finish(state.detection, byLevel);
      }
    } else {
      state.remaining -= chunk.length;
      if (state.remaining <= 0) {
        // The detector did not hear the recording or the cool-down; start it afresh so stale audio cannot fire.
        this.detector.resetAll();
        this.state = { mode: 'listening' };
        yield { type: 'listening', streamTime: this.samples / SAMPLE_RATE };
      }
    }
  }

  private finish(detection: Detection, endedBy: 'silence' | 'max' | 'end-of-input'): ListenEvent {
    const recordingSeconds = this.recorder.recordedSeconds;
    const audio = this.recorder.take();
    this.enterCooldown();
    return { type: 'utterance', detection, audio, recordingSeconds, endedBy };
  }

  private enterCooldown(): void {
    this.state = { mode: 'cooldown', remaining: Math.round(this.options.cooldown * SAMPLE_RATE) };
    if (this.state.remaining <= 0) {
      this.detector.resetAll();
      this.state = { mode: 'listening' };
    }
  }
}

function strongest(scores: Map<string, number>): { wakeword: string; score: number } | null {
  let best: { wakeword: string; score: number } | null = null;
  for (const [wakeword, score] of scores) if (!best || score > best.score) best = { wakeword, score };
  return best;
}
