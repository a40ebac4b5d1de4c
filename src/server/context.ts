// Everything a route needs, built once at startup and passed to each route plugin.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/schema.js';
import type { EngineManager } from '../engines/manager.js';
import type { ModelStore } from '../models/store.js';
import type { Enricher } from '../pipeline/enrich/index.js';
import type { HallucinationFilter } from '../pipeline/filter/index.js';
import type { CreatedVad } from '../pipeline/vad/index.js';
import type { HistoryStore } from '../store/history.js';

/**
 * Events the monitor feed and the dashboard follow:
 *  'session' {id, kind, state}, 'utterance' {sessionId, type: partial|final|keywords, ...}, 'transcription' {...}
 */
export class EventBus extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(1000);
  }
}

export interface AppContext {
  config: Config;
  store: ModelStore;
  engines: EngineManager;
  events: EventBus;
  log: FastifyBaseLogger;
  startedAt: number;
  /** hallucination filter shared by batch and streaming (its stats are the server's) */
  filter?: HallucinationFilter;
  /** VAD factory: one detector per stream or per batch request */
  vad?: CreatedVad;
  enricher?: Enricher;
  /** transcript history (absent when disabled or its file could not be opened) */
  history?: HistoryStore;
}
