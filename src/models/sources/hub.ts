// Hugging Face Hub access: what a repo path is (file or folder, which files, their sizes and
// digests) from the revision API, and download URLs pinned to the resolved commit so every file
// of a folder comes from the same revision.
import { looksLikeSherpa, selectSherpaFiles } from '../sherpa/detect.js';
import { ModelSourceError } from './errors.js';
import type { ExpectedDigests } from './download.js';
import type { HubLocation } from './resolve.js';

export interface HubFile {
  /** path inside the repo */
  path: string;
  size?: number;
  expected: ExpectedDigests;
}

export interface HubListing {
  /** commit the revision resolved to */
  commit: string;
  isFolder: boolean;
  files: HubFile[];
}

interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256?: string; oid?: string; size?: number };
}

export function hubAuthHint(loc: HubLocation) {
  return (status: number, tokenSent: boolean): string =>
    tokenSent
      ? `Hugging Face refused access to ${loc.repo} (HTTP ${status}) with the token from HF_TOKEN: check the token is valid and that you accepted the repo's terms / have been granted access`
      : `Hugging Face repo ${loc.repo} needs authentication (HTTP ${status}): set HF_TOKEN (or HUGGINGFACE_HUB_TOKEN) to a token with read access`;
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(loc: HubLocation, commit: string, path: string): string {
  return `${loc.endpoint}/${loc.repo}/resolve/${encodeURIComponent(commit)}/${encodePath(path)}`;
}

/** Asks the Hub what `loc.path` is at `loc.revision`. */
export async function listHubPath(loc: HubLocation, signal?: AbortSignal): Promise<HubListing> {
  const url = `${loc.endpoint}/api/models/${loc.repo}/revision/${encodeURIComponent(loc.revision)}?blobs=true`;
  const headers: Record<string, string> = { 'user-agent': 'earshot', accept: 'application/json' };
  if (loc.token) headers.authorization = `Bearer ${loc.token}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal });
  } catch (err) {
    if (signal?.aborted) throw new ModelSourceError('aborted', 'pull aborted');
    throw new ModelSourceError(
      'network',
      `cannot reach the Hugging Face Hub at ${loc.endpoint} (${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}); set HF_ENDPOINT for a mirror`,
      { cause: err },
    );
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new ModelSourceError('unauthorized', hubAuthHint(loc)(res.status, Boolean(loc.token)));
  }
  if (res.status === 404) {
    const why = res.headers.get('x-error-code');
    await res.body?.cancel();
    if (why === 'RevisionNotFound') throw new ModelSourceError('not_found', `revision "${loc.revision}" not found in Hugging Face repo ${loc.repo}`);
    throw new ModelSourceError('not_found', `Hugging Face repo ${loc.repo} not found${loc.token ? '' : ' (if it is private, set HF_TOKEN)'}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ModelSourceError('network', `Hugging Face Hub answered HTTP ${res.status} for ${loc.repo}@${loc.revision}`);
  }
  const info = (await res.json()) as { sha?: string; siblings?: Sibling[] };
  const commit = info.sha ?? loc.revision;
  const siblings = info.siblings ?? [];
  const toFile = (s: Sibling): HubFile => {
    const expected: ExpectedDigests = {};
    const size = s.lfs?.size ?? s.size;
    if (size !== undefined) expected.size = size;
    const sha256 = s.lfs?.sha256 ?? s.lfs?.oid;
    if (sha256 && /^[0-9a-f]{64}$/i.test(sha256)) expected.sha256 = sha256.toLowerCase();
    else if (s.blobId && /^[0-9a-f]{40}$/i.test(s.blobId)) expected.gitSha1 = s.blobId.toLowerCase();
    return size === undefined ? { path: s.rfilename, expected } : { path: s.rfilename, size, expected };
  };

  const exact = siblings.find((s) => s.rfilename === loc.path);
  if (exact && loc.path) return { commit, isFolder: false, files: [toFile(exact)] };
  const prefix = loc.path ? `${loc.path}/` : '';
  const inside = siblings.filter((s) => s.rfilename.startsWith(prefix));
  if (inside.length === 0) {
    const near = siblings
      .map((s) => s.rfilename)
      .filter((n) => !n.startsWith('.'))
      .slice(0, 8);
    throw new ModelSourceError(
      'not_found',
      `"${loc.path}" not found in Hugging Face repo ${loc.repo}@${loc.revision}${near.length ? `; it has: ${near.join(', ')}` : ''}`,
    );
  }
  return { commit, isFolder: true, files: selectModelFiles(inside.map(toFile)) };
}

/**
 * From a folder listing, the files a model needs: drops repo clutter and the weight formats we
 * never read (TensorFlow, Flax; ONNX exports and PyTorch pickles when safetensors are there).
 */
export function selectModelFiles(files: HubFile[]): HubFile[] {
  const names = files.map((f) => f.path);
  // sherpa-onnx repos are ONNX exports by design: their token table, the int8 files, no test audio.
  if (looksLikeSherpa(names)) {
    const wanted = new Set(selectSherpaFiles(names));
    return files.filter((f) => wanted.has(f.path));
  }
  const hasSafetensors = names.some((n) => n.endsWith('.safetensors'));
  const kept = files.filter(({ path }) => {
    const base = path.split('/').pop() ?? path;
    if (base.startsWith('.')) return false;
    if (/\.(h5|msgpack|ot|tflite|mlmodel|pt|pth|ckpt)$/i.test(base)) return false;
    if (/(^|\/)(coreml|openvino|tf|flax)\//i.test(path)) return false;
    // ONNX exports only matter without safetensors (a CTC repo may carry onnx/model.onnx beside pickles).
    if (hasSafetensors && (/\.(onnx|onnx_data)$/i.test(base) || /(^|\/)onnx\//i.test(path))) return false;
    if (/\.(md|png|jpe?g|gif)$/i.test(base)) return false;
    if (hasSafetensors && /^pytorch_model.*\.bin(\.index\.json)?$/i.test(base)) return false;
    return true;
  });
  return kept.length ? kept : files;
}
