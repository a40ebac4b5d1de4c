// Length-prefixed JSON frames spoken with the native worker (see native/worker.cpp).

// The framing itself is shared with the Node onnxruntime workers (CTC): see ../pool/frames.ts.
export { encodeFrame, FrameDecoder, type Frame } from '../pool/frames.js';

/** What the worker sends back for one segment (times in centiseconds). */
export interface RawSegment {
  t0: number;
  t1: number;
  text: string;
  tokens: number[];
  avg_logprob: number;
  no_speech_prob: number;
  temperature: number;
  seek: number;
  words?: { word: string; t0: number; t1: number; dtw?: number; p: number }[];
}

export interface RawResult {
  language: string;
  language_probs: Record<string, number> | null;
  segments: RawSegment[];
  /** the encoder window the text came from, in seconds (30 = full; less with audio_ctx_s) */
  window_s?: number;
  processing_time: number;
}

export interface WorkerInfo {
  whisper_version: string;
  model_type: string;
  multilingual: boolean;
  n_vocab: number;
  n_audio_layer: number;
  n_text_layer: number;
  n_mels: number;
  ftype: number;
  gpu: boolean;
  flash_attn: boolean;
  dtw: boolean;
  threads: number;
  parallel: number;
  system_info: string;
}
