// A whole Earshot cluster for integration tests, from real parts: a throwaway PostgreSQL (shared
// history), a throwaway Redis (live view, limits, jobs), N Earshot nodes as separate processes
// (`earshot serve`, each with its own home whose models come from the shared test store, as a
// read-only volume would), and nginx in front, running deploy/nginx/earshot.conf itself with the
// upstream servers and listen address swapped for loopback ports.
//
// Network: where the machine allows it (root), each node runs in its own network namespace, a separate
// host on a bridge (test/cluster/netns.ts), every node on port 8003; elsewhere the nodes share loopback,
// each on its own port. EARSHOT_CLUSTER_NETWORK=netns|loopback forces one; cluster.network says which.
// The test reaches everything from its own namespace (node URLs, nginx, PostgreSQL and Redis on
// 127.0.0.1); a server the test adds for the nodes (S3, webhooks) must listen on cluster.hostAddress.
//
//   const cluster = await startCluster({ nodes: 3, env: { EARSHOT_RATE_LIMIT: '5' } });
//   cluster.nodes[0].url, cluster.url (nginx), cluster.redis.stop(), cluster.nodes[1].kill()
//   await cluster.close();
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { defaultHome } from '../../src/models/store.js';
import { startChild, waitUntil, type Child } from '../helpers/child.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { createNodeNetwork, netnsAvailable } from './netns.js';
import { freePort, ROOT, startServer, TEST_MODEL, type TestServer } from '../helpers/server.js';

export interface ClusterNode {
  /** EARSHOT_NODE_NAME: node-1, node-2, … */
  readonly name: string;
  /** http://ADDRESS:PORT (its namespace's address, or 127.0.0.1), stable across restarts */
  readonly url: string;
  readonly port: number;
  /** the running server process (undefined while stopped or killed) */
  readonly server: TestServer | undefined;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** graceful stop (SIGTERM: live sessions drain) */
  stop(): Promise<void>;
  /** a crash: SIGKILL of the node process (its engine workers die with their pipe) */
  kill(): Promise<void>;
  /** starts the node again on the same port; waits for /health 200 */
  start(): Promise<void>;
  /** everything the node printed (this run) */
  output(): string;
}

export interface Cluster {
  /** how the nodes are separated: a network namespace each, or ports on the shared loopback */
  network: 'netns' | 'loopback';
  /**
   * The address at which nodes reach a server the test starts itself (an S3 or webhook server): the
   * bridge address in netns mode, 127.0.0.1 on loopback. Such a server must listen on it (or 0.0.0.0),
   * and URLs handed to the nodes must use it.
   */
  hostAddress: string;
  pg: TestPostgres;
  redis: RedisTestServer;
  nodes: ClusterNode[];
  /** the balancer: http://127.0.0.1:PORT */
  url: string;
  /** the balancer's ws:// base */
  wsUrl: string;
  nginx: Child;
  /** the nginx.conf the balancer runs (for a failing test's message) */
  nginxConf: string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** default 3 */
  nodes?: number;
  /** --model for every node (default the test model) */
  model?: string;
  /** extra environment for every node (EARSHOT_* settings) */
  env?: Record<string, string>;
  /** extra environment per node index; hostAddress is where the nodes reach servers the test adds (cluster.hostAddress) */
  nodeEnv?: (index: number, hostAddress: string) => Record<string, string>;
  /** extra serve flags for every node */
  args?: string[];
  /** ms to wait for each node's /health (default 180 s: three nodes load models on two cores) */
  startTimeoutMs?: number;
  /** default: EARSHOT_CLUSTER_NETWORK, else netns where available, else loopback */
  network?: 'auto' | 'netns' | 'loopback';
}

/** The port every node listens on inside its own namespace (compose's too). */
const NODE_PORT = 8003;

const NGINX_CONF = join(ROOT, 'deploy', 'nginx', 'earshot.conf');

/** The repository's nginx site with the upstream servers and listen address replaced for a test. */
export async function nginxSite(upstreams: string[], listen: string): Promise<string> {
  const site = await readFile(NGINX_CONF, 'utf8');
  const serverLine = /^(\s*)server\s+\S+:\d+(\s[^;]*)?;\s*$/m;
  const first = serverLine.exec(site);
  if (!first) throw new Error(`${NGINX_CONF}: no "server host:port …;" line in the upstream block`);
  const indent = first[1]!;
  const params = first[2] ?? '';
  const servers = upstreams.map((u) => `${indent}server ${u}${params};`).join('\n');
  const withoutServers = site.replace(new RegExp(serverLine.source, 'gm'), '');
  const upstreamAt = withoutServers.indexOf('upstream earshot {');
  if (upstreamAt < 0) throw new Error(`${NGINX_CONF}: no "upstream earshot {" block`);
  const open = withoutServers.indexOf('{', upstreamAt) + 1;
  const out = `${withoutServers.slice(0, open)}\n${servers}${withoutServers.slice(open)}`;
  if (!/^\s*listen\s+80;/m.test(out)) throw new Error(`${NGINX_CONF}: no "listen 80;" line`);
  return out.replace(/^(\s*)listen\s+80;/m, `$1listen ${listen};`);
}

