// What the server says about itself: the status the monitor feed and /api/stats send, the model
// state /health and GET / report, the LLM state, and /api/config's runtime facts.
import os from 'node:os';
import { publicConfig } from '../config/schema.js';
import { VERSION } from '../version.js';
import type { AppServices } from './services.js';
import { type CpuUsage, GpuProbe, type GpuInfo } from './system.js';

/** One probe per process: nvidia-smi is asked at most once per status interval. */
export const gpuProbe = new GpuProbe();

export type HealthStatus = 'ok' | 'loading' | 'error';

export function healthStatus(app: Pick<AppServices, 'engines'>): HealthStatus {
  const { state } = app.engines.defaultState();
  if (state === 'ready') return 'ok';
  if (state === 'error') return 'error';
  return 'loading';
}

/** An LLM URL without credentials in it. */
function safeUrl(url: string | null): string | null {
  if (!url) return url;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return null;
  }
}

export function llmStatus(app: Pick<AppServices, 'enricher'>): Record<string, unknown> | null {
  if (!app.enricher) return null;
  const s = app.enricher.state();
  return {
    enabled: s.enabled,
    configured: s.configured,
    reachable: s.reachable,
    url: safeUrl(s.url),
    model: s.model,
    mode: s.mode,
    last_latency_ms: s.lastLatencyMs,
    error_rate: s.errorRate,
    calls: s.calls,
    failures: s.failures,
    last_error: s.lastError,
    breaker: s.breaker,
    queue: s.queue,
    fallback: s.fallback,
  };
}

function modelStatus(app: AppServices): Array<Record<string, unknown>> {
  return app.engines
    .list()
    .filter((m) => !m.retiring)
    .map((m) => ({
      id: m.id,
      state: m.state,
      default: m.default,
      kind: m.info?.kind ?? null,
      device: m.info?.device ?? null,
      loaded_at: m.loadedAt ?? null,
      error: m.error ?? null,
      workers: m.stats?.workers ?? 0,
      busy: m.stats?.busy ?? 0,
      queued: m.stats?.queued ?? 0,
      restarts: m.stats?.restarts ?? 0,
      completed: m.stats?.completed ?? 0,
      failed: m.stats?.failed ?? 0,
    }));
}

/** Entries in the history; null when it is off or its database cannot answer now. */
async function historyCount(app: AppServices): Promise<number | null> {
  try {
    return app.history ? await app.history.count() : null;
  } catch {
    return null;
  }
}

/** The full status (monitor feed, /api/stats). `cpu` measures use since its previous call. */
export async function collectStatus(app: AppServices, cpu: CpuUsage): Promise<Record<string, unknown>> {
  const models = modelStatus(app);
  const def = app.engines.defaultState();
  const gpus = await gpuProbe.read();
  const mem = process.memoryUsage();
  const sessions = app.live.list().map((s) => ({ id: s.id, started: s.started, model: s.model, language: s.language, remote: s.remote }));
  return {
    time: new Date().toISOString(),
    version: VERSION,
    uptime: Math.round((Date.now() - app.startedAt) / 1000),
    status: healthStatus(app),
    model: app.engines.defaultModelId ?? app.engines.defaultModelSource,
    engine: def.info?.kind ?? null,
    device: app.engines.device,
    models,
    queue: {
      workers: models.reduce((n, m) => n + (m.workers as number), 0),
      busy: models.reduce((n, m) => n + (m.busy as number), 0),
      queued: models.reduce((n, m) => n + (m.queued as number), 0),
    },
    sessions: { active: sessions.length, list: sessions },
    filter: app.filter ? app.filter.stats.snapshot() : null,
    llm: llmStatus(app),
    vad: app.vad?.kind ?? null,
    history: { enabled: Boolean(app.history), backend: app.history?.backend ?? null, entries: await historyCount(app) },
    system: {
      gpu: gpus,
      cpu: {
        model: os.cpus()[0]?.model ?? null,
        cores: os.availableParallelism(),
        load: os.loadavg().map((l) => Math.round(l * 100) / 100),
        usage_percent: cpu.percent(),
      },
      memory: { total: os.totalmem(), free: os.freemem(), process_rss: mem.rss, process_heap_used: mem.heapUsed },
    },
  };
}

/** GET /api/config: the effective configuration without secrets, plus runtime facts (seed 002). */
export async function configReport(app: AppServices): Promise<Record<string, unknown>> {
  const gpus: GpuInfo[] | null = await gpuProbe.read();
  const def = app.engines.defaultState();
  return {
    gpu: app.engines.device === 'cuda',
    device: app.engines.device,
    gpus: gpus ?? [],
    model: app.engines.defaultModelId ?? app.engines.defaultModelSource,
    model_state: def.state,
    engine: def.info?.kind ?? null,
    vad: app.vad?.kind ?? null,
    llm: llmStatus(app),
    history: { enabled: Boolean(app.history), retention_days: app.config.history.retentionDays },
    auth: app.config.server.apiKeys.length + app.config.server.keys.length > 0,
    version: VERSION,
    node: process.version,
    config: publicConfig(app.config),
  };
}
