// The one contract every transcription engine (whisper.cpp, CTC/onnxruntime) implements.
// Interfaces (REST, OpenAI, WebSocket, CLI) and the pipeline only ever see these types.

import type { EngineKind } from '../models/manifest.js';

export type { EngineKind } from '../models/manifest.js';

export type Task = 'transcribe' | 'translate';

export interface Word {
  word: string;
  /** seconds from the start of the audio passed in */
  start: number;
  end: number;
  probability: number;
}

export interface Segment {
  id: number;
  /** offset of the 30 s window this segment was decoded in, in mel frames (OpenAI semantics: centiseconds) */
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  /** mean token log-probability; unset when the engine has none (Moonshine, CTC) */
  avgLogprob?: number;
  compressionRatio: number;
  /** probability the window holds no speech; unset when the engine has none */
  noSpeechProb?: number;
  words?: Word[];
}

export interface Transcript {
  text: string;
  /** ISO 639-1 code actually used (detected or requested) */
  language: string;
  /** detected-language probabilities, top entries only, when detection ran */
  languageProbs?: Record<string, number>;
  /** audio duration in seconds */
  duration: number;
  segments: Segment[];
  task: Task;
  model: string;
  engine: EngineKind;
  /** seconds spent inside the engine */
  processingTime: number;
  /** Whisper engines: the encoder window the text came from, in seconds (30 = full; see audioContextSeconds) */
  windowSeconds?: number;
}

export interface TranscribeOptions {
  /** ISO 639-1; undefined or 'auto' = detect */
  language?: string;
  task?: Task;
  /** 1 = greedy */
  beamSize?: number;
  bestOf?: number;
  temperature?: number;
  /** temperature fallback step; 0 disables fallback */
  temperatureIncrement?: number;
  initialPrompt?: string;
  wordTimestamps?: boolean;
  /** do not condition on previous windows' text (streaming re-decodes want this) */
  noContext?: boolean;
  /** force one segment (streaming partials) */
  singleSegment?: boolean;
  /**
   * decode without timestamp tokens (faster-whisper's without_timestamps): one segment spanning the
   * audio. For short VAD-cut utterances this avoids Whisper's habit of "starting" at a later
   * timestamp and skipping the first words.
   */
  withoutTimestamps?: boolean;
  /**
   * A shorter encoder window for a clip under 30 s, in seconds: the engine encodes the audio plus 1 s,
   * at least this much, instead of padding to 30 s (whisper.cpp's audio_ctx). The encoder's cost
   * follows the window, but Whisper was trained on full windows: text gets a little worse, and a
   * decode that loops is done again on the full window. Engines without a fixed window ignore it.
   */
  audioContextSeconds?: number;
  /**
   * Decode only these stretches of the audio (seconds, each at most 30 s), independently and batched
   * where the engine can; times stay on the audio's timeline. Only engines whose info.windows is true.
   */
  windows?: Array<{ start: number; end: number }>;
  /** finals jump the queue ahead of partials */
  priority?: 'high' | 'normal' | 'low';
  signal?: AbortSignal;
  onSegment?: (segment: Segment) => void;
  onProgress?: (percent: number) => void;
}

export interface EngineInfo {
  /** model id in the store */
  modelId: string;
  kind: EngineKind;
  device: 'cpu' | 'cuda';
  /** languages the model can transcribe; '*' = any Whisper language */
  languages: string[] | '*';
  multilingual: boolean;
  canTranslate: boolean;
  wordTimestamps: boolean;
  /** decodes TranscribeOptions.windows (batched on CTranslate2) */
  windows?: boolean;
  /** a true streaming model: openStream() works (online sherpa-onnx kinds) */
  streaming?: boolean;
  detail: Record<string, unknown>;
}

export interface EngineStats {
  workers: number;
  busy: number;
  queued: number;
  restarts: number;
  completed: number;
  failed: number;
}

export interface Engine {
  readonly info: EngineInfo;
  /** resolves once the model is loaded and warm */
  ready(): Promise<void>;
  transcribe(audio: Float32Array, options?: TranscribeOptions): Promise<Transcript>;
  stats(): EngineStats;
  /**
   * Engines running a true streaming model (online sherpa-onnx kinds) open a stream per live client:
   * audio in as it arrives, hypotheses and endpoints out, no re-decoding. Usable when info.streaming.
   */
  openStream?(): Promise<StreamingRecognizer>;
  /** rejects queued work, waits for running work up to the grace period, then kills */
  close(graceMs?: number): Promise<void>;
}

/** What a streaming recognizer reports after each piece of audio. */
export interface StreamingUpdate {
  /** text of the utterance in progress, or of the one that just ended when `endpoint` */
  text: string;
  /** the recognizer detected the end of an utterance; the next update starts a new one */
  endpoint: boolean;
  /** seconds of audio the stream has accepted so far */
  audioSeconds: number;
}

/** A true streaming session (online sherpa models): one per live client. */
export interface StreamingRecognizer {
  /** feeds 16 kHz mono samples; answers the updates they produced (the last one is the current partial) */
  accept(samples: Float32Array): Promise<StreamingUpdate[]>;
  /** ends the input and answers the final update(s) */
  finish(): Promise<StreamingUpdate[]>;
  close(): void;
}

/** Errors an engine raises carry a code the interfaces map to HTTP status / WS error codes. */
export type EngineErrorCode =
  | 'aborted'
  | 'worker_crashed'
  | 'worker_timeout'
  | 'model_load_failed'
  | 'bad_audio'
  | 'unsupported'
  | 'overloaded'
  | 'closed'
  | 'internal';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Engines take 16 kHz mono; the constant lives with the audio code that produces it. */
export { SAMPLE_RATE } from '../audio/pcm.js';