async function startNginx(dir: string, upstreams: string[]): Promise<{ child: Child; port: number; conf: string }> {
  if (!existsSync('/usr/sbin/nginx')) throw new Error('the cluster test needs nginx (apt-get install nginx-light)');
  const port = await freePort();
  const site = await nginxSite(upstreams, `127.0.0.1:${port}`);
  const temp = join(dir, 'nginx');
  await mkdir(temp, { recursive: true });
  // worker processes run as nobody when the master is root: they must be able to use the temp folders
  await chmod(dir, 0o755);
  await chmod(temp, 0o777);
  await writeFile(join(temp, 'earshot.conf'), site);
  const conf = [
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(temp, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(temp, 'body')};`,
    `  proxy_temp_path ${join(temp, 'proxy')};`,
    `  fastcgi_temp_path ${join(temp, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(temp, 'uwsgi')};`,
    `  scgi_temp_path ${join(temp, 'scgi')};`,
    `  include ${join(temp, 'earshot.conf')};`,
    '}',
    '',
  ].join('\n');
  const confPath = join(temp, 'nginx.conf');
  await writeFile(confPath, conf);
  // -t first: a config error is reported as such, not as "did not start"
  try {
    execFileSync('/usr/sbin/nginx', ['-t', '-q', '-c', confPath, '-p', temp], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`nginx rejects the config:\n${(err as { stderr?: Buffer }).stderr?.toString()}\n${site}`);
  }
  const child = startChild('/usr/sbin/nginx', ['-c', confPath, '-p', temp]);
  await waitUntil('nginx', child, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined);
    return res !== undefined && res.status !== 502;
  });
  return { child, port, conf: `${conf}\n${site}` };
}

/** A node's own home: models from the shared test store (read-only use), everything else its own. */
async function nodeHome(dir: string, name: string): Promise<string> {
  const home = join(dir, name);
  await mkdir(home, { recursive: true });
  const models = join(defaultHome(), 'models');
  if (!existsSync(models)) throw new Error(`no models under ${models}: run "npm run fetch:test-models"`);
  await symlink(models, join(home, 'models'), 'dir');
  return home;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const count = opts.nodes ?? 3;
  const wanted = opts.network ?? (process.env.EARSHOT_CLUSTER_NETWORK as ClusterOptions['network']) ?? 'auto';
  if (wanted === 'netns' && !netnsAvailable())
    throw new Error('EARSHOT_CLUSTER_NETWORK=netns: network namespaces are not available here (root and iproute2 needed)');
  const net = wanted === 'loopback' || (wanted === 'auto' && !netnsAvailable()) ? undefined : createNodeNetwork(count);
  const dir = await mkdtemp(join(os.tmpdir(), 'earshot-cluster-'));
  const started: Array<{ close(): Promise<void> }> = [];
  if (net) started.push({ close: async () => net.close() });
  try {
    const also = net ? [net.hostIp] : [];
    const [pg, redis] = await Promise.all([startPostgres({ alsoListen: also }), startRedisServer({ alsoBind: also })]);
    started.push({ close: () => pg.destroy() }, { close: () => redis.close() });
    // the nodes reach the shared services through the bridge; the test keeps using loopback
    const seenByNodes = (url: string) => (net ? url.replace('127.0.0.1', net.hostIp) : url);
    const ports = net ? Array(count).fill(NODE_PORT) : await Promise.all(Array.from({ length: count }, () => freePort()));
    const nodes = await Promise.all(
      ports.map(async (port: number, i) => {
        const name = `node-${i + 1}`;
        const home = await nodeHome(dir, name);
        return makeNode(name, port, {
          host: net?.nodeIps[i] ?? '127.0.0.1',
          prefix: net?.prefix(i),
          model: opts.model ?? TEST_MODEL,
          args: opts.args ?? [],
          timeoutMs: opts.startTimeoutMs ?? 180_000,
          env: {
            EARSHOT_HOME: home,
            EARSHOT_DATABASE_URL: seenByNodes(pg.url),
            EARSHOT_REDIS_URL: seenByNodes(redis.url),
            EARSHOT_NODE_NAME: name,
            // the nodes see clients through nginx: believe its X-Forwarded-For
            EARSHOT_TRUST_PROXY: net?.hostIp ?? '127.0.0.1',
            ...(opts.env ?? {}),
            ...(opts.nodeEnv?.(i, net?.hostIp ?? '127.0.0.1') ?? {}),
          },
        });
      }),
    );
    started.push({ close: async () => void (await Promise.all(nodes.map((n) => n.kill()))) });
    // one node at a time: three model loads at once on two cores only slow each other down
    for (const node of nodes) await node.start();
    const nginx = await startNginx(
      dir,
      nodes.map((n) => new URL(n.url).host),
    );
    started.push({ close: () => nginx.child.stop() });
    const url = `http://127.0.0.1:${nginx.port}`;
    return {
      network: net ? 'netns' : 'loopback',
      hostAddress: net?.hostIp ?? '127.0.0.1',
      pg,
      redis,
      nodes,
      url,
      wsUrl: url.replace('http://', 'ws://'),
      nginx: nginx.child,
      nginxConf: nginx.conf,
      close: async () => {
        await nginx.child.stop();
        await Promise.all(nodes.map((n) => n.stop()));
        await Promise.all([redis.close(), pg.destroy()]);
        net?.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function makeNode(
  name: string,
  port: number,
  o: { host: string; prefix?: string[]; model: string; args: string[]; env: Record<string, string>; timeoutMs: number },
): ClusterNode {
  let server: TestServer | undefined;
  const url = `http://${o.host}:${port}`;
  return {
    name,
    url,
    port,
    get server() {
      return server;
    },
    get pid() {
      return server?.pid;
    },
    get running() {
      return server !== undefined && server.child.exitCode === null && server.child.signalCode === null;
    },
    output: () => server?.output() ?? '',
    start: async () => {
      server = await startServer({ port, host: o.host, prefix: o.prefix, model: o.model, args: o.args, env: o.env, timeoutMs: o.timeoutMs });
    },
    stop: async () => {
      await server?.stop();
    },
    kill: async () => {
      const s = server;
      if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
      const gone = new Promise((r) => s.child.once('exit', r));
      s.child.kill('SIGKILL');
      await gone;
    },
  };
}
