// GET /api/config: the effective configuration without secrets plus runtime facts (seed 002).
import type { FastifyInstance } from 'fastify';
import { configReport } from '../../app/status.js';
import type { AppContext } from '../context.js';

export async function configRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/api/config', async () => configReport(ctx));
}
