// The model store: one folder per model under EARSHOT_HOME/models/<id>/, each with a manifest.json.
// A model is "installed" only when its manifest exists; installs are staged in a temp folder and
// renamed into place, so a kill at any moment never leaves a model that looks installed.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { earshotHome } from '../config/env.js';
import type { InstalledModel, ModelManifest } from './manifest.js';

export type { EngineKind, InstalledModel, ModelFormat, ModelManifest } from './manifest.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function defaultHome(): string {
  return earshotHome();
}

export function validateModelId(id: string): string {
  if (!ID_PATTERN.test(id) || id.includes('..')) {
    throw new Error(`invalid model id "${id}": use letters, digits, '.', '_' or '-' (at most 128)`);
  }
  return id;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class ModelStore {
  readonly modelsDir: string;
  readonly tmpDir: string;

  constructor(readonly home: string = defaultHome()) {
    this.modelsDir = join(home, 'models');
    this.tmpDir = join(home, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.modelsDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** A fresh staging folder on the same filesystem as the store (so rename is atomic). */
  async stagingDir(prefix = 'stage-'): Promise<string> {
    await this.init();
    return mkdtemp(join(this.tmpDir, prefix));
  }

  async list(): Promise<InstalledModel[]> {
    await this.init();
    const out: InstalledModel[] = [];
    for (const name of (await readdir(this.modelsDir)).sort()) {
      const model = await this.get(name).catch(() => undefined);
      if (model) out.push(model);
    }
    return out;
  }

  async get(id: string): Promise<InstalledModel | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const dir = join(this.modelsDir, id);
    const manifestPath = join(dir, 'manifest.json');
    if (!existsSync(manifestPath)) return undefined;
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ModelManifest;
    return { ...manifest, dir, path: join(dir, manifest.file) };
  }

  has(id: string): boolean {
    return ID_PATTERN.test(id) && !id.includes('..') && existsSync(join(this.modelsDir, id, 'manifest.json'));
  }

  /**
   * Moves a staged folder (holding manifest.file) into the store as `manifest.id`.
   * The manifest is written last inside the staging folder, then the folder is renamed:
   * readers see either nothing or a complete model.
   */
  async install(stagedDir: string, manifest: Omit<ModelManifest, 'sha256' | 'size' | 'created'> & Partial<ModelManifest>): Promise<InstalledModel> {
    validateModelId(manifest.id);
    const filePath = join(stagedDir, manifest.file);
    const info = await stat(filePath);
    const sha256 = manifest.sha256 ?? (await sha256File(filePath));
    const full: ModelManifest = {
      ...manifest,
      sha256,
      size: info.size,
      created: manifest.created ?? new Date().toISOString(),
    } as ModelManifest;
    await writeFile(join(stagedDir, 'manifest.json'), JSON.stringify(full, null, 2) + '\n');
    const target = join(this.modelsDir, full.id);
    if (existsSync(target)) {
      // Replace: move the old one aside first so the swap is a pair of renames.
      const aside = join(this.tmpDir, `old-${full.id}-${Date.now()}`);
      await rename(target, aside);
      await rename(stagedDir, target);
      await rm(aside, { recursive: true, force: true });
    } else {
      await rename(stagedDir, target);
    }
    return { ...full, dir: target, path: join(target, full.file) };
  }

  async remove(id: string): Promise<boolean> {
    if (!this.has(id)) return false;
    const aside = join(this.tmpDir, `rm-${id}-${Date.now()}`);
    await rename(join(this.modelsDir, id), aside);
    await rm(aside, { recursive: true, force: true });
    return true;
  }

  /** Recomputes the sha256 of an installed model's file and compares it with the manifest. */
  async verify(id: string): Promise<{ ok: boolean; expected: string; actual: string }> {
    const model = await this.get(id);
    if (!model) throw new Error(`model "${id}" is not installed`);
    const actual = await sha256File(model.path);
    return { ok: actual === model.sha256, expected: model.sha256, actual };
  }
}
