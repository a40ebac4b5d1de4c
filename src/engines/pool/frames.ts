// Length-prefixed JSON frames (u32 LE length, JSON, optional binary payload) spoken with every
// engine worker process: the native whisper.cpp worker and the Node onnxruntime workers alike.

export function encodeFrame(message: Record<string, unknown>, payload?: Uint8Array): Buffer[] {
  const body = Buffer.from(JSON.stringify(payload ? { ...message, bytes: payload.byteLength } : message), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length, 0);
  const parts: Buffer[] = [header, body];
  if (payload) parts.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return parts;
}

/** A decoded frame; `payload` holds the binary part when the frame announced one (`bytes`). */
export type Frame = Record<string, unknown> & { payload?: Buffer };

/**
 * Reassembles frames from arbitrary chunks. With `payloads`, a frame whose JSON carries
 * `bytes: n` is followed by n raw bytes (the parent → worker direction).
 */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly payloads = false) {}

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: Frame[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32LE(0);
      if (this.buffer.length < 4 + length) break;
      const frame = JSON.parse(this.buffer.subarray(4, 4 + length).toString('utf8')) as Frame;
      const extra = this.payloads && typeof frame.bytes === 'number' ? frame.bytes : 0;
      if (this.buffer.length < 4 + length + extra) break;
      if (extra > 0) frame.payload = Buffer.from(this.buffer.subarray(4 + length, 4 + length + extra));
      this.buffer = this.buffer.subarray(4 + length + extra);
      out.push(frame);
    }
    return out;
  }
}
