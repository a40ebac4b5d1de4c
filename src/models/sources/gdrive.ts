// Google Drive as a model source (seed 003's third way to ship a model): a file shared as "anyone
// with the link", named by its id or by any of the links Drive hands out:
//   gdrive://FILE_ID
//   https://drive.google.com/file/d/FILE_ID/view?usp=sharing
//   https://drive.google.com/open?id=FILE_ID
//   https://drive.google.com/uc?id=FILE_ID&export=download   (also docs.google.com/uc)
//   https://drive.usercontent.google.com/download?id=FILE_ID&export=download
// Downloads go to drive.usercontent.google.com/download?id=…&export=download. Small files come back
// as they are; for files Drive will not virus-scan (large ones) it answers an HTML page instead, whose
// "Download anyway" form (id="download-form", hidden inputs id, export, confirm, uuid) is the
// confirmation step: submitting it (a GET to the form's action) returns the file, Range requests
// included, so the resumable downloader works as for any URL. Older pages carried a link with a
// confirm token instead; that form of the step is followed too.
import { gdriveEndpoint } from '../../config/env.js';
import { ModelSourceError } from './errors.js';
import { httpOpener, type OpenResult, type Opener } from './download.js';

export interface DriveLocation {
  fileId: string;
  /** scheme, host and port of Drive's download service (tests point it at a local server) */
  endpoint: string;
}

const ID = /^[A-Za-z0-9_-]{10,200}$/;
const DRIVE_HOSTS = new Set(['drive.google.com', 'docs.google.com', 'drive.usercontent.google.com']);

/** The file id when `text` names a Drive file (gdrive://ID or a Drive link), else undefined. */
export function driveFileId(text: string): string | undefined {
  if (/^gdrive:/i.test(text)) {
    const id = text.replace(/^gdrive:(\/\/)?/i, '').replace(/\/+$/, '');
    if (!ID.test(id)) throw new ModelSourceError('bad_source', `bad Google Drive source "${text}": expected gdrive://FILE_ID`);
    return id;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol) || !DRIVE_HOSTS.has(url.hostname.toLowerCase())) return undefined;
  const fromPath = /^\/file\/(?:u\/\d+\/)?d\/([^/]+)/.exec(url.pathname)?.[1];
  const id = fromPath ?? url.searchParams.get('id') ?? undefined;
  if (!id || !ID.test(id)) {
    throw new ModelSourceError(
      'bad_source',
      `cannot find a file id in the Google Drive link "${text}": share the file ("anyone with the link") and use its link, or gdrive://FILE_ID`,
    );
  }
  return id;
}

export function driveLocation(fileId: string, env?: NodeJS.ProcessEnv): DriveLocation {
  return { fileId, endpoint: gdriveEndpoint(env) };
}

/** The link that starts a download (the confirmation page, for files Drive does not scan). */
export function driveDownloadUrl(loc: DriveLocation): string {
  return `${loc.endpoint}/download?id=${encodeURIComponent(loc.fileId)}&export=download`;
}

/** Interstitial pages are small; anything bigger than this is not one. */
const MAX_PAGE_BYTES = 1 << 20;

/**
 * Opens the file, going through the confirmation page when Drive answers with one. Each call
 * (including a resume) asks Drive afresh: confirmation tokens are single-use and short-lived.
 */
export function driveOpener(loc: DriveLocation, describe: string): Opener {
  const authHint = (status: number) =>
    `${describe}: Google Drive refused the download (HTTP ${status}); share the file as "anyone with the link" (Drive links need no account then)`;
  return async (from, etag, signal) => {
    const first = await httpOpener({ url: driveDownloadUrl(loc), authHint, describe })(from, etag, signal);
    if (!isHtml(first)) return first;
    const pageUrl = first.url ?? driveDownloadUrl(loc);
    const page = await readPage(first, describe);
    const next = confirmationUrl(page, pageUrl);
    if (!next) throw pageError(page, pageUrl, describe);
    const file = await httpOpener({ url: next, authHint, describe })(from, etag, signal);
    if (isHtml(file)) throw pageError(await readPage(file, describe), file.url ?? next, describe);
    return file;
  };
}

function isHtml(res: OpenResult): boolean {
  return /^\s*text\/html/i.test(res.contentType ?? '');
}

async function readPage(res: OpenResult, describe: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAGE_BYTES) {
      res.body.destroy();
      throw new ModelSourceError('unsupported_format', `${describe}: Google Drive answered an HTML page over ${MAX_PAGE_BYTES} bytes instead of the file`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Where the "Download anyway" step leads: the download form's action with its hidden inputs, or
 * (older pages) the link carrying a confirm token. Drive's page is a few hundred bytes of plain,
 * script-free markup, so a tag scan reads it; a full HTML parser would add a dependency for two tags.
 */
export function confirmationUrl(html: string, pageUrl: string): string | undefined {
  const form = /<form\b[^>]*\bid\s*=\s*["']download-form["'][^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (form) {
    const attrs = attributes(form[0].slice(0, form[0].indexOf('>') + 1));
    const method = (attrs.method ?? 'get').toLowerCase();
    if (method !== 'get') return undefined;
    const action = new URL(attrs.action || pageUrl, pageUrl);
    if (!/^https?:$/.test(action.protocol)) return undefined;
    for (const tag of form[1].match(/<input\b[^>]*>/gi) ?? []) {
      const input = attributes(tag);
      if ((input.type ?? '').toLowerCase() === 'hidden' && input.name) action.searchParams.set(input.name, input.value ?? '');
    }
    return action.href;
  }
  const link = /href\s*=\s*["']([^"']*(?:[?&]|&amp;)confirm=[^"']+)["']/i.exec(html);
  if (link) {
    const url = new URL(decodeEntities(link[1]), pageUrl);
    return /^https?:$/.test(url.protocol) ? url.href : undefined;
  }
  return undefined;
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? '';
  });
}

/** What an HTML page instead of the file means, in words a user can act on. */
function pageError(html: string, pageUrl: string, describe: string): ModelSourceError {
  const title = /<title>([^<]*)<\/title>/i.exec(html)?.[1]?.trim() ?? '';
  const text = `${title} ${html.slice(0, 4000)}`;
  if (/quota|too many users/i.test(text)) {
    return new ModelSourceError(
      'network',
      `${describe}: Google Drive's download quota for this file is exceeded ("${title || 'quota exceeded'}"); try again later, or host the model elsewhere (hf://, s3://, https://)`,
    );
  }
  if (new URL(pageUrl).hostname === 'accounts.google.com' || /servicelogin/i.test(pageUrl) || /sign[- ]?in/i.test(text)) {
    return new ModelSourceError(
      'unauthorized',
      `${describe}: Google Drive asks to sign in: the file is not shared publicly; share it as "anyone with the link"`,
    );
  }
  return new ModelSourceError(
    'unsupported_format',
    `${describe}: Google Drive answered a page${title ? ` ("${title}")` : ''} without a download form instead of the file`,
  );
}
