import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** Project root (the folder holding package.json), from both src/ and dist/. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VERSION: string = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version;
