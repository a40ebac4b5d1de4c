// Request helpers shared by the route families (routes never import each other).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ENGINE_OVERRIDES, type EngineOverride } from '../engines/manager.js';
import { normalizeLanguage } from '../util/languages.js';
import { ApiError } from './errors.js';

/** Parses the language field shared by the seed and OpenAI endpoints (422 when unknown). */
export function parseLanguage(value: string | undefined, param = 'language'): string | undefined {
  try {
    return normalizeLanguage(value);
  } catch (err) {
    throw new ApiError(422, 'invalid_language', (err as Error).message, param);
  }
}

/** Parses a request's `engine` field (whisper | ct2); whether the model can run there is the engine manager's answer. */
export function parseEngine(value: string | undefined, status: 400 | 422 = 422): EngineOverride | undefined {
  if (value === undefined || value === '') return undefined;
  if ((ENGINE_OVERRIDES as readonly string[]).includes(value)) return value as EngineOverride;
  throw new ApiError(
    status,
    status === 400 ? 'invalid_value' : 'invalid_parameter',
    `engine must be one of ${ENGINE_OVERRIDES.join(', ')}, not "${value}"`,
    'engine',
  );
}

/**
 * Aborts the engine job when the client goes away before the answer. The response's 'close' is the
 * signal: the request's own 'close' fires as soon as its body has been read (Node >= 16), which for an
 * upload is before decoding even starts, so listening there never saw a later disconnect.
 */
export function abortOnDisconnect(request: FastifyRequest, reply: FastifyReply): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  reply.raw.on('close', onClose);
  // the client may already have left while the upload was being decoded
  if (!reply.raw.writableFinished && (reply.raw.destroyed || request.raw.socket?.destroyed !== false)) controller.abort();
  return { signal: controller.signal, done: () => reply.raw.off('close', onClose) };
}

/** The HTTP answer of a WebSocket endpoint to a request that is not an upgrade. */
export async function upgradeRequired(): Promise<never> {
  throw new ApiError(426, 'upgrade_required', 'this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)');
}
