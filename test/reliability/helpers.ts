// Shared pieces of the fault tests: a server home of its own (history, temp files) that reads the models
// installed in the shared store, process facts from /proc, and a small tmpfs for disk-full faults.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { earshotHome } from '../../src/config/env.js';

/** A fresh EARSHOT_HOME whose models (and caches) are links into the shared store. */
export function isolatedHome(dir = mkdtempSync(join(tmpdir(), 'earshot-faults-'))): string {
  const shared = earshotHome();
  for (const name of ['models', 'cache', 'runtimes', 'engine-probes.json']) {
    if (existsSync(join(shared, name))) symlinkSync(join(shared, name), join(dir, name));
  }
  return dir;
}

/** Process state letter from /proc (R, S, T stopped, Z zombie), or null once it is gone and reaped. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return null;
  }
}

/** Direct children of `pid` that are zombies (exited, never waited for). */
export function zombieChildren(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Polls until `check` answers a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Mounts a tmpfs of `size` (e.g. "1m") on a new folder: a real file system that really fills up.
 * Needs root (CI runs as root); returns undefined with the reason elsewhere.
 */
export function mountTmpfs(size: string): { dir: string; unmount(): void } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'earshot-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}` };
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
