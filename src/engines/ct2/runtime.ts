// The CTranslate2 engine's Python runtime: a venv Earshot creates and owns under <home>/runtimes/ct2,
// with the pinned wheels of requirements.txt (as LocalAI runs its Python backends). Made on first
// use (config ct2.install, default on); a stamp records what was installed, so a later start checks
// one small file instead of starting Python. A user-supplied Python (config ct2.python) is used as it is.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock } from '../../models/sources/lock.js';
import { EngineError } from '../types.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const CT2_WORKER_SCRIPT = join(HERE, 'worker.py');
export const CT2_REQUIREMENTS = join(HERE, 'requirements.txt');

export interface Ct2RuntimeOptions {
  /** Earshot's home (the store's parent folder) */
  home: string;
  /** a Python that already has faster-whisper and ctranslate2; skips the managed venv */
  python?: string;
  /** create the venv when missing (pip install from PyPI); false = fail instead */
  install: boolean;
  log?: (line: string) => void;
}

function pinned(): string {
  return readFileSync(CT2_REQUIREMENTS, 'utf8');
}

export function ct2VenvDir(home: string): string {
  return join(home, 'runtimes', 'ct2');
}

function venvPython(home: string): string {
  return join(ct2VenvDir(home), 'bin', 'python');
}

/** The managed venv is complete and holds exactly the pinned requirements. */
export function ct2RuntimeReady(home: string): boolean {
  const stamp = join(ct2VenvDir(home), 'earshot-runtime.txt');
  return existsSync(venvPython(home)) && existsSync(stamp) && readFileSync(stamp, 'utf8') === pinned();
}

function run(command: string, args: string[], log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`${command}: ${err.message}`)));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else {
        log?.(tail);
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`));
      }
    });
  });
}

let installing: Promise<string> | undefined;

/** The Python to run the worker with; installs the managed venv first when needed and allowed. */
export async function ensureCt2Runtime(opts: Ct2RuntimeOptions): Promise<string> {
  if (opts.python) return opts.python;
  if (ct2RuntimeReady(opts.home)) return venvPython(opts.home);
  if (!opts.install) {
    throw new EngineError(
      'model_load_failed',
      `the CTranslate2 runtime is not installed (${ct2VenvDir(opts.home)}): allow Earshot to install it (config ct2.install, env EARSHOT_CT2_INSTALL=1) or point ct2.python (EARSHOT_CT2_PYTHON) at a Python with faster-whisper`,
    );
  }
  installing ??= install(opts).finally(() => {
    installing = undefined;
  });
  return installing;
}

async function install(opts: Ct2RuntimeOptions): Promise<string> {
  const dir = ct2VenvDir(opts.home);
  await mkdir(join(opts.home, 'runtimes'), { recursive: true });
  // Another Earshot process may be installing the same venv: wait for it, then use its result.
  const lock = await acquireLock(`${dir}.lock`, {
    staleMs: 10 * 60_000,
    onWait: () => opts.log?.('waiting for another process installing the CTranslate2 runtime'),
  });
  try {
    if (ct2RuntimeReady(opts.home)) return venvPython(opts.home);
    opts.log?.(
      `installing the CTranslate2 runtime into ${dir} (pip, ${pinned()
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .join(', ')})`,
    );
    await rm(dir, { recursive: true, force: true });
    const base = 'python3';
    try {
      await run(base, ['-m', 'venv', dir], opts.log);
      await run(venvPython(opts.home), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '-r', CT2_REQUIREMENTS], opts.log);
      await run(venvPython(opts.home), ['-c', 'import faster_whisper, ctranslate2'], opts.log);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new EngineError('model_load_failed', `could not install the CTranslate2 runtime: ${(err as Error).message}`);
    }
    await writeFile(join(dir, 'earshot-runtime.txt'), pinned());
    opts.log?.('CTranslate2 runtime installed');
    return venvPython(opts.home);
  } finally {
    await lock.release();
  }
}
