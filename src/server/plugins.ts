// Route families beyond the seed API, in registration order. Each is a small plugin over AppContext.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.js';
import { configRoutes } from './routes/config.js';
import { enrichRoutes } from './routes/enrich.js';
import { healthRoutes } from './routes/health.js';
import { historyRoutes } from './routes/history.js';
import { jobRoutes } from './routes/jobs.js';
import { modelRoutes } from './routes/models.js';
import { monitorRoutes } from './routes/monitor.js';
import { openAiRoutes } from './routes/openai.js';
import { wsRoutes } from './routes/ws.js';
import { realtimeRoutes } from './routes/realtime.js';

export type RoutePlugin = (app: FastifyInstance, ctx: AppContext) => Promise<void> | void;

export async function serverPlugins(ctx: AppContext): Promise<RoutePlugin[]> {
  const plugins: RoutePlugin[] = [healthRoutes, openAiRoutes, wsRoutes, realtimeRoutes, modelRoutes, monitorRoutes, historyRoutes, jobRoutes, configRoutes];
  if (ctx.enricher) plugins.push(enrichRoutes(ctx.enricher));
  return plugins;
}
