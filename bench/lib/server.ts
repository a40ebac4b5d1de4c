// A real Earshot server (node bin/earshot.js serve) as a child process, on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR } from './faster-whisper.js';
import { freePort } from '../../src/util/free-port.js';

export interface BenchServer {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServerOptions {
  model: string;
  threads?: number;
  parallel?: number;
  /** extra `earshot serve` arguments */
  args?: string[];
  /** extra environment (e.g. EARSHOT_METRICS=false for a peer without metrics) */
  env?: Record<string, string>;
  /** config file contents (default: history off, warnings only) */
  config?: Record<string, unknown>;
}

export async function startServer(opts: ServerOptions): Promise<BenchServer> {
  const port = await freePort();
  // History off unless asked: a benchmark must not fill the user's transcript history.
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(opts.config ?? { history: { enabled: false }, logLevel: 'warn' }));
  const args = [
    join(BENCH_DIR, '..', 'bin', 'earshot.js'),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--model',
    opts.model,
    '--device',
    'cpu',
    '--config',
    configFile,
  ];
  if (opts.threads) args.push('--threads', String(opts.threads));
  if (opts.parallel) args.push('--parallel', String(opts.parallel));
  if (opts.args) args.push(...opts.args);
  const child = spawn(process.execPath, args, { cwd: join(BENCH_DIR, '..'), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`server exited during startup:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server not ready in 120 s:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid!, child, stop };
}
