// One error type for every interface; each route family renders it in its own shape.
import { AudioError } from '../audio/decode.js';
import { EngineError } from '../engines/types.js';
import { HistoryUnavailableError } from '../history/types.js';
import { ModelSourceError, type ModelErrorCode } from '../models/sources/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const AUDIO_STATUS: Record<AudioError['code'], number> = {
  empty_audio: 400,
  undecodable_audio: 400,
  unsupported_media: 415,
  audio_too_large: 413,
  audio_too_long: 413,
  decoder_unavailable: 500,
};

const ENGINE_STATUS: Record<EngineError['code'], number> = {
  aborted: 499,
  worker_crashed: 503,
  worker_timeout: 503,
  model_load_failed: 503,
  bad_audio: 400,
  unsupported: 422,
  overloaded: 503,
  closed: 503,
  internal: 500,
};

/**
 * A model that could not be had. The client's fault (a bad or unknown source) is a 4xx; the
 * server's (no token for a gated repo, network, disk, a broken download) is a 503 with the reason.
 */
const MODEL_SOURCE_STATUS: Record<ModelErrorCode, number> = {
  bad_source: 400,
  unknown_model: 404,
  not_found: 404,
  not_installed: 404,
  exists: 409,
  archive_too_large: 413,
  unsupported_format: 422,
  corrupt_archive: 422,
  unsafe_archive: 422,
  import_failed: 422,
  aborted: 499,
  forbidden_source: 403,
  unauthorized: 503,
  checksum_mismatch: 503,
  disk_full: 503,
  network: 503,
};

/** Maps anything thrown while serving a request to a status + stable code + client-fit message. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof AudioError) return new ApiError(AUDIO_STATUS[err.code], err.code, err.message, 'file');
  if (err instanceof EngineError) return new ApiError(ENGINE_STATUS[err.code], err.code, err.message);
  if (err instanceof ModelSourceError) return new ApiError(MODEL_SOURCE_STATUS[err.code], err.code, err.message, 'model');
  if (err instanceof HistoryUnavailableError) return new ApiError(503, err.code, err.message);
  const e = err as { code?: string; statusCode?: number; message?: string };
  // @fastify/multipart's and fastify's own errors
  if (e?.code === 'FST_REQ_FILE_TOO_LARGE' || e?.code === 'FST_PARTS_LIMIT' || e?.code === 'FST_FILES_LIMIT' || e?.code === 'FST_FIELDS_LIMIT') {
    return new ApiError(413, 'request_too_large', e.message ?? 'request too large');
  }
  if (e?.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApiError(415, 'unsupported_media', 'send multipart/form-data with the audio file, or the audio itself with an audio/* content type');
  }
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e?.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e?.code === 'FST_ERR_CTP_EMPTY_TYPE') {
    return new ApiError(400, 'bad_request', e.message ?? 'bad request');
  }
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(413, 'request_too_large', 'request body too large');
  // busboy's own parse errors carry no code: a malformed multipart body is the client's mistake
  if (typeof e?.statusCode !== 'number' && /multipart|part header|boundary/i.test(e?.message ?? '')) {
    return new ApiError(400, 'bad_multipart', `malformed multipart/form-data body: ${e.message}`);
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, e.code?.toLowerCase() ?? 'bad_request', e.message ?? 'bad request');
  }
  return new ApiError(500, 'internal_error', 'internal server error');
}
