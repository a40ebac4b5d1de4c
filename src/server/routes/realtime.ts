// GET /v1/realtime (?intent=transcription): OpenAI's Realtime API in transcription mode over WebSocket.
// The route only upgrades and hands frames to the protocol session (src/protocols/realtime/session.ts).
// Auth is the /v1 auth (app.ts): a bearer key, or the `openai-insecure-api-key.<key>` subprotocol browsers send.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { MAX_APPEND_CHARS, RealtimeTranscriptionSession } from '../../protocols/realtime/session.js';
import type { AppContext } from '../context.js';
import { upgradeRequired } from '../http.js';
import { CLOSE_GOING_AWAY, refuseSocket } from '../limits.js';

export async function realtimeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // Per-key limits apply on upgrade through Limits.admitLive (as /ws), so a refusal arrives as a close frame (4429).
  // A plain HTTP request (no Upgrade) gets 426 in OpenAI's error shape, not an empty 404.
  app.route({
    method: 'GET',
    url: '/v1/realtime',
    config: { rateLimit: false },
    handler: upgradeRequired,
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      let session: RealtimeTranscriptionSession | undefined;
      let release: (() => void) | undefined;
      let undrain: (() => void) | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        release?.();
        undrain?.();
        session?.close();
      };
      socket.on('close', end);
      socket.on('error', end);

      // The session (and its session.created) starts once admitted; messages wait behind admission, in order.
      const admitted = (async () => {
        if (ctx.shutdown?.draining) {
          socket.close(CLOSE_GOING_AWAY, 'server shutting down');
          return false;
        }
        if (ctx.limits && ctx.keys) {
          const admission = await ctx.limits.admitLive(request.identity ?? ctx.keys.anonymous(request.ip));
          if (!admission.ok) {
            refuseSocket(socket, admission);
            return false;
          }
          if (ended) {
            admission.release();
            return false;
          }
          release = admission.release;
        }
        if (ended) return false;
        session = new RealtimeTranscriptionSession(
          ctx,
          {
            send: (event) => {
              if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
            },
            close: (code, reason) => socket.close(code, reason),
          },
          request.ip,
        );
        // Shutdown: the audio received gets its transcription events, then a close frame says why.
        const live = session;
        undrain = ctx.shutdown?.onDrain(async () => {
          await live.finish();
          socket.close(CLOSE_GOING_AWAY, 'server shutting down');
        });
        return true;
      })();

      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        // an append's JSON is a little larger than its base64 audio
        if (isBinary || buf.length > MAX_APPEND_CHARS + 4096) {
          if (socket.readyState !== socket.OPEN) return;
          socket.send(
            JSON.stringify({
              type: 'error',
              event_id: 'event_frame',
              error: {
                type: 'invalid_request_error',
                code: 'invalid_frame',
                message: isBinary ? 'send client events as JSON text frames' : 'event too large',
                param: null,
                event_id: null,
              },
            }),
          );
          return;
        }
        void admitted.then((ok) => {
          if (ok) session?.receive(buf.toString('utf8'));
        });
      });
    },
  });
}
