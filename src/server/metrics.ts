// GET /metrics (Prometheus text format) and the HTTP request metrics. /metrics can also live on its
// own port (metrics.port) so it need not be exposed with the API, and can require its own key.
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Metrics } from '../app/metrics.js';
import type { Config } from '../config/schema.js';

/** Counts every answered request by route pattern (never the raw URL: ids would explode the label set). */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return; // scrapes would swamp the series they read
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
}

const digest = (v: string) => createHash('sha256').update(v).digest();

function authorised(request: FastifyRequest, key: string | undefined): boolean {
  if (!key) return true;
  const header = request.headers.authorization;
  const presented = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
  return timingSafeEqual(digest(presented), digest(key));
}

async function serveMetrics(metrics: Metrics, config: Config['metrics'], request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  if (!authorised(request, config.apiKey)) {
    return reply
      .status(401)
      .header('www-authenticate', 'Bearer realm="metrics"')
      .type('text/plain')
      .send('metrics need "Authorization: Bearer <metrics.apiKey>"\n');
  }
  const { contentType, body } = await metrics.text();
  return reply.type(contentType).send(body);
}

const metricsSchema = {
  summary: 'Prometheus metrics',
  description: 'Prometheus text exposition format. Requires "Authorization: Bearer <metrics.apiKey>" when that is configured; API keys do not apply.',
  tags: ['operations'],
  security: [],
  response: {
    200: { description: 'metrics in the Prometheus text format', type: 'string' },
    401: { description: 'metrics key missing or wrong', type: 'string' },
  },
};

/** GET /metrics on the API port (metrics.port 0). */
export function metricsRoute(metrics: Metrics, config: Config['metrics']) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/metrics', { schema: metricsSchema, config: { rateLimit: false } }, (request, reply) => serveMetrics(metrics, config, request, reply));
  };
}

/** A second, metrics-only HTTP server (metrics.port > 0) on the API's host. */
export async function startMetricsServer(metrics: Metrics, config: Config['metrics'], host: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/metrics', (request, reply) => serveMetrics(metrics, config, request, reply));
  await app.listen({ host, port: config.port });
  return app;
}
