// The HTTP server: framework setup, auth, error rendering, route registration.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import type { Readable } from 'node:stream';
import { KeyRing, presentedKey, type Identity } from './auth.js';
import type { AppContext } from './context.js';
import { ApiError, toApiError } from './errors.js';
import { Limits, registerRateLimit } from './limits.js';
import { registerHttpMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { seedRoutes } from './routes/seed.js';
import { readTls } from './tls.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the caller: its API key's name and limits, or its address when no keys are configured */
    identity?: Identity;
  }
}

export interface BuildOptions {
  ctx: AppContext;
  /** extra route plugins (OpenAI, WebSocket, dashboard...) registered after the core ones */
  plugins?: Array<(app: FastifyInstance, ctx: AppContext) => Promise<void> | void>;
}

/**
 * Paths that answer without an API key: probes (/health, /health/live, /health/ready), the dashboard shell, the API description and its
 * viewer (public documentation), and /metrics (which has its own key, metrics.apiKey).
 */
const PUBLIC_PATHS = new Set(['/health', '/health/live', '/health/ready', '/', '/openapi.json', '/metrics']);
const isPublic = (request: FastifyRequest) => PUBLIC_PATHS.has(request.routeOptions.url ?? '') || request.url === '/docs' || request.url.startsWith('/docs/');

export async function buildApp({ ctx, plugins = [] }: BuildOptions): Promise<FastifyInstance> {
  ctx.keys ??= new KeyRing(ctx.config.server);
  let closeLimits: (() => void) | undefined;
  if (!ctx.limits && ctx.cluster) {
    const clustered = Limits.clustered(ctx.cluster, ctx.metrics, ctx.log);
    ctx.limits = clustered.limits;
    closeLimits = clustered.close;
  }
  ctx.limits ??= new Limits(undefined, undefined, ctx.metrics);
  const { keys, limits } = ctx;
  const tls = readTls(ctx.config.server.tls);
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: 1024 * 1024,
    // Uploads can be long; the engine has its own watchdog.
    requestTimeout: 0,
    // a hop count is supported by Fastify (proxy-addr) though its types omit numbers
    trustProxy: ctx.config.server.trustProxy as boolean | string,
    ...(tls ? { https: tls } : {}),
    // errors the router raises before any hook (a path parameter over maxParamLength: 414, a bad URL) in the family's shape too
    frameworkErrors: (error, request, reply) => sendError(request.url, reply, toApiError(error)),
  }) as unknown as FastifyInstance;

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

  // Shutting down: new work is refused (in-flight requests and live sessions are finishing).
  app.addHook('onRequest', async (_request, reply) => {
    if (!ctx.shutdown?.draining) return;
    reply.header('connection', 'close');
    throw new ApiError(503, 'shutting_down', 'the server is shutting down; retry on another instance or after it restarts');
  });
  app.addHook('onRequest', async (request) => {
    if (!keys.enabled) {
      request.identity = keys.anonymous(request.ip);
      return;
    }
    const key = presentedKey(request);
    const identity = key ? keys.match(key) : undefined;
    if (identity) {
      request.identity = identity;
      return;
    }
    request.identity = keys.anonymous(request.ip);
    if (isPublic(request)) return;
    throw new ApiError(401, 'invalid_api_key', 'missing or invalid API key: send "Authorization: Bearer <key>"');
  });
  // After authentication (route-level hooks run after this instance-level one): the caller's own budget.
  await registerRateLimit(app, limits, (request) => request.identity ?? keys.anonymous(request.ip));
  if (ctx.metrics) registerHttpMetrics(app, ctx.metrics);
  await registerOpenApi(app, { auth: keys.enabled });

  app.setErrorHandler((error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(request.url, reply, api);
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `no route for ${request.method} ${request.url.split('?')[0]}`;
    if (request.url.startsWith('/v1/')) {
      return reply.status(404).send({ error: { message, type: 'invalid_request_error', param: null, code: 'not_found' } });
    }
    return reply.status(404).send({ success: false, error: { code: 'not_found', message } });
  });

  if (closeLimits) app.addHook('onClose', async () => closeLimits());
  await app.register(async (instance) => seedRoutes(instance, ctx));
  for (const plugin of plugins) await app.register(async (instance) => plugin(instance, ctx));
  return app;
}

/** An error in its route family's shape: OpenAI's under /v1/, the seed's elsewhere. */
function sendError(url: string, reply: FastifyReply, api: ApiError): FastifyReply {
  if (url.startsWith('/v1/')) {
    return reply.status(api.status).send({ error: { message: api.message, type: openAiErrorType(api.status), param: api.param ?? null, code: api.code } });
  }
  return reply.status(api.status).send({ success: false, error: { code: api.code, message: api.message } });
}

export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
