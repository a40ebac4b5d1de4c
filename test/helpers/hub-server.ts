// A local stand-in for the Hugging Face Hub that speaks its download protocol: /{repo}/resolve/{rev}/{path}
// answering LFS files with a 302 to a CDN path (X-Linked-Etag = sha256, X-Linked-Size, X-Repo-Commit),
// small files directly (ETag = git blob id), Range / If-Range on downloads (206), 401 for private repos
// without the token, 404 with X-Error-Code, and the /api/models/{repo}/revision/{rev} and tree APIs.
// Serves real files from disk; optionally throttled so a test can interrupt a download halfway.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRepoSpec {
  /** repo path → file on disk */
  files: Record<string, string>;
  private?: boolean;
}

export interface HubServerOptions {
  repos: Record<string, HubRepoSpec>;
  /** the token private repos accept */
  token?: string;
  /** CDN bytes per second; 0 = as fast as possible */
  throttleBytesPerSec?: number;
  /** files at least this large are LFS (default 1 MiB) */
  lfsThreshold?: number;
}

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  ifRange?: string;
  authorized: boolean;
  status: number;
  /** body bytes written so far (updated live) */
  bytesSent: number;
}

interface HubFileState {
  disk: string;
  size: number;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
  /** what X-Linked-Etag says (tests can make it lie) */
  advertisedSha256: string;
}

interface HubRepoState {
  private: boolean;
  commit: string;
  files: Map<string, HubFileState>;
}

export interface HubServer {
  url: string;
  requests: HubRequest[];
  /** requests to the CDN for a given repo file (the actual downloads) */
  downloads(repo: string, path: string): HubRequest[];
  setThrottle(bytesPerSec: number): void;
  /** replaces a file's content (new commit), as a push to the repo would */
  replaceFile(repo: string, path: string, disk: string): Promise<void>;
  /** makes X-Linked-Etag / the API advertise a wrong sha256 for a file */
  lieAboutSha256(repo: string, path: string, sha256: string): void;
  close(): Promise<void>;
}

async function digestFile(path: string): Promise<{ sha256: string; gitSha1: string; size: number }> {
  const size = statSync(path).size;
  const sha = createHash('sha256');
  const git = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) {
    sha.update(chunk as Buffer);
    git.update(chunk as Buffer);
  }
  return { sha256: sha.digest('hex'), gitSha1: git.digest('hex'), size };
}

