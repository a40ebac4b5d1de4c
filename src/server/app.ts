// The HTTP server: framework setup, auth, error rendering, route registration.
import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import type { Readable } from 'node:stream';
import type { AppContext } from './context.js';
import { ApiError, toApiError } from './errors.js';
import { seedRoutes } from './routes/seed.js';

export interface BuildOptions {
  ctx: AppContext;
  /** extra route plugins (OpenAI, WebSocket, dashboard...) registered after the core ones */
  plugins?: Array<(app: FastifyInstance, ctx: AppContext) => Promise<void> | void>;
}

/** Paths that must answer without an API key (probes, the dashboard shell). */
const PUBLIC_PATHS = new Set(['/health', '/']);

export async function buildApp({ ctx, plugins = [] }: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: 1024 * 1024,
    // Uploads can be long; the engine has its own watchdog.
    requestTimeout: 0,
  });

  await app.register(multipart, {
    limits: {
      fileSize: ctx.config.limits.maxUploadBytes,
      files: 2,
      fields: 32,
      fieldSize: 64 * 1024,
      parts: 40,
    },
  });
  await app.register(websocket, { options: { maxPayload: 4 * 1024 * 1024 } });

  // Bare audio bodies are passed through as a stream to the decoder.
  const passStream = (_req: unknown, payload: Readable, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
  app.addContentTypeParser('application/octet-stream', passStream);
  app.addContentTypeParser(/^(audio|video)\//, passStream);

  app.addHook('onRequest', async (request) => {
    const keys = ctx.config.server.apiKeys;
    if (keys.length === 0 || PUBLIC_PATHS.has(request.routeOptions.url ?? '')) return;
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const key =
      bearer ??
      (request.headers['x-api-key'] as string | undefined) ??
      (request.query as Record<string, string> | undefined)?.api_key ??
      subprotocolKey(request.headers['sec-websocket-protocol']);
    if (!key || !keys.includes(key)) throw new ApiError(401, 'invalid_api_key', 'missing or invalid API key: send "Authorization: Bearer <key>"');
  });

  app.setErrorHandler((error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500) request.log.error({ err: error }, 'request failed');
    const url = request.url;
    if (url.startsWith('/v1/')) {
      return reply.status(api.status).send({ error: { message: api.message, type: openAiErrorType(api.status), param: api.param ?? null, code: api.code } });
    }
    return reply.status(api.status).send({ success: false, error: { code: api.code, message: api.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `no route for ${request.method} ${request.url.split('?')[0]}`;
    if (request.url.startsWith('/v1/')) {
      return reply.status(404).send({ error: { message, type: 'invalid_request_error', param: null, code: 'not_found' } });
    }
    return reply.status(404).send({ success: false, error: { code: 'not_found', message } });
  });

  await app.register(async (instance) => seedRoutes(instance, ctx));
  for (const plugin of plugins) await app.register(async (instance) => plugin(instance, ctx));
  return app;
}

/** Browsers cannot set headers on a WebSocket: OpenAI's clients send the key as a subprotocol instead. */
function subprotocolKey(header: string | string[] | undefined): string | undefined {
  const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim());
  return list.find((p) => p.startsWith('openai-insecure-api-key.'))?.slice('openai-insecure-api-key.'.length) || undefined;
}

export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
