// Model administration: GET /api/models (store + loaded engines), POST /api/models/load (background
// load, warm-up, then an atomic switch of the default), POST /api/models/unload.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

export const loadBody = z.object({
  source: z.string().min(1).max(2048).optional(),
  id: z.string().min(1).max(128).optional(),
  /** make it the default model (atomic swap); false = load beside the default */
  default: z.boolean().default(true),
  /** answer only when loaded (or failed) instead of 202 at once */
  wait: z.boolean().default(false),
});

export async function modelRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const swaps = new Map<string, { state: 'loading' | 'ready' | 'error'; error?: string; started: string }>();

  app.get('/api/models', async () => ({
    default: ctx.engines.defaultModelId ?? null,
    loaded: ctx.engines.list(),
    installed: await ctx.store.list(),
    loads: Object.fromEntries(swaps),
  }));

  app.post('/api/models/load', async (request, reply) => {
    const parsed = loadBody.safeParse(request.body ?? {});
    if (!parsed.success) throw new ApiError(400, 'bad_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const source = parsed.data.source ?? parsed.data.id;
    if (!source) throw new ApiError(400, 'bad_request', 'give "source" (any model source) or "id" (an installed model)', 'source');
    // an API caller's source: no local paths, no private addresses (src/models/sources/policy.ts)
    if (!ctx.store.has(source)) ctx.engines.checkCallerSource(source);
    if (!ctx.store.has(source) && !ctx.engines.canResolve(source)) {
      throw new ApiError(404, 'model_not_found', `"${source}" is neither an installed model nor a source Earshot can fetch`, 'source');
    }
    const job = parsed.data.default ? ctx.engines.swapDefault(source, { caller: true }) : ctx.engines.load(source, { caller: true });
    swaps.set(source, { state: 'loading', started: new Date().toISOString() });
    const done = job.then(
      (m) => {
        swaps.set(source, { state: 'ready', started: swaps.get(source)!.started });
        ctx.log.info({ model: m.id }, parsed.data.default ? 'default model switched' : 'model loaded');
        return m;
      },
      (err: Error) => {
        swaps.set(source, { state: 'error', error: err.message, started: swaps.get(source)!.started });
        ctx.log.error(`loading ${source} failed: ${err.message}`);
        throw err;
      },
    );
    if (!parsed.data.wait) {
      done.catch(() => undefined);
      return reply.status(202).send({ success: true, status: 'loading', source, poll: '/api/models' });
    }
    // failures reach the error handler, which maps them like every other load path's
    const m = await done;
    return { success: true, status: 'ready', id: m.id, default: parsed.data.default };
  });

  app.post('/api/models/unload', async (request) => {
    const id = (request.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') throw new ApiError(400, 'bad_request', '"id" is required', 'id');
    if (id === ctx.engines.defaultModelId) throw new ApiError(409, 'is_default', 'the default model cannot be unloaded; load another as default first', 'id');
    if (!(await ctx.engines.unload(id))) throw new ApiError(404, 'not_loaded', `model "${id}" is not loaded`, 'id');
    return { success: true };
  });
}
