// Wyoming framing: one JSON header line, then `data_length` bytes of JSON data, then `payload_length`
// bytes of payload. The header may also carry `data` inline; bytes after it are merged over it (as the
// reference `wyoming` package does). Hand-written because it is small and must enforce limits that a
// hostile peer cannot push past: a header line cap, a data cap and a payload cap.
import { VERSION as WYOMING_VERSION } from './version.js';

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

export interface FrameLimits {
  /** longest header line (bytes, newline excluded) */
  maxHeaderBytes: number;
  /** largest `data_length` */
  maxDataBytes: number;
  /** largest `payload_length` */
  maxPayloadBytes: number;
}

export const DEFAULT_LIMITS: FrameLimits = {
  maxHeaderBytes: 64 * 1024,
  maxDataBytes: 1024 * 1024,
  // one audio chunk; clients send ~1024-sample chunks, 4 MiB is seconds of 48 kHz stereo 32-bit audio
  maxPayloadBytes: 4 * 1024 * 1024,
};

/** A frame the peer sent cannot be read; the connection cannot be resynchronised and must close. */
export class WyomingFrameError extends Error {
  constructor(
    readonly code: 'bad-header' | 'bad-data' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'WyomingFrameError';
  }
}

/** Serialises one event the way the reference writer does: data as separate bytes, lengths in the header. */
export function encodeEvent(type: string, data?: Record<string, unknown>, payload?: Buffer): Buffer {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  const dataBytes = data && Object.keys(data).length > 0 ? Buffer.from(JSON.stringify(data), 'utf8') : undefined;
  if (dataBytes) header.data_length = dataBytes.length;
  if (payload && payload.length > 0) header.payload_length = payload.length;
  const parts: Buffer[] = [Buffer.from(JSON.stringify(header) + '\n', 'utf8')];
  if (dataBytes) parts.push(dataBytes);
  if (payload && payload.length > 0) parts.push(payload);
  return Buffer.concat(parts);
}

type Pending = { header: Record<string, unknown>; type: string; dataLength: number; payloadLength: number; data?: Record<string, unknown> };

/**
 * Incremental reader: feed it socket bytes, get whole events. Throws WyomingFrameError on anything it
 * cannot read; after that it must not be fed again.
 */
export class WyomingDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  /** whole events read so far */
  completed = 0;

  constructor(private readonly limits: FrameLimits = DEFAULT_LIMITS) {}

  /** true while a frame has started but not all of its bytes have arrived */
  get midFrame(): boolean {
    return this.pending !== null || this.buffer.length > 0;
  }

  push(chunk: Buffer): WyomingEvent[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const events: WyomingEvent[] = [];
    for (;;) {
      if (!this.pending) {
        const newline = this.buffer.indexOf(0x0a);
        if (newline < 0) {
          if (this.buffer.length > this.limits.maxHeaderBytes) {
            throw new WyomingFrameError('too-large', `header line longer than ${this.limits.maxHeaderBytes} bytes`);
          }
          break;
        }
        if (newline > this.limits.maxHeaderBytes) throw new WyomingFrameError('too-large', `header line longer than ${this.limits.maxHeaderBytes} bytes`);
        const line = this.buffer.subarray(0, newline).toString('utf8').trim();
        this.buffer = this.buffer.subarray(newline + 1);
        if (line === '') continue; // blank lines between events carry nothing
        this.pending = this.parseHeader(line);
      }
      const p = this.pending;
      if (p.data === undefined && p.dataLength > 0) {
        if (this.buffer.length < p.dataLength) break;
        const raw = this.buffer.subarray(0, p.dataLength);
        this.buffer = this.buffer.subarray(p.dataLength);
        p.data = { ...inlineData(p.header), ...parseObject(raw.toString('utf8'), 'bad-data', 'event data') };
      }
      if (this.buffer.length < p.payloadLength) break;
      const payload = p.payloadLength > 0 ? Buffer.from(this.buffer.subarray(0, p.payloadLength)) : undefined;
      this.buffer = this.buffer.subarray(p.payloadLength);
      events.push({ type: p.type, data: p.data ?? inlineData(p.header), payload });
      this.pending = null;
      this.completed++;
    }
    if (this.buffer.length === 0) this.buffer = Buffer.alloc(0);
    return events;
  }

  private parseHeader(line: string): Pending {
    const header = parseObject(line, 'bad-header', 'header');
    const type = header.type;
    if (typeof type !== 'string' || type === '') throw new WyomingFrameError('bad-header', 'header has no "type"');
    const dataLength = length(header.data_length, 'data_length', this.limits.maxDataBytes);
    const payloadLength = length(header.payload_length, 'payload_length', this.limits.maxPayloadBytes);
    if (header.data !== undefined && header.data !== null && (typeof header.data !== 'object' || Array.isArray(header.data))) {
      throw new WyomingFrameError('bad-header', '"data" must be an object');
    }
    return { header, type, dataLength, payloadLength };
  }
}

function inlineData(header: Record<string, unknown>): Record<string, unknown> {
  return (header.data as Record<string, unknown> | null | undefined) ?? {};
}

function parseObject(text: string, code: 'bad-header' | 'bad-data', what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WyomingFrameError(code, `${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WyomingFrameError(code, `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function length(value: unknown, name: string, max: number): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new WyomingFrameError('bad-header', `"${name}" must be a non-negative integer`);
  if (value > max) throw new WyomingFrameError('too-large', `"${name}" ${value} exceeds the limit of ${max} bytes`);
  return value;
}
