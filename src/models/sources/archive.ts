// Safe archive extraction (.tar.gz/.tgz/.tar.bz2/.tar with tar's streaming parser — bzip2 through
// unbzip2-stream, as sherpa-onnx publishes its models —, .zip with yauzl).
// Every entry is checked before anything touches the disk: no absolute paths, no "..", no
// links that resolve outside the target, no devices/FIFOs. Sizes are counted while streaming
// (headers can lie), with caps on total bytes, entry count and compression ratio, so a
// decompression bomb stops early instead of filling the disk.
import { archiveLimitsFromEnv, processEnv } from '../../config/env.js';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import unbzip2Stream from 'unbzip2-stream';
import yauzl from 'yauzl';
import { ModelSourceError, abortError, mapFsError } from './errors.js';
import type { ArchiveKind } from './resolve.js';

export interface ExtractLimits {
  /** total bytes written, all entries together */
  maxBytes: number;
  maxEntries: number;
  /** expanded / compressed; only checked once `ratioAfterBytes` have been expanded */
  maxRatio: number;
  ratioAfterBytes: number;
}

export function defaultExtractLimits(env: NodeJS.ProcessEnv = processEnv()): ExtractLimits {
  const given = archiveLimitsFromEnv(env);
  return {
    // The largest Whisper checkpoints (CTranslate2 float32 large-v3) are ~6 GiB.
    maxBytes: given.maxBytes ?? 32 * 1024 ** 3,
    maxEntries: given.maxEntries ?? 10_000,
    // Model weights barely compress (<2:1); 100:1 is a bomb, not a model.
    maxRatio: given.maxRatio ?? 100,
    ratioAfterBytes: 64 * 1024 ** 2,
  };
}

export interface ExtractOptions {
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
  /** compressed bytes consumed so far, and the archive size */
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractResult {
  entries: number;
  bytes: number;
}

/** Sniffs the first bytes: gzip, bzip2, zip or plain tar; undefined for anything else. */
export async function detectArchive(path: string): Promise<ArchiveKind | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'tar.gz';
    // "BZh" + block size digit 1-9
    if (bytesRead >= 4 && buf.toString('latin1', 0, 3) === 'BZh' && buf[3]! >= 0x31 && buf[3]! <= 0x39) return 'tar.bz2';
    if (bytesRead >= 4 && buf.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 4 && buf.readUInt32LE(0) === 0x06054b50) return 'zip'; // empty zip
    if (bytesRead >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

class Budget {
  entries = 0;
  bytes = 0;
  compressed = 0;
  constructor(
    readonly limits: ExtractLimits,
    readonly archive: string,
  ) {}

  entry(): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new ModelSourceError('archive_too_large', `archive ${this.archive} has more than ${this.limits.maxEntries} entries; refusing to extract it`);
    }
  }

  add(n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) {
      throw new ModelSourceError(
        'archive_too_large',
        `archive ${this.archive} expands past ${this.limits.maxBytes} bytes; refusing to extract it (set EARSHOT_ARCHIVE_MAX_BYTES to allow more)`,
      );
    }
    if (this.bytes > this.limits.ratioAfterBytes && this.compressed > 0 && this.bytes / this.compressed > this.limits.maxRatio) {
      throw new ModelSourceError(
        'archive_too_large',
        `archive ${this.archive} expands more than ${this.limits.maxRatio}:1; that is a decompression bomb, not a model`,
      );
    }
  }
}

/** Where an entry may go: inside root, or an unsafe_archive error. */
function safeTarget(root: string, name: string, archive: string): string {
  const clean = name.replace(/\\/g, '/');
  if (clean.includes('\0')) throw unsafe(archive, `entry name with a NUL byte`);
  if (isAbsolute(clean) || /^[A-Za-z]:/.test(clean) || clean.startsWith('/')) throw unsafe(archive, `absolute path "${name}"`);
  if (clean.split('/').includes('..')) throw unsafe(archive, `path escaping the archive "${name}"`);
  const target = resolve(root, clean);
  if (target !== root && !target.startsWith(root + sep)) throw unsafe(archive, `path escaping the archive "${name}"`);
  return target;
}

