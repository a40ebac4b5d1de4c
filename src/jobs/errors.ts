// How a failed run is recorded: Earshot's errors (audio, engine, model source, fetch) carry a stable
// `code`; anything else is an internal error whose message is still kept for the client.
import type { JobError } from './types.js';

export function jobError(err: unknown): JobError {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && /^[a-z][a-z0-9_]*$/.test(e.code) ? e.code : 'internal_error';
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  return { code, message: message.slice(0, 2000) };
}

export function isAbort(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return e?.name === 'AbortError' || e?.code === 'aborted' || e?.code === 'ABORT_ERR';
}

/** An error with a stable code for the job record (fetching a source, the audio store). */
export class JobSourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JobSourceError';
  }
}
