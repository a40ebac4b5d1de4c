// Copies the files tsc does not emit (the CTranslate2 worker's Python script and its pinned
// requirements) from src/ into dist/ at the same paths, so the built server finds them beside its code.
import { cpSync, statSync } from 'node:fs';

const isAsset = (path) => statSync(path).isDirectory() || /\.(py|txt)$/.test(path);
cpSync('src', 'dist', { recursive: true, filter: isAsset });
