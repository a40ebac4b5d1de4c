// Everything a route needs: the app services (src/app/services.ts) and the server's logger.
import type { FastifyBaseLogger } from 'fastify';
import type { AppServices } from '../app/services.js';

export interface AppContext extends AppServices {
  log: FastifyBaseLogger;
}