function unsafe(archive: string, what: string): ModelSourceError {
  return new ModelSourceError('unsafe_archive', `refusing to extract ${archive}: ${what}`);
}

/** The parent folder exists and, following any links made earlier, is still inside root. */
async function ensureParent(root: string, target: string, archive: string, name: string): Promise<void> {
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const real = await realpath(parent);
  if (real !== root && !real.startsWith(root + sep)) throw unsafe(archive, `entry "${name}" would be written through a link outside the archive`);
}

async function checkLinkTarget(root: string, target: string, linkpath: string, archive: string, name: string): Promise<void> {
  if (isAbsolute(linkpath) || /^[A-Za-z]:/.test(linkpath)) throw unsafe(archive, `link "${name}" points to absolute path "${linkpath}"`);
  const dest = resolve(dirname(target), linkpath);
  if (dest !== root && !dest.startsWith(root + sep)) throw unsafe(archive, `link "${name}" points outside the archive ("${linkpath}")`);
}

async function removeExisting(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isDirectory()) await rm(path, { force: true });
}

async function writeEntryFile(
  target: string,
  data: AsyncIterable<Buffer>,
  budget: Budget,
  mode?: number,
  cancelled: () => boolean = () => false,
): Promise<void> {
  await removeExisting(target);
  // 'wx' = O_CREAT|O_EXCL: never follows a link planted at this name.
  const fh = await open(target, 'wx', mode ? (mode & 0o755) | 0o600 : 0o644);
  try {
    // A manual loop so a failure elsewhere stops us between chunks (a destroyed tar entry
    // never settles a read that starts after the destroy).
    const it = data[Symbol.asyncIterator]();
    for (;;) {
      if (cancelled()) throw new Error('extraction cancelled');
      const { value, done } = await it.next();
      if (done) break;
      budget.add(value.length);
      await fh.write(value);
    }
  } finally {
    await fh.close();
  }
}

export async function extractArchive(file: string, kind: ArchiveKind, destDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const limits = { ...defaultExtractLimits(), ...opts.limits };
  await mkdir(destDir, { recursive: true });
  const root = await realpath(destDir);
  const budget = new Budget(limits, file);
  try {
    if (kind === 'zip') await extractZip(file, root, budget, opts);
    else await extractTar(file, kind === 'tar' ? undefined : kind === 'tar.gz' ? 'gzip' : 'bzip2', root, budget, opts);
  } catch (err) {
    // Nothing half-extracted stays behind.
    await rm(destDir, { recursive: true, force: true });
    if (err instanceof ModelSourceError) throw err;
    const mapped = mapFsError(err, `the contents of ${file}`);
    if (mapped instanceof ModelSourceError) throw mapped;
    if (opts.signal?.aborted) throw abortError(opts.signal);
    throw new ModelSourceError('corrupt_archive', `${file} is not a valid ${kind} archive (${(err as Error).message})`, { cause: err });
  }
  return { entries: budget.entries, bytes: budget.bytes };
}

