// Liveness and readiness, for balancers and orchestrators. Live: the process answers. Ready: the
// default model is loaded, the node is not shutting down, and the shared services it is configured
// with (PostgreSQL for history, Redis for the live view, limits and jobs) answer now. Each check says
// why it fails, so a 503 from /health/ready can be read by a person as well as by a probe.
import type { AppServices } from './services.js';
import { healthStatus } from './status.js';

/** a dependency that does not answer within this long counts as unreachable */
const CHECK_TIMEOUT_MS = 1500;

export interface Check {
  ok: boolean;
  /** why not, when not ok */
  error?: string;
}

export interface Readiness {
  ready: boolean;
  node: string;
  checks: Record<string, Check>;
}

async function probe(fn: () => Promise<void>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(app: AppServices, draining: boolean): Promise<Readiness> {
  const checks: Record<string, Check> = {};
  const model = healthStatus(app);
  const def = app.engines.defaultState();
  checks.model =
    model === 'ok'
      ? { ok: true }
      : { ok: false, error: model === 'loading' ? 'the default model is loading' : `the default model failed to load: ${def.error ?? 'unknown error'}` };
  if (draining) checks.shutdown = { ok: false, error: 'the node is shutting down' };
  const { history, cluster } = app;
  const [database, redis] = await Promise.all([
    app.config.cluster.databaseUrl && history ? probe(() => history.check()) : undefined,
    cluster ? probe(() => cluster.check()) : undefined,
  ]);
  if (database) checks.database = database;
  if (redis) checks.redis = redis.ok ? redis : { ok: false, error: `Redis unreachable: ${redis.error}` };
  return { ready: Object.values(checks).every((c) => c.ok), node: app.node, checks };
}
