// Request helpers shared by the route families (routes never import each other).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { normalizeLanguage } from '../engines/languages.js';
import { ApiError } from './errors.js';

/** Parses the language field shared by the seed and OpenAI endpoints (422 when unknown). */
export function parseLanguage(value: string | undefined, param = 'language'): string | undefined {
  try {
    return normalizeLanguage(value);
  } catch (err) {
    throw new ApiError(422, 'invalid_language', (err as Error).message, param);
  }
}

/** Aborts the engine job when the client goes away before the answer. */
export function abortOnDisconnect(request: FastifyRequest, reply: FastifyReply): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.sent && !reply.raw.writableEnded) controller.abort();
  };
  request.raw.on('close', onClose);
  return { signal: controller.signal, done: () => request.raw.off('close', onClose) };
}
