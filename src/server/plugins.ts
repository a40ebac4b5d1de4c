// Route families beyond the seed API, in registration order. Each is a small plugin over AppContext.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { enrichRoutes } from './routes/enrich.js';
import { historyRoutes } from './routes/history.js';
import { monitorRoutes } from './routes/monitor.js';
import { openAiRoutes } from './routes/openai.js';
import { wsRoutes } from './routes/ws.js';
import { modelRoutes } from './routes/models.js';

export type RoutePlugin = (app: FastifyInstance, ctx: AppContext) => Promise<void> | void;

export async function serverPlugins(ctx: AppContext): Promise<RoutePlugin[]> {
  const plugins: RoutePlugin[] = [openAiRoutes, wsRoutes, modelRoutes, monitorRoutes, historyRoutes, dashboardRoutes];
  if (ctx.enricher) plugins.push(enrichRoutes(ctx.enricher));
  return plugins;
}
