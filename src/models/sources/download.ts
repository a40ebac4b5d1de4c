// Resumable, verified downloads. Bytes go to a `.partial` file next to a small JSON sidecar that
// records which version of the remote file they belong to (ETag, size, published digest). A rerun
// asks for the rest with a Range request; if the server says the file changed, it starts over.
// Only a complete file whose size and digests match is renamed to its destination.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ModelSourceError, abortError, mapFsError } from './errors.js';
import { policyFetch, type SourcePolicy } from './policy.js';

export interface ExpectedDigests {
  size?: number;
  sha256?: string;
  sha1?: string;
  /** git blob id (sha1 of "blob <size>\0" + content), what the Hub lists for non-LFS files */
  gitSha1?: string;
}

export interface OpenResult {
  /** offset of the first body byte: 0 for a full response, `from` when the range was honoured */
  start: number;
  /** full size of the remote file, when known */
  total?: number;
  /** validator of this version of the file */
  etag?: string;
  /** digest the server publishes for the file (e.g. the Hub's X-Linked-Etag), lowercase hex */
  sha256?: string;
  /** the response's Content-Type, for sources whose servers may answer a page instead of the file */
  contentType?: string;
  /** the URL that answered, after redirects */
  url?: string;
  body: Readable;
}

/**
 * Opens the remote file. `from` > 0 asks for the bytes from there on, valid only while the file
 * still has validator `etag`; an opener that cannot honour that returns the whole file (start 0).
 */
export type Opener = (from: number, etag: string | undefined, signal?: AbortSignal) => Promise<OpenResult>;

export interface DownloadOptions {
  open: Opener;
  /** final path, written only when complete and verified */
  dest: string;
  /** stable path for the partial file (resume key) */
  partial: string;
  expected?: ExpectedDigests;
  /** human name of the thing being fetched, for messages */
  describe: string;
  onBytes?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** attempts on network errors (each resumes); default 3 */
  attempts?: number;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
  /** bytes that were already on disk from an earlier, interrupted run */
  resumedFrom: number;
}

interface Sidecar {
  etag?: string;
  total?: number;
  sha256?: string;
}

const sidecarPath = (partial: string) => `${partial}.json`;

