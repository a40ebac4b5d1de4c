// A real S3-compatible server for tests: moto in server mode (PyPI `moto[server]`), started on a free
// local port. If moto is missing it is installed with pip once; if that fails the error says what to run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../src/util/free-port.js';

export const MOTO_INSTALL = `python3 -m pip install 'moto[server]'`;

export interface S3TestServer {
  endpoint: string;
  stop(): Promise<void>;
}

function python(): string {
  return process.env.PYTHON ?? 'python3';
}

function motoAvailable(): boolean {
  return spawnSync(python(), ['-c', 'import moto.server, flask, werkzeug'], { stdio: 'ignore' }).status === 0;
}

function ensureMoto(): void {
  if (motoAvailable()) return;
  const r = spawnSync(python(), ['-m', 'pip', 'install', '--quiet', 'moto[server]'], { encoding: 'utf8' });
  if (r.status !== 0 || !motoAvailable()) {
    throw new Error(
      `the S3 tests need moto's server mode and it could not be installed (${(r.stderr || r.error?.message || '').trim().slice(-500)}); run: ${MOTO_INSTALL}`,
    );
  }
}

/** A client of the test server signing with `credentials` (any pair works on moto), with `bucket` created. */
export async function clientWithBucket(server: S3TestServer, bucket: string, credentials: { accessKeyId: string; secretAccessKey: string }): Promise<S3Client> {
  const client = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return client;
}

/** `host`: the address moto listens on (0.0.0.0 when nodes in other network namespaces must reach it); the endpoint stays 127.0.0.1 */
export async function startS3Server(opts: { host?: string } = {}): Promise<S3TestServer> {
  ensureMoto();
  const port = await freePort();
  const child: ChildProcess = spawn(python(), ['-m', 'moto.server', '-H', opts.host ?? '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  // Never outlive the test process, even if it dies before calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`moto server exited during startup:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto server did not start in time:\n${output}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      await res.body?.cancel();
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    async stop() {
      process.off('exit', killOnExit);
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}
