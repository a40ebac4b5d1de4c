// Real models for the model-manager tests (from `npm run fetch:test-models`), temp stores, and
// small helpers to look at what a failed pull left behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { defaultHome, ModelStore } from '../../src/models/store.js';
import { ModelSourceError } from '../../src/models/sources/errors.js';

/** The store fetch:test-models filled; read once, before any test points EARSHOT_HOME elsewhere. */
export const FIXTURE_HOME = defaultHome();

const MISSING = `test models missing under ${FIXTURE_HOME}: run "npm run fetch:test-models" first`;

/** Path of an installed fixture model's ggml file (ids: base, base-q8_0, tiny.en). */
export function fixtureGgml(id: string): string {
  const manifest = join(FIXTURE_HOME, 'models', id, 'manifest.json');
  if (!existsSync(manifest)) throw new Error(`${MISSING} (no model "${id}")`);
  const { file } = JSON.parse(readFileSync(manifest, 'utf8')) as { file: string };
  return join(FIXTURE_HOME, 'models', id, file);
}

/** The CTranslate2 Whisper folder fetch:test-models caches. */
export function fixtureCt2Folder(): string {
  const dir = join(FIXTURE_HOME, 'cache', 'ct2', 'base');
  if (!existsSync(join(dir, 'model.bin'))) throw new Error(`${MISSING} (no CTranslate2 folder ${dir})`);
  return dir;
}

export function fileDigest(path: string, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
  return createHash(algorithm).update(readFileSync(path)).digest('hex');
}

export interface TempStore {
  home: string;
  store: ModelStore;
  cleanup(): Promise<void>;
}

export async function tempStore(): Promise<TempStore> {
  const home = await mkdtemp(join(os.tmpdir(), 'earshot-models-test-'));
  return { home, store: new ModelStore(home), cleanup: () => rm(home, { recursive: true, force: true }) };
}

/** Files left in a store's tmp folder (staging dirs, partial downloads), relative names. */
export function leftovers(home: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), r);
      else out.push(r);
    }
  };
  walk(join(home, 'tmp'), '');
  return out;
}

/** Installed model folders (with or without manifest): anything under models/. */
export function modelDirs(home: string): string[] {
  const dir = join(home, 'models');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Awaits `p` and asserts it failed with a ModelSourceError of this code (and message pattern). */
export async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<ModelSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ModelSourceError, `expected a ModelSourceError, got ${String((err as Error)?.stack ?? err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected rejection with ${code}`);
}
