// Messages between SherpaEngine and its worker process (Node IPC, 'advanced' serialization, so
// audio travels as Float32Array without a JSON detour).
import type { RecognizerSpec } from './kinds.js';

export interface WorkerInit {
  spec: RecognizerSpec;
  threads: number;
  provider: 'cpu' | 'cuda';
}

/** One decoded stretch of audio. Times in seconds from the start of the job's audio. */
export interface RawSherpaSegment {
  start: number;
  end: number;
  text: string;
  /** token strings as the model spells them (sherpa does not hand out ids for every kind) */
  tokens: string[];
  /** language tag when the model reports one (SenseVoice), else '' */
  lang: string;
}

export interface RawSherpaResult {
  segments: RawSherpaSegment[];
}

export interface StreamHypothesis {
  /** text of the utterance in progress (or just ended, when endpoint) */
  text: string;
  tokens: string[];
  /** true when the recognizer detected the end of an utterance; the stream then starts a new one */
  endpoint: boolean;
  /** seconds of audio the stream has accepted in total */
  audioSeconds: number;
}

export type ToWorker =
  | { type: 'transcribe'; id: string; audio: Float32Array; chunks: Array<[number, number]> }
  | { type: 'cancel'; id: string }
  | { type: 'stream_open'; id: string }
  | { type: 'stream_accept'; id: string; call: number; audio: Float32Array }
  | { type: 'stream_finish'; id: string; call: number }
  | { type: 'stream_close'; id: string };

export interface SherpaWorkerInfo {
  kind: string;
  mode: 'offline' | 'online';
  sherpaVersion: string;
  loadSeconds: number;
  provider: string;
}

export type FromWorker =
  | { type: 'ready'; info: SherpaWorkerInfo }
  | { type: 'result'; id: string; result: RawSherpaResult }
  | { type: 'error'; id: string; code: 'aborted' | 'bad_audio' | 'internal'; message: string }
  | { type: 'stream_result'; id: string; call: number; hypotheses: StreamHypothesis[] }
  | { type: 'stream_error'; id: string; call: number; message: string }
  | { type: 'fatal'; message: string };
