// The dashboard page: one self-contained HTML file built from web/ into web/dist (so it needs no API
// key for assets). GET / serves it to browsers and the JSON status to API clients.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply } from 'fastify';
import { PROJECT_ROOT } from '../version.js';

export const DASHBOARD_DIR = join(PROJECT_ROOT, 'web', 'dist');

interface AcceptItem {
  type: string;
  q: number;
}

function parseAccept(header: string): AcceptItem[] {
  return header
    .split(',')
    .map((part) => {
      const [type, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const value = q ? Number(q.slice(2)) : 1;
      return { type: type!.trim(), q: Number.isFinite(value) ? value : 0 };
    })
    .filter((i) => i.type);
}

/**
 * True when the client asks for HTML by name and likes it at least as much as JSON: browsers send
 * "text/html,...,*\/*;q=0.8"; curl's "*\/*", fetch's default and "application/json" keep JSON.
 */
export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const items = parseAccept(accept);
  const html = items.find((i) => i.type === 'text/html' || i.type === 'application/xhtml+xml');
  if (!html || html.q <= 0) return false;
  const json = items.find((i) => i.type === 'application/json');
  return !json || html.q >= json.q;
}

let cached: { mtimeMs: number; body: Buffer } | undefined;

async function dashboardHtml(): Promise<Buffer | undefined> {
  const file = join(DASHBOARD_DIR, 'index.html');
  try {
    const info = await stat(file);
    if (!cached || cached.mtimeMs !== info.mtimeMs) cached = { mtimeMs: info.mtimeMs, body: await readFile(file) };
    return cached.body;
  } catch {
    return undefined;
  }
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Earshot</title>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Earshot is running</h1><p>The dashboard has not been built in this checkout. Run <code>npm run build:web</code>
(or <code>npm install</code>) and reload. The API works meanwhile: <a href="/health">/health</a>.</p></body></html>`;

export async function sendDashboard(reply: FastifyReply): Promise<FastifyReply> {
  const html = await dashboardHtml();
  reply
    .header('vary', 'Accept')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8');
  if (!html) return reply.status(503).send(NOT_BUILT);
  return reply.send(html);
}
