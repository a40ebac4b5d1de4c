// What a remote caller may make the server fetch. A model source named over the API (/api/models/load,
// the `model` field of any interface) is the caller's text, not the operator's: without this policy it
// could read the server's files (`/etc/…`, `../../`), or make the server fetch internal URLs
// (http://169.254.169.254/, http://localhost:6379/, a router at 192.168.1.1) — directly or through a
// redirect, or through a DNS name that resolves to such an address.
//
// Policy (README, Models, "Sources named by API callers"):
// - The operator (config file, environment, CLI flags, `earshot models pull`) may use any source.
// - An API caller may name installed ids, catalogue names, hf://, https?://, s3:// and pypi: sources,
//   never local paths or file:// — unless `models.allowPrivateSources` is set.
// - Every HTTP hop of a pull a caller started (redirects included) connects only to public addresses:
//   the host is resolved, then each address checked at connect time (what the socket really dials, so a
//   DNS answer that changes between check and use — rebinding — is caught too). Hosts the operator
//   configured (the Hub endpoint, the S3 endpoint, the PyPI index) and `models.allowedHosts` are trusted;
//   `models.allowPrivateSources` lifts the check altogether.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { isPrivateAddress } from '../../util/addresses.js';
import { ModelSourceError } from './errors.js';

export interface SourcePolicy {
  /** let callers name local paths and private-network URLs */
  allowPrivate: boolean;
  /** host names (lowercase) that may be private: configured endpoints and models.allowedHosts */
  trustedHosts: ReadonlySet<string>;
}

export { isPrivateAddress };

const REMOTE_SCHEMES = /^(hf:\/\/|https?:\/\/|s3:\/\/|pypi:)/i;
/** a store id or catalogue name: no slashes, no '..', nothing a filesystem would read as a path */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Refuses a source a remote caller may not name, before anything resolves it (a path is never even
 * tested for existence: that alone would tell the caller which files the server has).
 */
export function checkCallerSource(spec: string, policy: SourcePolicy): void {
  const text = spec.trim();
  if (policy.allowPrivate) return;
  if (REMOTE_SCHEMES.test(text)) {
    if (/^https?:\/\//i.test(text)) {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new ModelSourceError('bad_source', 'not a valid URL');
      }
      checkHostLiteral(url, policy);
    }
    return;
  }
  if (PLAIN_NAME.test(text) && !text.includes('..')) return;
  throw new ModelSourceError(
    'forbidden_source',
    'API callers may name installed models, catalogue names and hf://, https://, s3:// or pypi: sources, not local paths (the operator can allow them: models.allowPrivateSources)',
  );
}

function checkHostLiteral(url: URL, policy: SourcePolicy): void {
  // a trailing dot is the same DNS name ("localhost." is localhost)
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (policy.allowPrivate || policy.trustedHosts.has(host)) return;
  if (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && isPrivateAddress(host))) throw privateRefusal(url.host);
}

function privateRefusal(host: string, address?: string): ModelSourceError {
  return new ModelSourceError(
    'forbidden_source',
    `${host}${address && address !== host ? ` (${address})` : ''} is a private, loopback or link-local address: a source named by an API caller must be public (the operator can allow it: models.allowedHosts or models.allowPrivateSources)`,
  );
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails for private answers: used by the socket itself, so what is checked is what is dialled. */
function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(privateRefusal(hostname, bad.address) as NodeJS.ErrnoException, []);
    if (options.all) return callback(null, list);
    const first = list[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}

let guardedAgent: Agent | undefined;

/**
 * fetch for one hop of a pull a caller started: trusted hosts go as usual; others must be public, by
 * literal address or by every address their name resolves to, checked when the socket connects.
 */
export async function policyFetch(url: string, init: RequestInit, policy: SourcePolicy | undefined): Promise<Response> {
  if (!policy || policy.allowPrivate) return fetch(url, init);
  const u = new URL(url);
  if (policy.trustedHosts.has(u.hostname.replace(/^\[|\]$/g, '').toLowerCase())) return fetch(url, init);
  checkHostLiteral(u, policy);
  guardedAgent ??= new Agent({ connect: { lookup: publicOnlyLookup as never } });
  try {
    return (await undiciFetch(url, { ...(init as object), dispatcher: guardedAgent } as never)) as unknown as Response;
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof ModelSourceError) throw cause;
    throw err;
  }
}

/** The policy for sources callers name, from the config and the endpoints the operator configured. */
export function callerSourcePolicy(opts: { allowPrivateSources: boolean; allowedHosts: string[]; endpoints: Array<string | undefined> }): SourcePolicy {
  const hosts = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
  for (const e of opts.endpoints) {
    if (!e) continue;
    try {
      hosts.add(new URL(e).hostname.replace(/^\[|\]$/g, '').toLowerCase());
    } catch {
      // not a URL: nothing to trust
    }
  }
  return { allowPrivate: opts.allowPrivateSources, trustedHosts: hosts };
}