async function extractTar(file: string, compression: 'gzip' | 'bzip2' | undefined, root: string, budget: Budget, opts: ExtractOptions): Promise<void> {
  const parser = new Parser({ strict: true });
  let failure: unknown;
  let rejectFailed!: (e: unknown) => void;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);
  const fail = (e: unknown) => {
    if (failure === undefined) {
      failure = e;
      rejectFailed(e);
    }
  };
  let queue: Promise<void> = Promise.resolve();
  const pending = new Set<ReadEntry>();
  parser.on('entry', (entry: ReadEntry) => {
    pending.add(entry);
    queue = queue.then(async () => {
      try {
        if (failure !== undefined) return void entry.resume();
        await handleTarEntry(entry, root, budget, file, () => failure !== undefined);
      } catch (e) {
        fail(e);
        entry.resume();
      } finally {
        pending.delete(entry);
      }
    });
  });
  parser.on('error', fail);
  const closed = new Promise<void>((res) => parser.on('close', () => res()));

  const { size } = await lstat(file);
  const source = createReadStream(file);
  let input: NodeJS.ReadableStream = source;
  if (compression === 'gzip') input = source.pipe(createGunzip());
  if (compression === 'bzip2') {
    // unbzip2-stream is an old-style (through) stream: a PassThrough makes it async-iterable.
    const bunzip = source.pipe(unbzip2Stream());
    const out = bunzip.pipe(new PassThrough());
    // Its errors (corrupt or truncated data) end the iteration below, as zlib's do.
    bunzip.on('error', (e: Error) => out.destroy(e));
    input = out;
  }
  source.on('data', (chunk: Buffer | string) => {
    budget.compressed += chunk.length;
    opts.onProgress?.(budget.compressed, size);
  });
  if (!compression) budget.compressed = Number.POSITIVE_INFINITY; // plain tar: no ratio to check
  source.on('error', fail);
  input.on('error', fail);
  let streamed = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (failure !== undefined) break;
      if (opts.signal?.aborted) throw abortError(opts.signal);
      // The decompressed stream itself is counted too (padding, headers, metadata).
      streamed += chunk.length;
      if (streamed > budget.limits.maxBytes + 1024 * 1024) {
        throw new ModelSourceError('archive_too_large', `archive ${file} expands past ${budget.limits.maxBytes} bytes; refusing to extract it`);
      }
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), failed]);
    }
    if (failure === undefined) {
      parser.end();
      await Promise.race([closed, failed]);
      await queue;
    }
  } catch (e) {
    fail(e);
  } finally {
    source.destroy();
  }
  if (failure !== undefined) {
    parser.abort(failure instanceof Error ? failure : new Error(String(failure)));
    // Wake the entry being written (its data will never come) so its file gets closed.
    for (const entry of pending) entry.destroy();
    await Promise.race([queue, new Promise((r) => setTimeout(r, 1000))]);
    throw failure;
  }
}

async function handleTarEntry(entry: ReadEntry, root: string, budget: Budget, archive: string, cancelled: () => boolean): Promise<void> {
  budget.entry();
  const name = entry.path;
  const target = safeTarget(root, name, archive);
  switch (entry.type) {
    case 'Directory':
      if (target !== root) await ensureParent(root, target, archive, name);
      await mkdir(target, { recursive: true });
      entry.resume();
      return;
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      if (target === root) throw unsafe(archive, `file entry naming the archive root`);
      await ensureParent(root, target, archive, name);
      await writeEntryFile(target, entry as AsyncIterable<Buffer>, budget, entry.mode, cancelled);
      return;
    case 'SymbolicLink': {
      const linkpath = entry.linkpath ?? '';
      await checkLinkTarget(root, target, linkpath, archive, name);
      await ensureParent(root, target, archive, name);
      await removeExisting(target);
      await symlink(linkpath, target);
      entry.resume();
      return;
    }
    case 'Link': {
      // Hard link: linkpath names another entry of the archive.
      const source = safeTarget(root, entry.linkpath ?? '', archive);
      await ensureParent(root, target, archive, name);
      const real = await realpath(source).catch(() => undefined);
      if (!real || (real !== root && !real.startsWith(root + sep))) throw unsafe(archive, `hard link "${name}" points outside the archive`);
      await removeExisting(target);
      await link(real, target);
      entry.resume();
      return;
    }
    default:
      throw unsafe(archive, `entry "${name}" is a ${entry.type}, not a file or folder`);
  }
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((res, rej) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) =>
      err ? rej(err) : res(zip),
    ),
  );
}

function zipNameError(err: unknown, archive: string): unknown {
  const msg = (err as Error)?.message ?? '';
  if (/^(absolute path|invalid relative path|invalid characters in fileName)/.test(msg)) return unsafe(archive, msg);
  return err;
}