function randomCommit(): string {
  return createHash('sha1').update(String(Math.random())).digest('hex');
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const lfsThreshold = opts.lfsThreshold ?? 1024 * 1024;
  let throttle = opts.throttleBytesPerSec ?? 0;
  const repos = new Map<string, HubRepoState>();
  const fileState = async (disk: string): Promise<HubFileState> => {
    const d = await digestFile(disk);
    return { disk, size: d.size, sha256: d.sha256, gitSha1: d.gitSha1, lfs: d.size >= lfsThreshold, advertisedSha256: d.sha256 };
  };
  for (const [name, spec] of Object.entries(opts.repos)) {
    const files = new Map<string, HubFileState>();
    for (const [path, disk] of Object.entries(spec.files)) files.set(path, await fileState(disk));
    repos.set(name, { private: Boolean(spec.private), commit: randomCommit(), files });
  }
  const requests: HubRequest[] = [];

  // The CDN is another origin (another port), as on the real Hub: tokens must not follow redirects there.
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const log: HubRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      authorized: req.headers.authorization === `Bearer ${opts.token}`,
      status: 0,
      bytesSent: 0,
    };
    if (req.headers.range) log.range = req.headers.range;
    if (req.headers['if-range']) log.ifRange = String(req.headers['if-range']);
    requests.push(log);
    res.on('finish', () => (log.status = res.statusCode));
    handle(req, res, url, log).catch((err) => {
      if (!res.headersSent) send(res, 500, { error: String(err) });
      else res.destroy();
    });
  };
  const server: Server = createServer(handler);
  const cdnServer: Server = createServer(handler);
  let cdnBase = '';

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  /** 404 / 401 the way the Hub answers them; undefined when the repo can be read. */
  function repoFor(name: string, log: HubRequest, res: ServerResponse): HubRepoState | undefined {
    const repo = repos.get(name);
    if (!repo) {
      send(res, 404, { error: 'Repository Not Found' }, { 'x-error-code': 'RepoNotFound' });
      return undefined;
    }
    if (repo.private && !log.authorized) {
      send(res, 401, { error: 'Invalid credentials in Authorization header' }, { 'x-error-code': 'RepoNotFound' });
      return undefined;
    }
    return repo;
  }

  function revisionOk(repo: HubRepoState, rev: string): boolean {
    return rev === 'main' || rev === repo.commit;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, log: HubRequest): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);

    // CDN: /cdn-lfs/{sha256} (no auth, like a presigned URL)
    if (parts[0] === 'cdn-lfs' && parts.length === 2) {
      for (const repo of repos.values()) {
        for (const file of repo.files.values()) {
          if (file.sha256 === parts[1]) return serveBytes(req, res, file, `"${file.sha256}"`, log);
        }
      }
      return send(res, 404, { error: 'NoSuchKey' });
    }

    // API: /api/models/{owner}/{name}/revision/{rev} and /tree/{rev}[/{path}]
    if (parts[0] === 'api' && parts[1] === 'models' && parts.length >= 5) {
      const name = `${parts[2]}/${parts[3]}`;
      const repo = repoFor(name, log, res);
      if (!repo) return;
      const rev = parts[5];
      if (!rev || !revisionOk(repo, rev)) return send(res, 404, { error: `Invalid rev id: ${rev}` }, { 'x-error-code': 'RevisionNotFound' });
      if (parts[4] === 'revision') {
        const blobs = url.searchParams.get('blobs') === 'true' || url.searchParams.get('blobs') === '1';
        const siblings = [...repo.files.entries()].map(([path, f]) => {
          const s: Record<string, unknown> = { rfilename: path };
          if (blobs) {
            s.size = f.size;
            s.blobId = f.lfs ? createHash('sha1').update(`pointer ${f.sha256}`).digest('hex') : f.gitSha1;
            if (f.lfs) s.lfs = { sha256: f.advertisedSha256, size: f.size, pointerSize: 134 };
          }
          return s;
        });
        return send(res, 200, { _id: name, id: name, modelId: name, sha: repo.commit, private: repo.private, siblings });
      }
      if (parts[4] === 'tree') {
        const prefix = parts.slice(6).join('/');
        const recursive = url.searchParams.get('recursive') === 'true' || url.searchParams.get('recursive') === '1';
        const entries: Array<Record<string, unknown>> = [];
        const dirs = new Set<string>();
        for (const [path, f] of repo.files) {
          if (prefix && !path.startsWith(`${prefix}/`)) continue;
          const rest = prefix ? path.slice(prefix.length + 1) : path;
          if (!recursive && rest.includes('/')) {
            const dir = (prefix ? `${prefix}/` : '') + rest.split('/')[0];
            if (!dirs.has(dir)) {
              dirs.add(dir);
              entries.push({ type: 'directory', oid: createHash('sha1').update(dir).digest('hex'), size: 0, path: dir });
            }
            continue;
          }
          const e: Record<string, unknown> = { type: 'file', oid: f.gitSha1, size: f.size, path };
          if (f.lfs) e.lfs = { oid: f.advertisedSha256, size: f.size, pointerSize: 134 };
          entries.push(e);
        }
        if (prefix && entries.length === 0) return send(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
        return send(res, 200, entries);
      }
      return send(res, 404, { error: 'not found' });
    }

    // Downloads: /{owner}/{name}/resolve/{rev}/{path...}
    if (parts.length >= 5 && parts[2] === 'resolve') {
      const name = `${parts[0]}/${parts[1]}`;
      const repo = repoFor(name, log, res);
      if (!repo) return;
      const rev = parts[3];
      if (!revisionOk(repo, rev)) return send(res, 404, { error: 'Invalid rev id' }, { 'x-error-code': 'RevisionNotFound' });
      const path = parts.slice(4).join('/');
      const file = repo.files.get(path);
      if (!file) return send(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      const common = { 'x-repo-commit': repo.commit, 'accept-ranges': 'bytes' };
      if (file.lfs) {
        res.writeHead(302, {
          ...common,
          location: `${cdnBase}/cdn-lfs/${file.sha256}?response-content-disposition=attachment&X-Amz-Signature=${randomCommit()}`,
          etag: `"${file.advertisedSha256}"`,
          'x-linked-etag': `"${file.advertisedSha256}"`,
          'x-linked-size': String(file.size),
          'content-length': '0',
        });
        res.end();
        return;
      }
      return serveBytes(req, res, file, `"${file.gitSha1}"`, log, common);
    }

    send(res, 404, { error: 'not found' });
  }

  async function serveBytes(
    req: IncomingMessage,
    res: ServerResponse,
    file: HubFileState,
    etag: string,
    log: HubRequest,
    extra: Record<string, string> = {},
  ): Promise<void> {
    let start = 0;
    let end = file.size - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= file.size) {
        res.writeHead(416, { 'content-range': `bytes */${file.size}`, etag });
        res.end();
        return;
      }
      status = 206;
    }
    const headers: Record<string, string> = {
      ...extra,
      etag,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': String(end - start + 1),
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    let closed = false;
    const gone = new Promise<void>((r) =>
      res.once('close', () => {
        closed = true;
        r();
      }),
    );
    const began = Date.now();
    let sent = 0;
    for await (const chunk of createReadStream(file.disk, { start, end, highWaterMark: 64 * 1024 })) {
      if (closed) break;
      const buf = chunk as Buffer;
      if (!res.write(buf)) await Promise.race([new Promise<void>((r) => res.once('drain', r)), gone]);
      sent += buf.length;
      log.bytesSent = sent;
      if (throttle > 0) {
        const ahead = (sent / throttle) * 1000 - (Date.now() - began);
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
    }
    if (!closed) res.end();
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => cdnServer.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  cdnBase = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    downloads(repo, path) {
      const file = repos.get(repo)?.files.get(path);
      if (!file) return [];
      const cdn = `/cdn-lfs/${file.sha256}`;
      const direct = `/${repo}/resolve/`;
      return requests.filter((r) => r.method === 'GET' && (file.lfs ? r.path === cdn : r.path.startsWith(direct) && r.path.endsWith(`/${path}`)));
    },
    setThrottle(bps) {
      throttle = bps;
    },
    async replaceFile(repo, path, disk) {
      const state = repos.get(repo);
      if (!state) throw new Error(`no repo ${repo}`);
      state.files.set(path, await fileState(disk));
      state.commit = randomCommit();
    },
    lieAboutSha256(repo, path, sha256) {
      const file = repos.get(repo)?.files.get(path);
      if (!file) throw new Error(`no file ${repo}/${path}`);
      file.advertisedSha256 = sha256;
    },
    async close() {
      for (const srv of [server, cdnServer]) {
        srv.closeAllConnections();
        await new Promise<void>((r) => srv.close(() => r()));
      }
    },
  };
}
