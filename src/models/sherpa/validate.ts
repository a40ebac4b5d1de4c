// Checks a sherpa-onnx model folder before it is installed or loaded: every file its kind needs is
// there, model files really are ONNX / ORT, and tokens.txt is a token table. A broken model gets a
// message naming the file, instead of a native error from inside the worker.
import { open, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { KIND_INFO, isSherpaKind, missingRoles, type SherpaDetails } from './kinds.js';

export class SherpaModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SherpaModelError';
  }
}

/** The `details.sherpa` of a manifest, checked. */
export function sherpaDetails(details: Record<string, unknown> | undefined, modelId: string): SherpaDetails {
  const raw = details?.sherpa as Partial<SherpaDetails> | undefined;
  if (!raw || !isSherpaKind(raw.kind)) throw new SherpaModelError(`model ${modelId}: manifest has no valid details.sherpa.kind`);
  const files = raw.files ?? {};
  for (const [role, path] of Object.entries(files)) {
    if (typeof path !== 'string' || isAbsolute(path) || normalize(path).startsWith('..')) {
      throw new SherpaModelError(`model ${modelId}: file for "${role}" must be a path inside the model folder`);
    }
  }
  return { kind: raw.kind, files };
}

/** ONNX is a protobuf whose first field is ir_version (tag 0x08); ORT files carry "ORTM" at byte 4. */
async function sniffModelFile(path: string): Promise<'onnx' | 'ort' | 'other'> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    if (bytesRead >= 8 && head.toString('latin1', 4, 8) === 'ORTM') return 'ort';
    if (bytesRead >= 2 && head[0] === 0x08) return 'onnx';
    return 'other';
  } finally {
    await fh.close();
  }
}

/** sherpa's tokens.txt: "symbol id" per line (a line holding only an id is a whitespace token). */
export function checkTokensText(text: string, path: string): number {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new SherpaModelError(`${path} is empty`);
  lines.forEach((line, i) => {
    if (!/(^|\s)\d+\r?$/.test(line)) throw new SherpaModelError(`${path}:${i + 1} is not "<token> <id>"`);
  });
  return lines.length;
}

/** Throws SherpaModelError naming the first problem; answers the vocabulary size. */
export async function validateSherpaModel(dir: string, details: SherpaDetails): Promise<{ vocabulary: number }> {
  const missing = missingRoles(details.kind, details.files);
  if (missing.length > 0) {
    throw new SherpaModelError(`a ${details.kind} model needs ${KIND_INFO[details.kind].roles.join(', ')}; no file for ${missing.join(', ')}`);
  }
  let vocabulary = 0;
  for (const role of KIND_INFO[details.kind].roles) {
    const path = join(dir, details.files[role]!);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || info.size === 0) throw new SherpaModelError(`${details.kind} model: ${role} file ${path} is missing or empty`);
    if (role === 'tokens') {
      vocabulary = checkTokensText(await readFile(path, 'utf8'), path);
    } else if ((await sniffModelFile(path)) === 'other') {
      throw new SherpaModelError(`${details.kind} model: ${role} file ${path} is neither ONNX nor ORT`);
    }
  }
  return { vocabulary };
}
