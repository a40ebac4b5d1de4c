// Runs `earshot listen` as a child process, the way a user or a pipeline would.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

/** The real binary once the listen command is registered there; until then a one-command entry over the same module. */
function entry(): string[] {
  const index = readFileSync(join(ROOT, 'src', 'cli', 'commands', 'index.ts'), 'utf8');
  if (index.includes('listen.js')) return [join(ROOT, 'bin', 'earshot.js')];
  return ['--import', 'tsx', join(ROOT, 'test', 'wakeword', 'helpers', 'listen-entry.ts')];
}

export interface ListenRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ListenProcess {
  /** Resolves when the client exits. */
  done: Promise<ListenRun>;
  stdin: NodeJS.WritableStream;
  stderrSoFar(): string;
  kill(): void;
}

export function startListen(args: string[], options: { env?: Record<string, string>; stdin?: Buffer } = {}): ListenProcess {
  const child = spawn(process.execPath, [...entry(), 'listen', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...(options.env ?? {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // the client may exit before reading everything
  if (options.stdin) child.stdin.end(options.stdin);
  const done = new Promise<ListenRun>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { done, stdin: child.stdin, stderrSoFar: () => stderr, kill: () => child.kill('SIGINT') };
}

export function runListen(args: string[], options: { env?: Record<string, string>; stdin?: Buffer } = {}): Promise<ListenRun> {
  return startListen(args, options).done;
}
