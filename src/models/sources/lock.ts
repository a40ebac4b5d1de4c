// A cross-process lock file (O_EXCL create) so two pulls of the same model, even from two
// processes, download it once: the second waits, then finds the model installed. The file holds
// the owner's pid and host; the owner touches it every few seconds. A lock whose owner is dead
// (same host) or which has not been touched for `staleMs` is taken over.
import { link, mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import { abortError } from './errors.js';

export interface LockOptions {
  /** a lock not refreshed for this long is stale; default 30 s */
  staleMs?: number;
  /** how often the owner refreshes the lock; default staleMs / 3 */
  refreshMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** called once if we have to wait for another owner */
  onWait?: (owner: LockOwner | undefined) => void;
}

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  token: string;
}

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(path);
  const info = await stat(path).catch(() => undefined);
  if (!info) return false; // gone: not stale, just free
  if (owner && owner.host === os.hostname() && !processAlive(owner.pid)) return true;
  // Unreadable (half-written by a killed owner) or not refreshed for too long.
  return Date.now() - info.mtimeMs > staleMs || (!owner && Date.now() - info.mtimeMs > 2000);
}

/** Moves a stale lock aside; if what we moved turns out to be a fresh lock, puts it back. */
async function breakStale(path: string, staleMs: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  if (await isStale(aside, staleMs)) {
    await rm(aside, { force: true });
  } else {
    // Another waiter took over between our check and the rename: give it back (link fails if taken).
    await link(aside, path).catch(() => undefined);
    await rm(aside, { force: true });
  }
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const staleMs = opts.staleMs ?? 30_000;
  const refreshMs = opts.refreshMs ?? Math.max(250, Math.floor(staleMs / 3));
  const pollMs = opts.pollMs ?? 200;
  await mkdir(dirname(path), { recursive: true });
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    token: `${process.pid}-${Math.random().toString(36).slice(2)}`,
  };
  let waited = false;
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStale(path, staleMs)) {
      await breakStale(path, staleMs);
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.(await readOwner(path));
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }

  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, refreshMs);
  timer.unref();
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      // Only remove the lock if it is still ours.
      const owner = await readOwner(path);
      if (owner?.token === me.token) await rm(path, { force: true });
    },
  };
}
