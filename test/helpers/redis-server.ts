// A real, throwaway Redis for tests: Debian's redis-server on a free loopback port, its data in a temp
// folder (append-only file on, so a stop + start keeps what was written, as a restarted production Redis
// does). stop() and start() bring the same server down and back on the same port, for tests of what
// Earshot does while Redis is away; kill() is a crash (SIGKILL); close() stops it and removes the folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/free-port.js';

export const REDIS_INSTALL = 'apt-get install redis-server';

export interface RedisTestServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** the data folder (appendonly files) */
  dir: string;
  /** the running process's pid; undefined while stopped */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** clean shutdown (SIGTERM: the append-only file is flushed) */
  stop(): Promise<void>;
  /** a crash: SIGKILL */
  kill(): Promise<void>;
  /** starts it again on the same port with the same data */
  start(): Promise<void>;
  /** stops it and removes its data folder */
  close(): Promise<void>;
  /** what the server printed (the last ~16 kB) */
  output(): string;
}

export interface RedisStartOptions {
  /** the redis-server binary; default EARSHOT_REDIS_SERVER or `redis-server` on PATH */
  binary?: string;
  /** milliseconds to wait for PING to answer; default 20 s */
  timeoutMs?: number;
  /** addresses to listen on besides 127.0.0.1 (a cluster test's bridge to its nodes' network namespaces) */
  alsoBind?: string[];
}

function binaryOf(opts: RedisStartOptions): string {
  const bin = opts.binary ?? process.env.EARSHOT_REDIS_SERVER ?? 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`the Redis tests need redis-server (${bin}: ${probe.error?.message ?? probe.stderr}); run: ${REDIS_INSTALL}`);
  return bin;
}

/** Sends PING over RESP and resolves true on +PONG (a raw socket: the test must not depend on the client under test). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

export async function startRedisServer(opts: RedisStartOptions = {}): Promise<RedisTestServer> {
  const bin = binaryOf(opts);
  const port = await freePort();
  const dir = mkdtempSync(join(os.tmpdir(), 'earshot-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-16_000));
  // Never outlive the test process, even when it dies before close().
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async () => {
    if (child) return;
    const args = [
      '--port',
      String(port),
      '--bind',
      ['127.0.0.1', ...(opts.alsoBind ?? [])].join(' '),
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--save',
      '',
      // BullMQ needs keys never evicted
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
    ];
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let gone = false;
    exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        gone = true;
        if (child === proc) child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    for (;;) {
      if (gone) throw new Error(`redis-server exited during startup:\n${out}`);
      if (await ping(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer PING in time:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const signal = async (sig: NodeJS.Signals) => {
    const proc = child;
    if (!proc) return;
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined;
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start,
    close: async () => {
      await signal('SIGTERM');
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => out,
  };
}
