// Installs a detected sherpa-onnx model folder into the store: the files its kind needs (and its
// licence) move into a staging folder, Moonshine's tokenizer.bin becomes tokens.txt, the result is
// validated, then installed atomically like every model.
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { InstalledModel } from '../manifest.js';
import type { ModelStore } from '../store.js';
import { convertMoonshineTokenizer } from '../import/moonshine-tokens.js';
import type { SherpaDetection } from './detect.js';
import { KIND_INFO, type SherpaDetails } from './kinds.js';
import { validateSherpaModel } from './validate.js';

export interface SherpaInstallOptions {
  store: ModelStore;
  id: string;
  source: string;
  /** copy instead of move (the folder is the user's own) */
  copy: boolean;
  /** an empty folder on the store's filesystem to assemble the model in */
  stage: string;
}

export async function installSherpaModel(dir: string, detection: SherpaDetection, opts: SherpaInstallOptions): Promise<InstalledModel> {
  const staged = join(opts.stage, 'sherpa-model');
  await mkdir(staged, { recursive: true });
  const take = (from: string, to: string) => (opts.copy ? copyFile(join(dir, from), join(staged, to)) : rename(join(dir, from), join(staged, to)));
  const files: Record<string, string> = {};
  for (const [role, file] of Object.entries(detection.files)) {
    if (role === 'tokens' && detection.convertTokenizer) continue;
    await take(file, file);
    files[role] = file;
  }
  if (detection.convertTokenizer) {
    await take(detection.convertTokenizer, 'tokenizer.bin');
    await convertMoonshineTokenizer(join(staged, 'tokenizer.bin'), join(staged, 'tokens.txt'));
    files.tokens = 'tokens.txt';
  }
  for (const extra of ['LICENSE', 'LICENSE.txt', 'README.md']) if (existsSync(join(dir, extra))) await take(extra, extra);
  const details: SherpaDetails = { kind: detection.kind, files };
  const { vocabulary } = await validateSherpaModel(staged, details);
  const main = files.encoder ?? files.model ?? files[KIND_INFO[detection.kind].roles[0]!]!;
  return opts.store.install(staged, {
    id: opts.id,
    source: opts.source,
    format: 'sherpa-onnx',
    engine: 'sherpa',
    file: main,
    languages: detection.languages ?? ['en'],
    quantization: Object.values(files).some((f) => /\.int8\./.test(f)) ? 'int8' : undefined,
    details: { sherpa: details, vocabulary, ...(detection.languages ? {} : { languagesAssumed: true }) },
  });
}
