// Who is calling: an API key (by name, with its own limits) or, when no keys are configured, the
// client IP. Keys are compared in constant time and never logged; logs and metrics see the name only.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';

export interface Identity {
  /** rate-limit and session-count key: "key:<name>" or "ip:<address>" */
  id: string;
  /** for logs: the key's name, or the client address */
  name: string;
  kind: 'key' | 'ip';
  /** requests per minute; 0 = unlimited */
  rateLimitPerMinute: number;
  /** concurrent live sessions; 0 = unlimited */
  maxLiveSessions: number;
}

interface KeyEntry {
  name: string;
  digest: Buffer;
  rateLimitPerMinute: number;
  maxLiveSessions: number;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export class KeyRing {
  private readonly entries: KeyEntry[];
  private readonly defaults: { rateLimitPerMinute: number; maxLiveSessions: number };

  constructor(server: Config['server']) {
    this.defaults = { rateLimitPerMinute: server.rateLimitPerMinute, maxLiveSessions: server.maxLiveSessions };
    const names = new Set<string>();
    this.entries = [
      ...server.keys.map((k) => ({
        name: k.name,
        digest: digest(k.key),
        rateLimitPerMinute: k.rateLimitPerMinute ?? this.defaults.rateLimitPerMinute,
        maxLiveSessions: k.maxLiveSessions ?? this.defaults.maxLiveSessions,
      })),
      // plain apiKeys (flags, env) are named by position
      ...server.apiKeys.map((k, i) => ({ name: `key${i + 1}`, digest: digest(k), ...this.defaults })),
    ];
    for (const e of this.entries) {
      if (names.has(e.name)) throw new Error(`API key name "${e.name}" is used twice in server.keys`);
      names.add(e.name);
    }
  }

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /**
   * The key's entry, or undefined. Every configured key is compared (fixed-length digests,
   * timingSafeEqual, no early exit) so the time taken says nothing about which key or prefix matched.
   */
  match(presented: string): Identity | undefined {
    const d = digest(presented);
    let found: KeyEntry | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && !found) found = e;
    if (!found) return undefined;
    return { id: `key:${found.name}`, name: found.name, kind: 'key', rateLimitPerMinute: found.rateLimitPerMinute, maxLiveSessions: found.maxLiveSessions };
  }

  /** Identity of a caller without a (valid) key: its address, with the server-wide limits. */
  anonymous(ip: string): Identity {
    return { id: `ip:${ip}`, name: ip, kind: 'ip', ...this.defaults };
  }
}

/**
 * The key a request presents: "Authorization: Bearer", X-API-Key, ?api_key= (browsers' WebSockets), or
 * the `openai-insecure-api-key.<key>` WebSocket subprotocol (OpenAI's Realtime clients in browsers).
 */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const x = request.headers['x-api-key'];
  if (typeof x === 'string' && x) return x;
  const q = (request.query as Record<string, unknown> | undefined)?.api_key;
  if (typeof q === 'string' && q) return q;
  return subprotocolKey(request.headers['sec-websocket-protocol']);
}

/** Browsers cannot set headers on a WebSocket: OpenAI's clients send the key as a subprotocol instead. */
function subprotocolKey(header: string | string[] | undefined): string | undefined {
  const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim());
  return list.find((p) => p.startsWith('openai-insecure-api-key.'))?.slice('openai-insecure-api-key.'.length) || undefined;
}

/** A URL fit for logs: the api_key query parameter masked. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]api_key=)[^&#]*/gi, '$1***');
}

/** Fastify's request log serializer with the api_key query parameter masked (headers are never logged). */
export function logRequest(req: {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}): Record<string, unknown> {
  return {
    method: req.method,
    url: redactUrl(req.url ?? ''),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
