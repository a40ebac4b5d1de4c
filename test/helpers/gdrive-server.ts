// A local server that speaks Google Drive's public download protocol (drive.usercontent.google.com):
//   GET /download?id=ID&export=download
//     a file Drive scans (small): the bytes, Content-Disposition attachment, Range honoured
//     a file too large to scan: 200 text/html "Virus scan warning" page whose form id="download-form"
//       (method get, action <this server>/download) carries hidden id, export, confirm=t and a uuid
//       minted for this page; submitting it returns the file (Range honoured). A uuid works once.
//     legacy: the older page with an <a href="/download?export=download&amp;confirm=TOKEN&amp;id=ID"> link
//     private: 302 to /ServiceLogin, a sign-in page (what Drive does for files not shared by link)
//     quota: the "Quota exceeded" page in place of the file
//     unknown id: 404
// `dropAfter` cuts the first confirmed download of a file after that many bytes (resume tests).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DriveFile {
  path: string;
  name: string;
  mode?: 'direct' | 'confirm' | 'legacy' | 'private' | 'quota';
  /** bytes after which the first confirmed response is cut off */
  dropAfter?: number;
}

export interface DriveRequest {
  path: string;
  query: Record<string, string>;
  range?: string;
  /** what the server answered: 'file', 'partial', 'page', 'login', 'quota', 'not-found', 'stale-uuid' */
  answer: string;
}

export interface DriveServer {
  /** base URL, the value for EARSHOT_GDRIVE_ENDPOINT */
  url: string;
  requests: DriveRequest[];
  /** uuids handed out in confirmation pages, in order */
  issued: string[];
  close(): Promise<void>;
}

const html = (title: string, body: string) =>
  `<!DOCTYPE html><html><head><title>${title}</title><meta http-equiv="content-type" content="text/html; charset=utf-8"/></head><body>${body}</body></html>`;

export async function startDriveServer(files: Record<string, DriveFile>): Promise<DriveServer> {
  const requests: DriveRequest[] = [];
  const issued: string[] = [];
  const unused = new Set<string>();
  const dropped = new Set<string>();
  let base = '';

  const sendFile = (req: IncomingMessage, res: ServerResponse, id: string, file: DriveFile, entry: DriveRequest) => {
    const bytes = readFileSync(file.path);
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${file.name}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
      'accept-ranges': 'bytes',
    };
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && Number(range[1]) < bytes.length) {
      start = Number(range[1]);
      headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
      res.writeHead(206, { ...headers, 'content-length': bytes.length - start });
      entry.answer = 'partial';
    } else {
      res.writeHead(200, { ...headers, 'content-length': bytes.length });
      entry.answer = 'file';
    }
    const confirmed = entry.query.confirm !== undefined;
    if (confirmed && file.dropAfter !== undefined && !dropped.has(id) && start < file.dropAfter) {
      dropped.add(id);
      res.write(bytes.subarray(start, file.dropAfter), () => res.destroy());
      return;
    }
    res.end(bytes.subarray(start));
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const entry: DriveRequest = { path: url.pathname, query: Object.fromEntries(url.searchParams), answer: '' };
    if (req.headers.range) entry.range = req.headers.range;
    requests.push(entry);
    const page = (status: number, title: string, body: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html(title, body));
    };
    if (url.pathname === '/ServiceLogin') {
      entry.answer = 'login';
      return page(200, 'Google Drive: Sign-in', '<form action="/signin" method="post"><input type="email" name="identifier"></form>');
    }
    const id = url.searchParams.get('id') ?? '';
    const file = Object.hasOwn(files, id) ? files[id] : undefined;
    if (url.pathname !== '/download' || url.searchParams.get('export') !== 'download' || !file) {
      entry.answer = 'not-found';
      return page(404, 'Not Found', '<p>Sorry, the file you have requested does not exist.</p>');
    }
    const mode = file.mode ?? 'direct';
    if (mode === 'private') {
      entry.answer = 'login';
      res.writeHead(302, { location: `${base}/ServiceLogin?continue=${encodeURIComponent(url.href)}` });
      return res.end();
    }
    if (mode === 'quota') {
      entry.answer = 'quota';
      return page(
        200,
        'Google Drive - Quota exceeded',
        '<p>Too many users have viewed or downloaded this file recently. Please try accessing the file again later.</p>',
      );
    }
    if (mode === 'direct') return sendFile(req, res, id, file, entry);
    const uuid = url.searchParams.get('uuid');
    const confirm = url.searchParams.get('confirm');
    if (mode === 'confirm' && confirm === 't' && uuid && unused.delete(uuid)) return sendFile(req, res, id, file, entry);
    if (mode === 'legacy' && confirm && unused.delete(confirm)) return sendFile(req, res, id, file, entry);
    entry.answer = confirm ? 'stale-uuid' : 'page';
    const token = mode === 'confirm' ? randomUUID() : randomUUID().replace(/-/g, '').slice(0, 8);
    issued.push(token);
    unused.add(token);
    const size = `${(readFileSync(file.path).length / 1e6).toFixed(1)}M`;
    const caption = `<p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id=${id}">${file.name}</a> (${size})</span> is too large for Google to scan for viruses. Would you still like to download this file?</p>`;
    if (mode === 'legacy') {
      return page(
        200,
        'Google Drive - Virus scan warning',
        `<div id="uc-text">${caption}<a id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action" href="/download?export=download&amp;confirm=${token}&amp;id=${id}">Download anyway</a></div>`,
      );
    }
    return page(
      200,
      'Google Drive - Virus scan warning',
      `<div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>${caption}<form id="download-form" action="${base}/download" method="get"><input type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/><input type="hidden" name="id" value="${id}"><input type="hidden" name="export" value="download"><input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="${token}"></form></div></div>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
