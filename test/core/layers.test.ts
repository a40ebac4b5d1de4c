// The layering rule, checked on the source: interfaces → app → pipeline → engines → models/audio,
// with config (and small pure helpers) below everything. A module imports only from its own layer
// or lower ones, and no route imports another route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'src');

/** Higher number = higher layer. Top-level folders (or files) of src/. */
const LAYER: Record<string, number> = {
  'version.ts': 0,
  util: 0,
  config: 0,
  /** ambient declarations for untyped npm packages */
  types: 0,
  audio: 1,
  history: 1,
  /** Redis links of cluster mode (counters, session slots, the bus) */
  cluster: 1,
  models: 1,
  eval: 1,
  engines: 2,
  /** job queue backends (in-process, BullMQ), job audio storage, guarded fetch: below the app's jobs service */
  jobs: 2,
  pipeline: 3,
  /** renders transcripts (engine types) for the interfaces */
  formats: 3,
  app: 4,
  wakeword: 4,
  server: 5,
  protocols: 5,
  cli: 6,
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (path.endsWith('.ts')) out.push(path);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)];
  return found.map((m) => resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts'));
}

const top = (path: string) => relative(SRC, path).split('/')[0]!;

test('every src module imports only from its own layer or below', () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const from = top(file);
    assert.ok(from in LAYER, `src/${from} has no layer in test/core/layers.test.ts: add it`);
    for (const target of imports(file)) {
      const to = top(target);
      if (!(to in LAYER)) continue;
      if (LAYER[to]! > LAYER[from]!) problems.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(problems, [], `imports from a higher layer:\n${problems.join('\n')}`);
});

test('no route imports another route', () => {
  const routes = join(SRC, 'server', 'routes');
  const problems = files(routes).flatMap((file) =>
    imports(file)
      .filter((t) => t.startsWith(routes + '/'))
      .map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`),
  );
  assert.deepEqual(problems, []);
});

test('only src/config reads the environment', () => {
  const readers = files(SRC).filter((f) => top(f) !== 'config' && /process\.env\b/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(
    readers.map((f) => relative(SRC, f)),
    [],
  );
});
