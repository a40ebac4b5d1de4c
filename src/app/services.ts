// Everything the interfaces use, built once from a Config: model store, engines, VAD, filter,
// enricher, the event bus and the services over them, plus the event subscribers (history).
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { connectCluster, type ClusterRedis } from '../cluster/index.js';
import { operatorEndpoints } from '../config/env.js';
import type { Config } from '../config/schema.js';
import { EngineManager } from '../engines/manager.js';
import { PostgresHistoryStore, SqliteHistoryStore, type HistoryStore, type SqliteHistoryOptions } from '../history/index.js';
import type { ModelResolver } from '../models/manifest.js';
import { storeResolver } from '../models/resolver.js';
import { callerSourcePolicy } from '../models/sources/policy.js';
import { ModelStore } from '../models/store.js';
import { Enricher } from '../pipeline/enrich/index.js';
import { HallucinationFilter } from '../pipeline/filter/index.js';
import { createVad, type CreatedVad } from '../pipeline/vad/index.js';
import { AppEvents } from './events.js';
import { HistoryRecorder } from './history-recorder.js';
import { JobsService } from './jobs.js';
import { MemoryJobBackend } from '../jobs/memory.js';
import { RedisJobBackend } from '../jobs/redis.js';
import { LocalAudioStore, S3AudioStore, type AudioStore } from '../jobs/storage.js';
import { LiveSessions } from './live-sessions.js';
import { Metrics } from './metrics.js';
import { TranscriptionService } from './transcription.js';

export const HISTORY_FILE = 'history.sqlite';

export interface AppLogger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface AppServices {
  config: Config;
  store: ModelStore;
  engines: EngineManager;
  events: AppEvents;
  startedAt: number;
  /** hallucination filter shared by batch and streaming (its stats are the server's) */
  filter?: HallucinationFilter;
  /** VAD factory: one detector per stream or per batch request */
  vad?: CreatedVad;
  enricher?: Enricher;
  /** transcript history (absent when disabled or its file could not be opened) */
  history?: HistoryStore;
  live: LiveSessions;
  transcription: TranscriptionService;
  /** Prometheus metrics, a subscriber of the events (absent when metrics.enabled is false) */
  metrics?: Metrics;
  /** this node's name in a cluster (config cluster.nodeName, else the hostname) */
  node: string;
  /** Redis links shared with the other nodes (config cluster.redisUrl): live view, limits */
  cluster?: ClusterRedis;
  /** durable transcription jobs (absent when jobs.enabled is false); its workers start with the server */
  jobs?: JobsService;
}

export interface CreateServicesOptions {
  log: AppLogger;
  store?: ModelStore;
  resolver?: ModelResolver;
  /** a terminal to draw model-download progress bars on (else percentages go to the log) */
  progressTty?: NodeJS.WriteStream;
}

export interface CreatedServices {
  services: AppServices;
  close(): Promise<void>;
}

export async function createServices(config: Config, opts: CreateServicesOptions): Promise<CreatedServices> {
  const { log } = opts;
  const store = opts.store ?? new ModelStore();
  await store.init();
  const callerPolicy = callerSourcePolicy({
    allowPrivateSources: config.models.allowPrivateSources,
    allowedHosts: config.models.allowedHosts,
    endpoints: operatorEndpoints(),
  });
  const pull = storeResolver(store, { log: (m) => log.info(m), callerPolicy, ...(opts.progressTty ? { tty: opts.progressTty } : {}) });
  const engines = new EngineManager({ config, store, resolver: opts.resolver ?? pull.resolver, canResolve: pull.canResolve, callerPolicy });
  const metrics = config.metrics.enabled ? new Metrics() : undefined;
  metrics?.watchEngines(engines);
  const enricher = await Enricher.create(config.enrichment, { logger: log, observer: metrics?.llmObserver() });
  const vad = await createVad({ kind: 'auto' });
  if (vad.fallbackReason) log.warn(vad.fallbackReason);
  const filter = new HallucinationFilter({ enabled: config.filter.enabled, phrases: config.filter.phrases });
  const events = new AppEvents((err, event) => log.warn({ err, event }, 'event subscriber failed'));
  metrics?.watchFilter(filter);
  metrics?.subscribe(events);
  const history = config.history.enabled ? openHistory(store.home, log, config.cluster.databaseUrl) : undefined;
  const recorder = history ? new HistoryRecorder({ store: history, events, retentionDays: config.history.retentionDays, log }).start() : undefined;
  const live = new LiveSessions({ config, engines, vad, filter, enricher, events, log, metrics });
  const transcription = new TranscriptionService({ engines, events, filter, vad, skipSilence: config.batch.skipSilence, enricher, log });
  const node = config.cluster.nodeName ?? os.hostname();
  const cluster = config.cluster.redisUrl ? connectCluster(config.cluster.redisUrl, node, log) : undefined;
  const jobs = config.jobs.enabled ? createJobs(config, store.home, transcription, node, log) : undefined;
  const services: AppServices = {
    config,
    store,
    engines,
    events,
    startedAt: Date.now(),
    filter,
    vad,
    enricher,
    history,
    live,
    transcription,
    metrics,
    node,
    cluster,
    jobs,
  };
  return {
    services,
    close: async () => {
      // running jobs go back to their queue (another node, or this one after a restart, takes them)
      await jobs?.close();
      live.closeAll();
      await engines.close();
      await vad.close();
      await recorder?.stop();
      await history?.close();
      await cluster?.close();
    },
  };
}