async function readSidecar(partial: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(sidecarPath(partial), 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function discardPartial(partial: string): Promise<void> {
  await rm(partial, { force: true });
  await rm(sidecarPath(partial), { force: true });
}

class Hasher {
  readonly sha256 = createHash('sha256');
  readonly sha1?: Hash;
  readonly git?: Hash;

  constructor(expected: ExpectedDigests | undefined, total: number | undefined) {
    if (expected?.sha1) this.sha1 = createHash('sha1');
    if (expected?.gitSha1 && total !== undefined) {
      this.git = createHash('sha1');
      this.git.update(`blob ${total}\0`);
    }
  }

  update(chunk: Buffer): void {
    this.sha256.update(chunk);
    this.sha1?.update(chunk);
    this.git?.update(chunk);
  }
}

export async function resumableDownload(opts: DownloadOptions): Promise<DownloadResult> {
  const attempts = opts.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await downloadOnce(opts);
    } catch (err) {
      lastError = err;
      const retryable = err instanceof ModelSourceError && err.code === 'network';
      if (!retryable || attempt === attempts || opts.signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
    }
  }
  throw lastError;
}

async function downloadOnce(opts: DownloadOptions): Promise<DownloadResult> {
  const { partial, signal } = opts;
  if (signal?.aborted) throw abortError(signal);
  await mkdir(dirname(partial), { recursive: true });

  let sidecar = await readSidecar(partial);
  let have = sidecar ? await sizeOf(partial) : 0;
  if (!sidecar || (sidecar.total !== undefined && have > sidecar.total)) {
    await discardPartial(partial);
    sidecar = undefined;
    have = 0;
  }

  // Hash what is already on disk before asking for the rest, so the response never sits idle
  // (a server may drop a connection that does not read for long).
  const hasherFor = (size: number | undefined) => new Hasher(opts.expected, size);
  let hasher = hasherFor(sidecar?.total ?? opts.expected?.size);
  if (have > 0) {
    for await (const chunk of createReadStream(partial, { end: have - 1 })) hasher.update(chunk as Buffer);
  }

  let res = await opts.open(have, sidecar?.etag, signal);
  if (have > 0 && res.start === have) {
    // The server honoured the range; make sure it is still the same file we started.
    const changed =
      (sidecar?.etag && res.etag && res.etag !== sidecar.etag) ||
      (sidecar?.total !== undefined && res.total !== undefined && res.total !== sidecar.total) ||
      (sidecar?.sha256 && res.sha256 && res.sha256 !== sidecar.sha256);
    if (changed) {
      res.body.destroy();
      res = await opts.open(0, undefined, signal);
    }
  }
  if (res.start !== 0 && res.start !== have) {
    res.body.destroy();
    res = await opts.open(0, undefined, signal);
  }
  if (res.start === 0 && have > 0) have = 0; // server sent the whole file (changed, or no range support)

  const total = res.total ?? opts.expected?.size;
  const expected: ExpectedDigests = { ...opts.expected };
  if (res.sha256 && !expected.sha256) expected.sha256 = res.sha256;
  if (expected.size !== undefined && res.total !== undefined && expected.size !== res.total) {
    res.body.destroy();
    await discardPartial(partial);
    throw new ModelSourceError('checksum_mismatch', `${opts.describe}: server reports ${res.total} bytes, expected ${expected.size}`);
  }

  try {
    await writeFile(sidecarPath(partial), JSON.stringify({ etag: res.etag, total, sha256: expected.sha256 } satisfies Sidecar));
  } catch (err) {
    res.body.destroy();
    throw mapFsError(err, opts.describe);
  }

  if (have === 0) hasher = hasherFor(total);

  let done = have;
  opts.onBytes?.(done, total);
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hasher.update(chunk);
      done += chunk.length;
      opts.onBytes?.(done, total);
      cb(null, chunk);
    },
  });
  const out = createWriteStream(partial, { flags: have > 0 ? 'r+' : 'w', start: have });
  try {
    await pipeline(res.body, counter, out, { signal });
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    const mapped = mapFsError(err, opts.describe);
    if (mapped instanceof ModelSourceError) throw mapped;
    throw new ModelSourceError(
      'network',
      `${opts.describe}: download interrupted after ${done} bytes (${(err as Error).message}); run the pull again to resume`,
      { cause: err },
    );
  }

  if (total !== undefined && done !== total) {
    throw new ModelSourceError('network', `${opts.describe}: connection ended at ${done} of ${total} bytes; run the pull again to resume`);
  }
  const sha256 = hasher.sha256.digest('hex');
  const mismatch: string[] = [];
  if (expected.sha256 && expected.sha256.toLowerCase() !== sha256) mismatch.push(`sha256 ${sha256}, expected ${expected.sha256}`);
  if (hasher.sha1 && expected.sha1) {
    const sha1 = hasher.sha1.digest('hex');
    if (sha1 !== expected.sha1.toLowerCase()) mismatch.push(`sha1 ${sha1}, expected ${expected.sha1}`);
  }
  if (hasher.git && expected.gitSha1) {
    const git = hasher.git.digest('hex');
    if (git !== expected.gitSha1.toLowerCase()) mismatch.push(`git blob ${git}, expected ${expected.gitSha1}`);
  }
  if (mismatch.length) {
    await discardPartial(partial);
    throw new ModelSourceError('checksum_mismatch', `${opts.describe}: checksum mismatch (${mismatch.join('; ')}); the download was discarded`);
  }

  try {
    const fh = await open(partial, 'r+');
    await fh.sync();
    await fh.close();
    await mkdir(dirname(opts.dest), { recursive: true });
    await rename(partial, opts.dest);
  } catch (err) {
    throw mapFsError(err, opts.describe);
  }
  await rm(sidecarPath(partial), { force: true });
  return { path: opts.dest, size: done, sha256, resumedFrom: have };
}

// ---------------------------------------------------------------------------------------------
// HTTP(S)

