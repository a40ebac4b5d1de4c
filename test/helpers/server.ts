// Starts a real Earshot server (node bin/earshot.js serve) as a child process for integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/util/free-port.js';
export { freePort };

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
/** server output kept for output() */
const KEEP_BYTES = 256 * 1024;
export const TEST_MODEL = process.env.EARSHOT_TEST_MODEL ?? 'base';

export interface TestServer {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** everything the server printed so far */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** the port to listen on (a restarted cluster node keeps its own); default a free one */
  port?: number;
  /** the address to listen on and reach it at (default 127.0.0.1; a cluster node in a network namespace has its own) */
  host?: string;
  /** a command the server runs under, e.g. ['ip', 'netns', 'exec', NS] (it must exec the server, keeping its pid) */
  prefix?: string[];
  /** --model value; null: no flag (the configured default) */
  model?: string | null;
  args?: string[];
  env?: Record<string, string>;
  /** 'ready' waits for /health 200; 'listening' only for the port */
  waitFor?: 'ready' | 'listening';
  timeoutMs?: number;
  /** characters of output kept for output() (the latest ones); default KEEP_BYTES */
  keepOutput?: number;
  /** the server runs TLS (--tls-cert/--tls-key): its URL is https:// and this CA is trusted for the probe */
  tlsCa?: string | Buffer;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const port = opts.port ?? (await freePort());
  const args = [
    join(ROOT, 'bin', 'earshot.js'),
    'serve',
    '--host',
    opts.host ?? '127.0.0.1',
    '--port',
    String(port),
    ...(opts.model === null ? [] : ['--model', opts.model ?? TEST_MODEL]),
    ...(opts.args ?? []),
  ];
  const [command, ...commandArgs] = [...(opts.prefix ?? []), process.execPath, ...args];
  const child = spawn(command!, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, EARSHOT_LOG_LEVEL: process.env.EARSHOT_LOG_LEVEL ?? 'warn', ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // the last ~256 kB, starting at a line boundary (a test may parse each line)
  const limit = opts.keepOutput ?? KEEP_BYTES;
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length <= limit) return;
    const cut = out.indexOf('\n', out.length - limit);
    out = cut === -1 ? out.slice(-limit) : out.slice(cut + 1);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `${opts.tlsCa ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${port}`;
  const probe = opts.tlsCa ? await trustingFetch(opts.tlsCa) : fetch;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`server exited during startup:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ${opts.waitFor ?? 'ready'} in time:\n${out}`);
    }
    try {
      const res = await probe(`${url}/health`);
      if (opts.waitFor === 'listening' || res.status === 200) break;
      const body = (await res.json()) as { status?: string };
      if (body.status === 'error') {
        child.kill('SIGKILL');
        throw new Error(`model failed to load: ${JSON.stringify(body)}\n${out}`);
      }
    } catch (err) {
      if ((err as Error).message.startsWith('model failed')) throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    pid: child.pid!,
    child,
    output: () => out,
    stop: async () => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** pids of the native workers under a server process */
export async function workerPids(serverPid: number): Promise<number[]> {
  const { execFileSync } = await import('node:child_process');
  try {
    const out = execFileSync('pgrep', ['-P', String(serverPid), '-f', 'earshot-whisper-worker'], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** fetch that trusts `ca` (a test CA for a self-signed server certificate). */
export async function trustingFetch(ca: string | Buffer): Promise<typeof fetch> {
  const undici = await import('undici');
  const dispatcher = new undici.Agent({ connect: { ca } });
  return ((input: string | URL, init?: RequestInit) => undici.fetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}
