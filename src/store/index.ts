// The history layer as the server uses it: open the store under EARSHOT_HOME, record events into it.
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { configSchema, type Config } from '../config/schema.js';
import type { Enricher } from '../pipeline/enrich/index.js';
import type { HistoryStore } from './history.js';
import { HistoryRecorder, type RecorderLogger } from './recorder.js';
import { SqliteHistoryStore } from './sqlite.js';

export * from './history.js';
export { HistoryRecorder } from './recorder.js';
export { SqliteHistoryStore, ftsQuery, normalizeKeyword } from './sqlite.js';

export const HISTORY_FILE = 'history.sqlite';

/**
 * The history settings with their schema defaults applied. (zod 4 returns an object's `.default({})`
 * as is, without its fields' defaults, so `config.history` may arrive as `{}`.)
 */
export function historySettings(config: Pick<Config, 'history'>): Config['history'] {
  return configSchema.shape.history.unwrap().parse(config.history ?? {});
}

export interface AttachedHistory {
  store: HistoryStore;
  path: string;
  close(): void;
}

/**
 * Opens `<home>/history.sqlite` and starts recording `events` into it. Returns undefined (and logs
 * why) when the file cannot be opened: the server runs on without history rather than not at all.
 */
export function attachHistory(opts: {
  home: string;
  events: EventEmitter;
  enricher?: Enricher;
  retentionDays: number;
  log: RecorderLogger & { error(obj: unknown, msg?: string): void };
}): AttachedHistory | undefined {
  const path = join(opts.home, HISTORY_FILE);
  let store: SqliteHistoryStore;
  try {
    store = new SqliteHistoryStore(path);
  } catch (err) {
    opts.log.error({ err, path }, `history disabled: cannot open ${path}: ${(err as Error).message}`);
    return undefined;
  }
  const recorder = new HistoryRecorder({ store, events: opts.events, enricher: opts.enricher, retentionDays: opts.retentionDays, log: opts.log }).start();
  return {
    store,
    path,
    close: () => {
      recorder.stop();
      store.close();
    },
  };
}
