// HTTP(S) for the addresses clients give jobs — a source URL to transcribe, a webhook to call — with an
// SSRF guard: unless allowed, no connection goes to loopback, private, link-local, CGNAT, multicast or
// reserved addresses. The check runs inside the socket's own DNS lookup, so the address connected to
// is the address checked (a name that resolves differently the second time gains nothing), and again
// on every redirect. Plain node:http rather than fetch: it lets us own that lookup without a dependency.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { isPrivateAddress } from '../util/addresses.js';
import { JobSourceError } from './errors.js';

export { isPrivateAddress };

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const e = Object.assign(
        new Error(`${hostname} resolves to ${bad.address}, a loopback/private address; such URLs are refused (jobs.allowPrivateNetworks)`),
        {
          code: 'EPRIVATEADDR',
        },
      );
      return callback(e, '');
    }
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

export interface GuardedRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  allowPrivate: boolean;
  signal?: AbortSignal;
  timeoutMs: number;
  /** redirects followed (GET only) */
  maxRedirects?: number;
}

/** Checks a client-given URL before anything is queued: scheme, and a literal address in it. */
export function checkUrl(raw: string, allowPrivate: boolean, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new JobSourceError('invalid_url', `${what} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new JobSourceError('invalid_url', `${what} must be an http:// or https:// URL`);
  if (url.username || url.password) throw new JobSourceError('invalid_url', `${what} must not carry credentials`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isPrivateAddress(host)))) {
    throw new JobSourceError('forbidden_url', `${what} points at a loopback/private address; such URLs are refused (jobs.allowPrivateNetworks)`);
  }
  return url;
}

/** One request through the guard; redirects followed for GET. Resolves with the response (any status). */
export async function guardedRequest(raw: string, opts: GuardedRequest): Promise<IncomingMessage> {
  let url = checkUrl(raw, opts.allowPrivate, 'the URL');
  for (let hop = 0; ; hop++) {
    const res = await once(url, opts);
    const location = res.headers.location;
    if ((opts.method ?? 'GET') === 'GET' && location && res.statusCode && res.statusCode >= 300 && res.statusCode < 400) {
      res.resume();
      if (hop >= (opts.maxRedirects ?? 5)) throw new JobSourceError('fetch_failed', `${url.host}: too many redirects`);
      url = checkUrl(new URL(location, url).href, opts.allowPrivate, 'a redirect');
      continue;
    }
    return res;
  }
}

function once(url: URL, opts: GuardedRequest): Promise<IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        signal: opts.signal,
        timeout: opts.timeoutMs,
        ...(opts.allowPrivate ? {} : { lookup: guardedLookup as never }),
      },
      resolve,
    );
    req.once('timeout', () => req.destroy(Object.assign(new Error(`${url.host}: no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.once('error', (err: NodeJS.ErrnoException) => {
      if (opts.signal?.aborted) return reject(err);
      const code = err.code === 'EPRIVATEADDR' ? 'forbidden_url' : 'fetch_failed';
      reject(new JobSourceError(code, err.code === 'EPRIVATEADDR' ? err.message : `${url.host}: ${err.message}`, { cause: err }));
    });
    req.end(opts.body);
  });
}

/** GETs a source URL for transcription: the body stream when 2xx, else a clear error. */
export async function openUrl(
  raw: string,
  opts: Omit<GuardedRequest, 'method' | 'body'>,
): Promise<{ body: Readable; contentType?: string; filename?: string }> {
  const res = await guardedRequest(raw, opts);
  if (!res.statusCode || res.statusCode < 200 || res.statusCode >= 300) {
    res.resume();
    throw new JobSourceError('fetch_failed', `${new URL(raw).host} answered ${res.statusCode} for the source URL`);
  }
  const name = new URL(raw).pathname.split('/').pop() || undefined;
  return { body: res, contentType: res.headers['content-type'], filename: name };
}
