// Runs the test files with node's test runner through tsx.
//   node scripts/test.mjs            every test/**/*.test.ts (npm test)
//   node scripts/test.mjs --unit     the fast subset: no model, no browser, no Python (npm run test:unit)
//   node scripts/test.mjs FILES...   the files or folders given
// Files run two at a time (EARSHOT_TEST_CONCURRENCY; each starts its servers on free ports and keeps
// its state in temp folders), except the timing-sensitive streaming files, which run one at a time
// afterwards: their latency assertions must not share two cores with another file's decodes.
// Node 22's --test does not expand globs itself, hence the collection here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';

/** Fast files: pure logic, local fake servers, the bundled Silero/openWakeWord ONNX files, fixtures. */
const UNIT = [
  'test/app/model-errors.test.ts',
  'test/app/wire-schema.test.ts',
  'test/core/config.test.ts',
  'test/core/layers.test.ts',
  'test/ctc/decoding.test.ts',
  'test/e2e/monitor-probe.test.ts',
  'test/enrich',
  'test/cluster/redis-limits.test.ts',
  'test/history',
  'test/jobs/fetch-guard.test.ts',
  'test/jobs/redis-helper.test.ts',
  'test/models/import.test.ts',
  'test/models/lock-and-disk.test.ts',
  'test/models/resolve.test.ts',
  'test/models/source-policy.test.ts',
  'test/pipeline/filter.test.ts',
  'test/pipeline/local-agreement.test.ts',
  'test/pipeline/segmenter.test.ts',
  'test/pipeline/session-scheduling.test.ts',
  'test/pipeline/vad.test.ts',
  'test/protocols/units.test.ts',
  'test/server/metrics-dashboard.test.ts',
  'test/server/openapi.test.ts',
  'test/wakeword/client-parts.test.ts',
  'test/wakeword/detector.test.ts',
  'test/wakeword/reference-parity.test.ts',
  'test/wakeword/turn-taking.test.ts',
];

/** Files whose assertions involve wall-clock latency or cancellation grace periods: never run beside another file. */
const SERIAL = [
  'test/streaming',
  'test/ctc/seed-004.test.ts',
  'test/pipeline/session.test.ts',
  'test/e2e/dashboard.test.ts',
  'test/server/models-api.test.ts',
  'test/wakeword/listen-e2e.test.ts',
  'test/protocols/wyoming.test.ts',
  'test/protocols/realtime.test.ts',
  'test/server/disconnect.test.ts',
  'test/engines/ct2-engine.test.ts',
  'test/engines/whisper-cancel.test.ts',
  'test/server/shutdown.test.ts',
  // three nodes + PostgreSQL + Redis + nginx on two cores
  'test/cluster/cluster.test.ts',
  'test/jobs/jobs-redis.test.ts',
  'test/reliability',
  'test/cluster/jobs.test.ts',
  'test/server/hostile-audio.test.ts',
  'test/e2e/xss.test.ts',
  'test/fuzz',
];

/** Not part of npm test: the Python benchmark smoke test runs as `npm run bench -- --quick`. */
const EXCLUDED = ['test/bench'];

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue;
      collect(join(path, name), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(relative('.', path));
  }
  return out;
}

const under = (file, roots) => roots.some((r) => file === r || file.startsWith(r.endsWith('/') ? r : `${r}/`));

const args = process.argv.slice(2);
const unit = args.includes('--unit');
const roots = args.filter((a) => a !== '--unit');
let files = (unit ? UNIT : roots.length ? roots : ['test']).flatMap((r) => collect(r, []));
if (!unit && roots.length === 0) files = files.filter((f) => !under(f, EXCLUDED));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const concurrency = Number(process.env.EARSHOT_TEST_CONCURRENCY ?? Math.min(2, os.availableParallelism()));
const parallel = files.filter((f) => !under(f, SERIAL));
const serial = files.filter((f) => under(f, SERIAL));
console.log(`running ${files.length} test files: ${parallel.length} ${concurrency} at a time, then ${serial.length} one at a time`);

// Test servers run Whisper on whisper.cpp unless a test says otherwise: the default engine choice (auto)
// would measure both engines, and install the CTranslate2 runtime, in every fresh test home, and many
// tests watch the whisper.cpp worker processes. The auto and CTranslate2 paths have their own tests
// (test/engines/ct2-engine.test.ts, test/engines/engine-override.test.ts).
const env = { ...process.env, EARSHOT_ENGINE: process.env.EARSHOT_ENGINE ?? 'whisper' };

function run(group, n) {
  if (group.length === 0) return 0;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${n}`, ...group], { stdio: 'inherit', env });
  return r.status ?? 1;
}

const started = Date.now();
const failed = [run(parallel, concurrency), run(serial, 1)].some((status) => status !== 0);
console.log(`tests finished in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
