// Completion webhooks, signed the Standard Webhooks way (standardwebhooks.com), so receivers can use
// that spec's libraries: headers webhook-id, webhook-timestamp and webhook-signature =
// "v1,<base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`>". A "whsec_<base64>" secret is decoded as the
// spec says; any other string is used as its UTF-8 bytes.
import { createHmac } from 'node:crypto';
import { guardedRequest } from './fetch.js';
import { JobSourceError } from './errors.js';

export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export interface WebhookOptions {
  secret?: string;
  allowPrivate: boolean;
  timeoutMs: number;
}

/** One delivery attempt: resolves on a 2xx answer, throws otherwise (the caller retries). */
export async function deliverWebhook(url: string, messageId: string, payload: unknown, opts: WebhookOptions): Promise<void> {
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'earshot-webhook',
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
  };
  if (opts.secret) headers['webhook-signature'] = signWebhook(opts.secret, messageId, timestamp, body);
  const res = await guardedRequest(url, { method: 'POST', headers, body, allowPrivate: opts.allowPrivate, timeoutMs: opts.timeoutMs });
  res.resume();
  if (!res.statusCode || res.statusCode < 200 || res.statusCode >= 300) {
    throw new JobSourceError('webhook_failed', `webhook ${new URL(url).host} answered ${res.statusCode}`);
  }
}