async function extractZip(file: string, root: string, budget: Budget, opts: ExtractOptions): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (err) {
    throw zipNameError(err, file);
  }
  const total = zip.fileSize;
  if (zip.entryCount > budget.limits.maxEntries) {
    zip.close();
    throw new ModelSourceError(
      'archive_too_large',
      `archive ${file} has ${zip.entryCount} entries (limit ${budget.limits.maxEntries}); refusing to extract it`,
    );
  }
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        zip.close();
        rejectAll(zipNameError(err, file));
      };
      zip.on('error', fail);
      zip.on('end', () => {
        if (!settled) {
          settled = true;
          resolveAll();
        }
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        handleZipEntry(zip, entry, root, budget, file)
          .then(() => {
            opts.onProgress?.(Math.min(total, budget.compressed), total);
            if (opts.signal?.aborted) return fail(abortError(opts.signal));
            zip.readEntry();
          })
          .catch(fail);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

async function handleZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, root: string, budget: Budget, archive: string): Promise<void> {
  budget.entry();
  budget.compressed += entry.compressedSize;
  const name = entry.fileName;
  const target = safeTarget(root, name, archive);
  const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const type = mode & S_IFMT;
  const isDir = name.endsWith('/') || type === S_IFDIR;
  if (entry.isEncrypted()) throw new ModelSourceError('corrupt_archive', `${archive}: entry "${name}" is encrypted`);
  if (isDir) {
    if (target !== root) await ensureParent(root, target, archive, name);
    await mkdir(target, { recursive: true });
    return;
  }
  // Refuse on the declared sizes first (cheap); the streamed count below catches headers that lie.
  const { maxBytes, maxRatio, ratioAfterBytes } = budget.limits;
  if (budget.bytes + entry.uncompressedSize > maxBytes) {
    throw new ModelSourceError(
      'archive_too_large',
      `archive ${archive} expands past ${maxBytes} bytes ("${name}" alone is ${entry.uncompressedSize}); refusing to extract it (set EARSHOT_ARCHIVE_MAX_BYTES to allow more)`,
    );
  }
  if (entry.uncompressedSize > ratioAfterBytes && entry.uncompressedSize / Math.max(1, entry.compressedSize) > maxRatio) {
    throw new ModelSourceError('archive_too_large', `archive ${archive}: "${name}" expands more than ${maxRatio}:1; that is a decompression bomb, not a model`);
  }
  if (type !== 0 && type !== S_IFREG && type !== S_IFLNK) throw unsafe(archive, `entry "${name}" is not a regular file, folder or link`);
  if (type === S_IFLNK) {
    if (entry.uncompressedSize > 4096) throw unsafe(archive, `link "${name}" has an implausible target`);
    const chunks: Buffer[] = [];
    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    const linkpath = Buffer.concat(chunks).toString('utf8');
    await checkLinkTarget(root, target, linkpath, archive, name);
    await ensureParent(root, target, archive, name);
    await removeExisting(target);
    await symlink(linkpath, target);
    return;
  }
  await ensureParent(root, target, archive, name);
  const stream = await zip.openReadStreamPromise(entry);
  // yauzl checks sizes as it inflates and may error before we start reading: keep that error.
  let streamError: unknown;
  stream.on('error', (err) => (streamError ??= err));
  try {
    await writeEntryFile(target, stream as AsyncIterable<Buffer>, budget, mode & 0o777);
  } finally {
    stream.destroy();
  }
  if (streamError) throw streamError;
}

/**
 * What in an extracted (or downloaded) folder is the model: walks down through folders that hold
 * nothing but a single folder, then answers the one file if there is exactly one, else the folder.
 */
export async function locateModel(dir: string): Promise<string> {
  let current = dir;
  for (let depth = 0; depth < 8; depth++) {
    const entries = (await readdir(current, { withFileTypes: true })).filter((e) => !e.name.startsWith('.') && e.name !== '__MACOSX');
    if (entries.length === 1 && entries[0].isDirectory()) {
      current = join(current, entries[0].name);
      continue;
    }
    if (entries.length === 1 && entries[0].isFile()) return join(current, entries[0].name);
    return current;
  }
  return current;
}
