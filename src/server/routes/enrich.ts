// POST /api/enrich {text, language?, sessionId?, utteranceId?} → the keywords object (the same shape as on
// /ws, /transcribe and the OpenAI routes);
// GET /api/enrich/state → the Enricher's health (LLM reachability, breaker, queue) for the dashboard.
// The Enricher is built once at startup and shared with the WebSocket route, so it is passed in.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keywordsOf } from '../../app/events.js';
import { wireKeywords } from '../../app/wire.js';
import type { Enricher } from '../../pipeline/enrich/index.js';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

const MAX_TEXT = 10_000;

export const enrichBody = z.object({
  text: z.string().max(MAX_TEXT, `text is longer than ${MAX_TEXT} characters`),
  language: z.string().max(16).optional(),
  sessionId: z.string().max(200).optional(),
  utteranceId: z.string().max(200).optional(),
});

/** A route plugin for buildApp({plugins}) / serverPlugins(). */
export function enrichRoutes(enricher: Enricher) {
  return async function register(app: FastifyInstance, _ctx: AppContext): Promise<void> {
    app.post('/api/enrich', async (request, reply) => {
      const parsed = enrichBody.safeParse(request.body ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue.path.join('.') || 'body';
        throw new ApiError(400, 'bad_request', `${field}: ${issue.message}`, field);
      }
      if (!enricher.config.enabled) throw new ApiError(503, 'enrichment_disabled', 'enrichment is disabled on this server (EARSHOT_ENRICH=false)');

      // a client that hangs up stops its LLM call
      const controller = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const result = await enricher.enrich({ ...parsed.data, signal: controller.signal });
        // the keywords object every endpoint answers, plus what this request named
        return {
          success: true,
          ...wireKeywords(keywordsOf(result)),
          language: result.language,
          utterance_id: result.utteranceId ?? null,
          session_id: result.sessionId ?? null,
          ...(result.error ? { error: result.error } : {}),
        };
      } finally {
        reply.raw.off('close', onClose);
      }
    });

    app.get('/api/enrich/state', async () => enricher.state());
  };
}
