// Route families beyond the seed API, in registration order. Each is a small plugin over AppContext.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.js';

export type RoutePlugin = (app: FastifyInstance, ctx: AppContext) => Promise<void> | void;

export async function serverPlugins(_ctx: AppContext): Promise<RoutePlugin[]> {
  return [];
}
