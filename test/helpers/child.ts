// A long-running child process for tests (a database, a cache, a proxy): its output kept for error
// messages, a wait for readiness, and stop / kill that resolve when it has exited.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Child {
  readonly process: ChildProcess;
  output(): string;
  /** resolves when the process has exited (at once if it already has) */
  exited(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<void>;
}

const KEEP = 64 * 1024;

export function startChild(command: string, args: string[], options: SpawnOptions = {}): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`\n[spawn error] ${err.message}\n`)));
  const done = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    process: child,
    output: () => out,
    exited: () => done,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

/** Polls `probe` until it resolves true; throws with the child's output when time runs out or it exits. */
export async function waitUntil(what: string, child: Child, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void child.exited().then(() => (gone = true));
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (gone) throw new Error(`${what} exited during startup:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready in ${timeoutMs} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
