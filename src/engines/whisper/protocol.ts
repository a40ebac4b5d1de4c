// Length-prefixed JSON frames spoken with the native worker (see native/worker.cpp).

export function encodeFrame(message: Record<string, unknown>, payload?: Uint8Array): Buffer[] {
  const body = Buffer.from(JSON.stringify(payload ? { ...message, bytes: payload.byteLength } : message), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length, 0);
  const parts: Buffer[] = [header, body];
  if (payload) parts.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return parts;
}

/** Reassembles frames from arbitrary stdout chunks. */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Record<string, unknown>[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: Record<string, unknown>[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32LE(0);
      if (this.buffer.length < 4 + length) break;
      const body = this.buffer.subarray(4, 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(4 + length);
      out.push(JSON.parse(body) as Record<string, unknown>);
    }
    return out;
  }
}

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