export interface HttpOpenerOptions {
  url: string;
  /** bearer token, sent only to the first origin (never to a CDN we are redirected to) */
  token?: string;
  headers?: Record<string, string>;
  /** tells the user how to authenticate when the server answers 401/403 */
  authHint: (status: number, tokenSent: boolean) => string;
  describe: string;
  /** a pull an API caller started: every hop (redirects included) must reach a public address */
  policy?: SourcePolicy;
}

export function httpOpener(o: HttpOpenerOptions): Opener {
  return async (from, etag, signal) => {
    let url = o.url;
    const origin = new URL(o.url).origin;
    let linkedSha256: string | undefined;
    let linkedSize: number | undefined;
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'earshot', ...o.headers };
      const sameOrigin = new URL(url).origin === origin;
      if (o.token && sameOrigin) headers.authorization = `Bearer ${o.token}`;
      if (from > 0) {
        headers.range = `bytes=${from}-`;
        if (etag && !etag.startsWith('W/')) headers['if-range'] = etag;
      }
      let res: Response;
      try {
        res = await policyFetch(url, { headers, redirect: 'manual', signal }, o.policy);
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        if (err instanceof ModelSourceError) throw err;
        throw new ModelSourceError(
          'network',
          `${o.describe}: cannot reach ${new URL(url).host} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`,
          { cause: err },
        );
      }
      // The Hub puts the LFS object's sha256 and size on its redirect.
      const linked = res.headers.get('x-linked-etag');
      if (linked) linkedSha256 ??= lfsSha256(linked);
      const linkedLen = res.headers.get('x-linked-size');
      if (linkedLen) linkedSize ??= Number(linkedLen);
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.body?.cancel();
        const next = new URL(res.headers.get('location')!, url);
        // a redirect may change host (a CDN) but not leave HTTP, nor drop TLS on a caller's pull
        if (next.protocol !== 'https:' && next.protocol !== 'http:') {
          throw new ModelSourceError('forbidden_source', `${o.describe}: redirected to a ${next.protocol} URL; only http(s) redirects are followed`);
        }
        if (o.policy && !o.policy.allowPrivate && new URL(url).protocol === 'https:' && next.protocol === 'http:') {
          throw new ModelSourceError('forbidden_source', `${o.describe}: redirected from https to plain http (${next.host}); refused`);
        }
        url = next.href;
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new ModelSourceError('unauthorized', o.authHint(res.status, Boolean(o.token && sameOrigin)));
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel();
        throw new ModelSourceError('not_found', `${o.describe}: not found (HTTP ${res.status} from ${new URL(url).host})`);
      }
      if (res.status === 416 && from > 0) {
        // Our partial is at or past the end: start over rather than guess.
        await res.body?.cancel();
        return (await httpOpener(o)(0, undefined, signal)) as OpenResult;
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw new ModelSourceError('network', `${o.describe}: HTTP ${res.status} ${res.statusText} from ${new URL(url).host}`);
      }
      if (!res.body) throw new ModelSourceError('network', `${o.describe}: empty response`);
      const resEtag = res.headers.get('etag') ?? undefined;
      let start = 0;
      let total: number | undefined;
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m) {
          await res.body.cancel();
          throw new ModelSourceError('network', `${o.describe}: bad Content-Range in partial response`);
        }
        start = Number(m[1]);
        if (m[3] !== '*') total = Number(m[3]);
      } else {
        const len = res.headers.get('content-length');
        if (len !== null && !res.headers.get('content-encoding')) total = Number(len);
      }
      total ??= linkedSize;
      const result: OpenResult = { start, body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) };
      if (total !== undefined) result.total = total;
      if (resEtag) result.etag = resEtag;
      if (linkedSha256) result.sha256 = linkedSha256;
      const contentType = res.headers.get('content-type');
      if (contentType) result.contentType = contentType;
      result.url = url;
      return result;
    }
    throw new ModelSourceError('network', `${o.describe}: too many redirects`);
  };
}

/** The Hub's X-Linked-Etag holds the LFS sha256 (quoted); anything else is not a digest we know. */
function lfsSha256(etag: string): string | undefined {
  const v = etag.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return /^[0-9a-f]{64}$/.test(v) ? v : undefined;
}
