// Reads a transcription upload: multipart (file + fields, streamed into the decoder) or a raw audio body.
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { decodeAudio, type DecodedAudio, type DecodeLimits } from '../audio/decode.js';
import { formatBytes } from '../util/bytes.js';
import { ApiError } from './errors.js';

export type Fields = Record<string, string | string[]>;

export interface Upload {
  audio: DecodedAudio;
  fields: Fields;
  filename?: string;
}

function addField(fields: Fields, name: string, value: string): void {
  const key = name.endsWith('[]') ? name.slice(0, -2) : name;
  const prev = fields[key];
  if (prev === undefined) fields[key] = name.endsWith('[]') ? [value] : value;
  else fields[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
}

export interface UploadOptions {
  fileFields: string[];
  limits: DecodeLimits;
  /** milliseconds without a byte read from an incomplete body before the upload is answered 408 */
  idleMs: number;
}

export async function readUpload(request: FastifyRequest, opts: UploadOptions): Promise<Upload> {
  // Refuse an oversized upload from its declared length before reading a byte of it.
  const declared = Number(request.headers['content-length'] ?? NaN);
  const multipartOverhead = 64 * 1024;
  if (Number.isFinite(declared) && declared > opts.limits.maxBytes + multipartOverhead) {
    throw new ApiError(413, 'audio_too_large', `request of ${formatBytes(declared)} exceeds the ${formatBytes(opts.limits.maxBytes)} upload limit`, 'file');
  }
  const fields: Fields = {};
  for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') addField(fields, k, v);
  }
  if (!request.isMultipart()) {
    // A bare body: curl --data-binary @clip.wav -H 'Content-Type: audio/wav'
    const body = request.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new ApiError(
        415,
        'unsupported_media',
        'send multipart/form-data with the audio in field "file" or "audio", or the audio itself with an audio/* content type',
      );
    }
    const audio = await decodeAudio({ stream: body, mimetype: request.headers['content-type'], raw: rawFrom(fields) }, opts.limits);
    return { audio, fields };
  }
  const stall = watchStall(request, opts.idleMs);
  const reading = readParts(request, opts, fields);
  reading.catch(() => undefined); // when the stall wins, the parser's own end is of no interest
  try {
    return await Promise.race([reading, stall.stalled]);
  } finally {
    stall.stop();
  }
}

/**
 * Rejects with 408 when reading the body makes no progress for idleMs before its end: nothing new
 * from the client and nothing taken by the parser. Written here because the multipart parser (@fastify/busboy 3.2.6) can
 * stall for good on some malformed parts (a skipped part larger than its buffer arriving in one
 * chunk): it stops reading, so neither the parser nor the request ever ends. Progress is polled (the
 * connection's byte count, the request's buffered length) rather than listening for 'data', which
 * would take the stream out of the parser's flow control.
 */
function watchStall(request: FastifyRequest, idleMs: number): { stalled: Promise<never>; stop(): void } {
  const raw = request.raw;
  // progress: bytes arriving from the client, or the parser taking bytes out of the request's buffer
  const progress = () => `${raw.socket?.bytesRead ?? 0}/${raw.readableLength}`;
  let last = progress();
  let since = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(
      () => {
        const now = progress();
        // a body read to its end is no longer the upload's business (decoding may take its time)
        if (now !== last || raw.readableEnded) {
          last = now;
          since = Date.now();
          return;
        }
        if (Date.now() - since >= idleMs) {
          clearInterval(timer);
          reject(
            new ApiError(
              408,
              'upload_stalled',
              `the upload stopped: no progress reading it for ${Math.round(idleMs / 1000)} s (the client stopped sending, or the multipart body is malformed)`,
            ),
          );
        }
      },
      Math.min(1000, Math.max(50, idleMs / 4)),
    );
    timer.unref();
  });
  stalled.catch(() => undefined);
  return { stalled, stop: () => clearInterval(timer) };
}

async function readParts(request: FastifyRequest, opts: UploadOptions, fields: Fields): Promise<Upload> {
  let audio: DecodedAudio | undefined;
  let filename: string | undefined;
  const wrongFields: string[] = [];
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (!opts.fileFields.includes(part.fieldname) || audio) {
        wrongFields.push(part.fieldname);
        part.file.resume(); // drain: the client must get an answer, not a stalled upload
        continue;
      }
      filename = part.filename;
      audio = await decodeAudio({ stream: part.file, filename: part.filename, mimetype: part.mimetype, raw: rawFrom(fields) }, opts.limits);
      if (part.file.truncated) throw new ApiError(413, 'audio_too_large', 'audio exceeds the upload limit', 'file');
    } else {
      // busboy cuts a field at its size limit silently: a cut prompt or option would be used as if whole
      if (part.valueTruncated) {
        throw new ApiError(
          413,
          'field_too_large',
          `form field "${part.fieldname.slice(0, 64)}" exceeds the 64 KiB field size limit`,
          part.fieldname.slice(0, 64),
        );
      }
      addField(fields, part.fieldname, String(part.value));
    }
  }
  if (!audio) {
    const expected = opts.fileFields.map((f) => `"${f}"`).join(' or ');
    if (wrongFields.length > 0) {
      throw new ApiError(400, 'missing_file', `the audio must be sent in field ${expected}, not "${wrongFields[0]}"`, opts.fileFields[0]);
    }
    throw new ApiError(400, 'missing_file', `no audio file: send it as multipart field ${expected}`, opts.fileFields[0]);
  }
  return { audio, fields, filename };
}

/** format=pcm_s16le|pcm_f32le with sample_rate marks a headerless upload. */
function rawFrom(fields: Fields): { sampleRate: number; encoding: 'pcm_s16le' | 'pcm_f32le' } | undefined {
  const format = typeof fields.format === 'string' ? fields.format : undefined;
  if (format !== 'pcm_s16le' && format !== 'pcm_f32le') return undefined;
  const rate = Number(typeof fields.sample_rate === 'string' ? fields.sample_rate : 16000);
  if (!Number.isInteger(rate) || rate < 4000 || rate > 192000)
    throw new ApiError(422, 'invalid_parameter', 'sample_rate must be an integer between 4000 and 192000', 'sample_rate');
  return { sampleRate: rate, encoding: format };
}

export function field(fields: Fields, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = fields[name];
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v[v.length - 1];
  }
  return undefined;
}
