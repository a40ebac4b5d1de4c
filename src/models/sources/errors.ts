// Errors a model pull can end with. Each has a stable `code` (for APIs and logs) and a distinct
// process `exitCode` (for the CLI and scripts), so callers can tell "typo in the name" from
// "no token" from "disk full" without parsing messages.

export type ModelErrorCode =
  | 'bad_source'
  | 'unknown_model'
  | 'not_found'
  | 'unauthorized'
  | 'checksum_mismatch'
  | 'disk_full'
  | 'corrupt_archive'
  | 'unsafe_archive'
  | 'archive_too_large'
  | 'unsupported_format'
  | 'network'
  | 'exists'
  | 'not_installed'
  | 'import_failed'
  | 'forbidden_source'
  | 'aborted';

export const MODEL_ERROR_EXIT_CODES: Record<ModelErrorCode, number> = {
  bad_source: 10,
  unknown_model: 11,
  not_found: 12,
  unauthorized: 13,
  checksum_mismatch: 14,
  disk_full: 15,
  corrupt_archive: 16,
  unsafe_archive: 17,
  archive_too_large: 18,
  unsupported_format: 19,
  network: 20,
  exists: 21,
  not_installed: 22,
  import_failed: 23,
  forbidden_source: 24,
  aborted: 130,
};

export class ModelSourceError extends Error {
  readonly exitCode: number;

  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelSourceError';
    this.exitCode = MODEL_ERROR_EXIT_CODES[code];
  }
}

/** Maps filesystem failures that mean "out of space" to the disk_full error; passes others through. */
export function mapFsError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    return new ModelSourceError(
      'disk_full',
      `no space left on device while writing ${what}; free some space (or point EARSHOT_HOME elsewhere) and retry: the download resumes`,
      { cause: err },
    );
  }
  return err;
}

export function abortError(signal?: AbortSignal): ModelSourceError {
  const reason = signal?.reason;
  return new ModelSourceError('aborted', `pull aborted${reason instanceof Error ? `: ${reason.message}` : ''}`);
}
