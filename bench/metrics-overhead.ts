// npm run bench:metrics [-- --pairs N]
// The cost of Prometheus metrics on POST /transcribe latency: two servers with the same model and
// threads, one with metrics (the default) and one with EARSHOT_METRICS=false, asked the same clip in
// alternating order (A/B, order flipped each pair) one request at a time; the ratio of the medians is
// the overhead. Writes bench/results/metrics-overhead-<date>-<host>.{json,md}.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pocketsphinxClips } from '../src/eval/corpus.js';
import { BENCH_DIR } from './lib/faster-whisper.js';
import { loadAverageNow, machineFacts } from './lib/machine.js';
import { startServer, type BenchServer } from './lib/server.js';
import { median, percentile, round } from './lib/stats.js';

const { values } = parseArgs({
  options: { pairs: { type: 'string', default: '16' }, model: { type: 'string', default: process.env.EARSHOT_TEST_MODEL ?? 'base' } },
});
const pairs = Number(values.pairs);
const model = values.model!;

async function transcribe(server: BenchServer, wav: Buffer): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${server.url}/transcribe?language=en`, { method: 'POST', body: wav, headers: { 'content-type': 'audio/wav' } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
  const wav = readFileSync(clip.path);
  const machine = machineFacts();
  const load = loadAverageNow();
  const started = new Date().toISOString();
  const log = (line: string) => process.stderr.write(`[bench:metrics ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  log(`starting two servers (${model}): metrics on, metrics off`);
  const on = await startServer({ model, threads: 2 });
  const off = await startServer({ model, threads: 2, env: { EARSHOT_METRICS: 'false' } });
  log(`${pairs} A/B pairs of ${clip.id}`);
  const times = { on: [] as number[], off: [] as number[] };
  try {
    // warm both (first decodes allocate), then measure
    await transcribe(on, wav);
    await transcribe(off, wav);
    for (let i = 0; i < pairs; i++) {
      const order: Array<['on' | 'off', BenchServer]> =
        i % 2 === 0
          ? [
              ['on', on],
              ['off', off],
            ]
          : [
              ['off', off],
              ['on', on],
            ];
      for (const [name, server] of order) times[name].push(await transcribe(server, wav));
      if ((i + 1) % 5 === 0) log(`${i + 1}/${pairs} pairs`);
    }
    const metricsText = await (await fetch(`${on.url}/metrics`)).text();
    if (!metricsText.includes('earshot_http_requests_total{method="POST",route="/transcribe",status="200"}'))
      throw new Error('the metrics server did not count the requests');
    if ((await fetch(`${off.url}/metrics`)).status !== 404) throw new Error('the peer without metrics serves /metrics');
  } finally {
    await on.stop();
    await off.stop();
  }
  const ratio = median(times.on) / median(times.off);
  const result = {
    schema: 1,
    started,
    model,
    clip: clip.id,
    pairs,
    machine: { cpuModel: machine.cpuModel, cores: machine.cores, loadAverage: { start: load, end: loadAverageNow() } },
    withMetrics: { medianSeconds: round(median(times.on), 4), p95Seconds: round(percentile(times.on, 95), 4) },
    withoutMetrics: { medianSeconds: round(median(times.off), 4), p95Seconds: round(percentile(times.off, 95), 4) },
    ratio: round(ratio, 4),
  };
  const name = `metrics-overhead-${started.slice(0, 10)}-${machine.host}`;
  writeFileSync(join(BENCH_DIR, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  const md = [
    `# Metrics overhead on POST /transcribe (${started.slice(0, 10)})`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, load average at start ${load.join(' ')}. Model ${model}, clip ${clip.id}, ${pairs} A/B pairs (order flipped each pair), one request at a time.`,
    '',
    '| server | median latency (s) | p95 (s) |',
    '|---|---|---|',
    `| metrics on (default) | ${result.withMetrics.medianSeconds} | ${result.withMetrics.p95Seconds} |`,
    `| metrics off (EARSHOT_METRICS=false) | ${result.withoutMetrics.medianSeconds} | ${result.withoutMetrics.p95Seconds} |`,
    '',
    `**Ratio on/off of the medians: ${result.ratio}** (same run).`,
    '',
  ].join('\n');
  writeFileSync(join(BENCH_DIR, 'results', `${name}.md`), md);
  process.stdout.write(md);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
