// GET /health/live and GET /health/ready (the probes of a balancer or an orchestrator; /health itself
// keeps seed 004's answer). Live is 200 while the process serves HTTP; ready is 200 only when the
// model is loaded and the configured PostgreSQL and Redis answer, else 503 with the reasons.
import type { FastifyInstance } from 'fastify';
import { readiness } from '../../app/readiness.js';
import type { AppContext } from '../context.js';

export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/health/live', { config: { rateLimit: false } }, async () => ({ status: 'ok', node: ctx.node }));

  app.get('/health/ready', { config: { rateLimit: false } }, async (_request, reply) => {
    const r = await readiness(ctx, ctx.shutdown?.draining ?? false);
    const failing = Object.entries(r.checks)
      .filter(([, c]) => !c.ok)
      .map(([name, c]) => `${name}: ${c.error}`);
    return reply
      .status(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not_ready', node: r.node, checks: r.checks, ...(failing.length ? { reasons: failing } : {}) });
  });
}
