// GET /v1/realtime (?intent=transcription): OpenAI's Realtime API in transcription mode over WebSocket.
// The route only upgrades and hands frames to the protocol session (src/protocols/realtime/session.ts).
// Auth is the /v1 auth (app.ts): a bearer key, or the `openai-insecure-api-key.<key>` subprotocol browsers send.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { MAX_APPEND_CHARS, RealtimeTranscriptionSession } from '../../protocols/realtime/session.js';
import type { AppContext } from '../context.js';

export async function realtimeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/v1/realtime', { websocket: true }, (socket: WebSocket, request: FastifyRequest) => {
    const session = new RealtimeTranscriptionSession(
      ctx,
      {
        send: (event) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
        },
        close: (code, reason) => socket.close(code, reason),
      },
      request.ip,
    );
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      // an append's JSON is a little larger than its base64 audio
      if (isBinary || buf.length > MAX_APPEND_CHARS + 4096) {
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
      session.receive(buf.toString('utf8'));
    });
    socket.on('close', () => session.close());
    socket.on('error', () => session.close());
  });
}
