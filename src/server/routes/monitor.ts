// GET /api/monitor (WebSocket, read-only): the monitor feed — a snapshot of live sessions and
// recent text, then every session/partial/final/keywords/transcription event and a status message
// every 2 s. GET /api/stats answers the same status as JSON.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { MonitorFeed } from '../../app/monitor-feed.js';
import type { AppContext } from '../context.js';
import { upgradeRequired } from '../http.js';

export async function monitorRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const feed = new MonitorFeed(ctx, ctx.log);
  app.addHook('onClose', async () => feed.close());

  app.route({
    method: 'GET',
    url: '/api/monitor',
    handler: upgradeRequired,
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      // read-only: anything the client sends is ignored
      socket.on('message', () => undefined);
      feed
        .add(socket)
        .then((remove) => {
          socket.on('close', remove);
          socket.on('error', remove);
        })
        .catch((err: unknown) => {
          request.log.warn({ err }, 'monitor: snapshot failed');
          socket.close(1011, 'snapshot failed');
        });
    },
  });

  app.get('/api/stats', async () => feed.status());
}