/**
 * The shared PostgreSQL history when a database URL is configured (cluster mode: its schema is made on
 * first use, and while the database is unreachable the store answers "unavailable" and recovers by
 * itself), else `<home>/history.sqlite`. A file that is not a database or is damaged is moved aside
 * (`history.sqlite.corrupt-<time>`, kept for recovery with sqlite3's .recover) and a fresh history
 * starts, logged as an error. A file another process keeps locked past the busy timeout, or any other
 * failure, leaves the server running without history (logged with the reason): transcription matters
 * more than its record, and a crash loop would serve no one.
 */
export function openHistory(home: string, log: AppLogger, databaseUrl?: string, options: SqliteHistoryOptions = {}): HistoryStore | undefined {
  if (databaseUrl) return new PostgresHistoryStore(databaseUrl, { log });
  const path = join(home, HISTORY_FILE);
  try {
    return new SqliteHistoryStore(path, options);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      try {
        renameSync(path, aside);
        // the WAL and shared-memory files belong to the damaged database, not to the fresh one
        for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
        const fresh = new SqliteHistoryStore(path, options);
        log.error(
          { path, movedTo: aside, code },
          `history database ${path} is damaged (${(err as Error).message}): moved to ${aside}, starting a fresh history`,
        );
        return fresh;
      } catch (again) {
        log.error({ err: again, path }, `history disabled: ${path} is damaged and could not be replaced: ${(again as Error).message}`);
        return undefined;
      }
    }
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      log.error(
        { path, code },
        `history disabled for this run: ${path} is locked by another process (waited ${(options.busyTimeoutMs ?? 5000) / 1000} s); stop that process and restart to record history again`,
      );
      return undefined;
    }
    log.error({ err, path }, `history disabled: cannot open ${path}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Jobs in BullMQ on Redis when cluster.redisUrl is set, else in this process. Uploads wait in S3 when
 * jobs.storage.bucket is set; a single node may keep them in its home folder, a cluster may not (its
 * nodes do not share a disk), so a cluster without a bucket takes URL and s3:// sources only.
 */
function createJobs(config: Config, home: string, transcription: TranscriptionService, node: string, log: AppLogger): JobsService {
  const retentionMs = config.jobs.retentionHours * 3600_000;
  const { storage } = config.jobs;
  const redisUrl = config.cluster.redisUrl;
  let audio: AudioStore | undefined;
  if (storage.bucket) audio = new S3AudioStore({ bucket: storage.bucket, prefix: storage.prefix, region: storage.region, endpoint: storage.endpoint });
  else if (!redisUrl) audio = new LocalAudioStore(join(home, 'jobs'));
  const backend = redisUrl
    ? new RedisJobBackend({ url: redisUrl, node, leaseMs: config.jobs.leaseSeconds * 1000, maxRetries: config.jobs.maxRetries, retentionMs, log })
    : new MemoryJobBackend({ node, retentionMs });
  return new JobsService({ config, backend, audio, transcription, node, log });
}
