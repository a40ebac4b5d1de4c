// A Whisper model converted from CTranslate2 keeps those weights beside its ggml file, in <model>/ct2/,
// so the CTranslate2 engine can run the very same weights (see src/engines/select.ts). Files are
// hard-linked when the source is on the same file system (no extra disk), copied otherwise.
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const CT2_SUBDIR = 'ct2';

/** A CTranslate2 Whisper folder, as faster-whisper and the seeds keep them. */
export function isCt2Folder(dir: string): boolean {
  return (
    existsSync(join(dir, 'model.bin')) &&
    existsSync(join(dir, 'config.json')) &&
    (existsSync(join(dir, 'vocabulary.json')) || existsSync(join(dir, 'vocabulary.txt')))
  );
}

/** The CTranslate2 weights kept in a model folder, if any. */
export function ct2WeightsOf(modelDir: string): string | undefined {
  const dir = join(modelDir, CT2_SUBDIR);
  return isCt2Folder(dir) ? dir : undefined;
}

/** Puts the files of CTranslate2 folder `source` into `<modelDir>/ct2`; the folder appears whole or not at all. */
export async function keepCt2Weights(source: string, modelDir: string): Promise<string> {
  const target = join(modelDir, CT2_SUBDIR);
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    for (const name of await readdir(source)) {
      if (name.startsWith('.')) continue;
      const from = join(source, name);
      if (!(await stat(from)).isFile()) continue;
      await link(from, join(partial, name)).catch(() => copyFile(from, join(partial, name)));
    }
    await rm(target, { recursive: true, force: true });
    await rename(partial, target);
    return target;
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  }
}
