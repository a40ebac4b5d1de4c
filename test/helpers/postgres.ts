// A throwaway PostgreSQL server for tests: initdb into a temp folder, the server on a free port,
// trust authentication on the given address only. The Debian binaries live in
// /usr/lib/postgresql/<version>/bin (EARSHOT_PG_BIN overrides). PostgreSQL refuses to run as root,
// so under root the data folder belongs to, and the server runs as, the `postgres` user.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/util/free-port.js';
import { startChild, waitUntil, type Child } from './child.js';

export interface TestPostgres {
  /** postgres://earshot@host:port/earshot */
  url: string;
  host: string;
  port: number;
  /** stops the server (data kept: start() brings it back on the same port) */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stops it and removes the data */
  destroy(): Promise<void>;
}

function pgBin(): string {
  if (process.env.EARSHOT_PG_BIN) return process.env.EARSHOT_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql): /usr/lib/postgresql/*/bin/initdb not found');
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, 'bin');
}

/** uid/gid to run PostgreSQL as: ourselves, or the postgres user when we are root. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPostgres(
  /** host: the address in `url` (default 127.0.0.1); alsoListen: further addresses to listen on */
  opts: { host?: string; port?: number; alsoListen?: string[] } = {},
): Promise<TestPostgres> {
  const bin = pgBin();
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const dir = await mkdtemp(join(os.tmpdir(), 'earshot-pg-'));
  const data = join(dir, 'data');
  const user = runAs();
  await mkdir(data, { mode: 0o700 });
  if (user.uid !== undefined) {
    await chown(dir, user.uid, user.gid!);
    await chown(data, user.uid, user.gid!);
  }
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'earshot', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], {
    ...user,
    stdio: 'pipe',
  });
  // clients on the extra addresses' subnets (a cluster test's nodes) are trusted like loopback ones
  if (opts.alsoListen?.length) await appendFile(join(data, 'pg_hba.conf'), '\nhost all all samenet trust\n');
  let child: Child | undefined;
  const url = `postgres://earshot@${host}:${port}/earshot`;
  const start = async () => {
    const [cmd, args] = [
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-h',
        [host, ...(opts.alsoListen ?? [])].join(','),
        '-p',
        String(port),
        '-k',
        dir,
        // a test database: durability off, fast start and stop
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=100',
      ],
    ] as [string, string[]];
    child = startChild(cmd, args, user);
    const admin = `postgres://earshot@${host}:${port}/postgres`;
    await waitUntil('postgres', child, async () => {
      const c = new pg.Client({ connectionString: admin });
      try {
        await c.connect();
        const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = 'earshot'");
        if (exists.rowCount === 0) await c.query('CREATE DATABASE earshot');
        return true;
      } finally {
        await c.end().catch(() => undefined);
      }
    });
  };
  await start();
  return {
    url,
    host,
    port,
    start,
    stop: async () => {
      // SIGINT: "fast" shutdown (sessions cut, no waiting for clients to leave)
      child?.process.kill('SIGINT');
      await child?.exited();
    },
    destroy: async () => {
      child?.process.kill('SIGINT');
      await child?.exited();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
