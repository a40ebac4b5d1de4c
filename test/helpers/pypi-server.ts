// A local package index that speaks PyPI's "simple" protocol: /simple/<normalized-name>/ answers
// PEP 691 JSON (when the client accepts application/vnd.pypi.simple.v1+json) or PEP 503 HTML with
// "#sha256=" fragments, and /files/<name> serves the wheels from disk. Wheel hashes are computed
// from the files; a test can make the index advertise a different one.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';

export interface PypiServer {
  /** the index URL, e.g. http://127.0.0.1:1234/simple */
  index: string;
  /** paths requested, in order */
  requests: string[];
  close(): Promise<void>;
}

interface Entry {
  filename: string;
  path: string;
  sha256: string;
  size: number;
}

/** `projects`: project name → wheel files on disk. `format` forces one index format. */
export async function startPypiServer(opts: {
  projects: Record<string, string[]>;
  format?: 'json' | 'html';
  advertise?: Record<string, string>;
}): Promise<PypiServer> {
  const normalize = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
  const projects = new Map<string, Entry[]>();
  const files = new Map<string, Entry>();
  for (const [name, paths] of Object.entries(opts.projects)) {
    const entries = paths.map((path) => {
      const filename = basename(path);
      const sha256 = opts.advertise?.[filename] ?? createHash('sha256').update(readFileSync(path)).digest('hex');
      const entry = { filename, path, sha256, size: statSync(path).size };
      files.set(filename, entry);
      return entry;
    });
    projects.set(normalize(name), entries);
  }
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname);
    const project = /^\/simple\/([^/]+)\/$/.exec(url.pathname)?.[1];
    if (project !== undefined) {
      const entries = projects.get(project);
      if (!entries) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
        return;
      }
      const wantsJson = opts.format === 'json' || (opts.format !== 'html' && (req.headers.accept ?? '').includes('application/vnd.pypi.simple.v1+json'));
      if (wantsJson) {
        const body = {
          meta: { 'api-version': '1.1' },
          name: project,
          files: entries.map((e) => ({ filename: e.filename, url: `../../files/${e.filename}`, hashes: { sha256: e.sha256 }, size: e.size, yanked: false })),
        };
        res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' }).end(JSON.stringify(body));
      } else {
        const links = entries.map((e) => `<a href="/files/${e.filename}#sha256=${e.sha256}">${e.filename}</a><br/>`).join('\n');
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body><h1>Links for ${project}</h1>\n${links}\n</body></html>`);
      }
      return;
    }
    const file = /^\/files\/([^/]+)$/.exec(url.pathname)?.[1];
    const entry = file ? files.get(decodeURIComponent(file)) : undefined;
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.size });
    createReadStream(entry.path).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    index: `http://127.0.0.1:${port}/simple`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
