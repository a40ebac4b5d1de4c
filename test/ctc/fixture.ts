// Test CTC models built the way users' models look: transformers + CPU torch (the venv that
// scripts/setup-ctc-venv.sh makes) save a small random Wav2Vec2ForCTC with save_pretrained; and
// transformers' own answers (logits, batch_decode, pipeline) for the same audio. Both are cached by
// the hash of the script and its arguments, so reruns cost nothing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultHome } from '../../src/models/store.js';
import { ROOT } from '../helpers/server.js';

const FIXTURES = join(ROOT, 'test', 'ctc', 'fixtures');

export function ctcPython(): string {
  const python = process.env.EARSHOT_CTC_PYTHON ?? join(ROOT, '.earshot', 'ctc-venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`no Python with torch + transformers at ${python}: run scripts/setup-ctc-venv.sh (CI does) or set EARSHOT_CTC_PYTHON`);
  }
  return python;
}

async function cached(key: string, make: (dir: string) => void): Promise<string> {
  const dir = join(defaultHome(), 'cache', 'ctc-fixtures', createHash('sha256').update(key).digest('hex').slice(0, 16));
  if (existsSync(join(dir, '.done'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  make(tmp);
  await writeFile(join(tmp, '.done'), '');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}

const script = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** A Wav2Vec2ForCTC folder as save_pretrained writes it. */
export function tinyModel(style: 'large' | 'base' = 'large', large = false, arch: 'wav2vec2' | 'hubert' = 'wav2vec2'): Promise<string> {
  const args = ['--style', style, ...(large ? ['--large'] : []), ...(arch === 'hubert' ? ['--arch', 'hubert'] : [])];
  return cached(`model ${script('make_model.py')} ${args.join(' ')}`, (dir) => {
    execFileSync(ctcPython(), [join(FIXTURES, 'make_model.py'), '--out', dir, ...args], { stdio: 'pipe' });
  });
}

export interface Reference {
  frames: number;
  vocab: number;
  ids: number[];
  text: string;
  word_offsets: Array<{ word: string; start: number; end: number }>;
  pipeline: { text: string; words: Array<[string, number, number]> };
  chunked?: { text: string; words: Array<[string, number, number]> };
  logits: Float32Array;
}

/** What transformers answers for `audio` (16 kHz) on the model folder. */
export async function reference(modelDir: string, audio: Float32Array, chunkSeconds = 0): Promise<Reference> {
  const audioHash = createHash('sha256')
    .update(Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength))
    .digest('hex');
  const dir = await cached(`ref ${script('reference.py')} ${modelDir} ${audioHash} ${chunkSeconds}`, (out) => {
    const input = join(out, 'audio.f32');
    writeFileSync(input, Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength));
    execFileSync(ctcPython(), [join(FIXTURES, 'reference.py'), '--model', modelDir, '--audio', input, '--out', out, '--chunk', String(chunkSeconds)], {
      stdio: 'pipe',
    });
  });
  const json = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Omit<Reference, 'logits'>;
  const raw = readFileSync(join(dir, 'logits.f32'));
  return { ...json, logits: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)) };
}
