// The Grafana dashboard and the Prometheus config in deploy/metrics query metrics that exist.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../../src/app/metrics.js';
import { EngineManager } from '../../src/engines/manager.js';
import { loadConfig } from '../../src/config/schema.js';
import { ModelStore } from '../../src/models/store.js';
import { ROOT } from '../helpers/server.js';

describe('deploy/metrics Grafana dashboard', () => {
  it('every metric a panel queries is one Earshot or Node exports', async () => {
    const metrics = new Metrics();
    const config = loadConfig({ env: {}, flags: { model: { idleUnloadSeconds: 0 } } });
    metrics.watchEngines(new EngineManager({ config, store: new ModelStore('/nonexistent-earshot-home') }));
    const exported = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m.name + suffix);
    }
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/metrics/grafana/dashboards/earshot.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, panel.title);
      for (const t of panel.targets) for (const name of t.expr.match(/\b(earshot|process|nodejs)_[a-z0-9_]+/g) ?? []) used.add(name);
    }
    for (const name of used) assert.ok(exported.has(name), `${name} (dashboard) is exported`);
    // and every earshot_ metric has a panel
    for (const name of exported)
      if (name.startsWith('earshot_') && !/_(bucket|sum|count)$/.test(name))
        assert.ok(
          [...used].some((u) => u.startsWith(name)),
          `${name} has a panel`,
        );
  });
});
