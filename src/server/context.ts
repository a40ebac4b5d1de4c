// Everything a route needs, built once at startup and passed to each route plugin.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/schema.js';
import type { EngineManager } from '../engines/manager.js';
import type { Transcript } from '../engines/types.js';
import type { ModelStore } from '../models/store.js';
import type { Enricher } from '../pipeline/enrich/index.js';

/** Post-processing applied to every transcript (hallucination filter); returns what it removed. */
export type TranscriptFilter = (t: Transcript, audio: Float32Array) => { transcript: Transcript; dropped: Array<{ segmentId: number; rule: string; text: string }> };

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
  filter?: TranscriptFilter;
  enricher?: Enricher;
}
