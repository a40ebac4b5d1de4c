// Everything a route needs: the app services (src/app/services.ts), the server's logger, and the
// operations layer: API keys, per-key limits, the shutdown signal.
import type { FastifyBaseLogger } from 'fastify';
import type { AppServices } from '../app/services.js';
import type { KeyRing } from './auth.js';
import type { Limits } from './limits.js';

export interface AppContext extends AppServices {
  log: FastifyBaseLogger;
  /** API keys (built by buildApp when absent) */
  keys?: KeyRing;
  /** per-key request and live-session limits, shared by every interface (built by buildApp when absent) */
  limits?: Limits;
  /** set while shutting down: live sessions finish, new work is refused */
  shutdown?: ShutdownSignal;
}

/** What live sessions watch to end cleanly on SIGTERM: a final for the audio received, then a close frame. */
export interface ShutdownSignal {
  readonly draining: boolean;
  /** registers a live session's drain (send its last final and close, then resolve); returns the unregister */
  onDrain(fn: () => Promise<void>): () => void;
}
