// npm run bench:jobs [-- --reps N] [-- --jobs N] [-- --model M]
// The cost of the durable job queue, measured against the direct path on the same servers and clip:
//  1. overhead per job: POST /v1/audio/transcriptions (direct) vs POST /v1/jobs + the job's own
//     timestamps, on one node with the in-process queue and on one node with BullMQ on Redis and
//     uploads in S3 (moto) — A/B/C in rotating order, one request at a time; enqueue→start latency
//     (started_at − created_at) and total (submit → finished_at) vs direct latency;
//  2. throughput: N jobs submitted at once to 1 node vs spread over 3 nodes sharing Redis and S3
//     (on 2 cores three nodes cannot decode faster than one: the figure says what the queue costs,
//     not a speed-up).
// Writes bench/results/jobs-<date>-<host>.{json,md}.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeFile } from '../src/audio/decode.js';
import { pocketsphinxClips } from '../src/eval/corpus.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { clientWithBucket, startS3Server } from '../test/helpers/s3-server.js';
import { BENCH_DIR } from './lib/faster-whisper.js';
import { loadAverageNow, machineFacts } from './lib/machine.js';
import { startServer, type BenchServer } from './lib/server.js';
import { median, percentile, round } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '8' },
    jobs: { type: 'string', default: '12' },
    model: { type: 'string', default: process.env.EARSHOT_TEST_MODEL ?? 'base' },
  },
});
const reps = Number(values.reps);
const jobCount = Number(values.jobs);
const model = values.model!;
const log = (line: string) => process.stderr.write(`[bench:jobs ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const AWS = { AWS_ACCESS_KEY_ID: 'earshot-bench', AWS_SECRET_ACCESS_KEY: 'earshot-bench-secret', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
const BUCKET = 'earshot-bench-jobs';

interface Job {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  node: string | null;
  error: unknown;
}

function form(wav: Buffer): FormData {
  const f = new FormData();
  f.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'clip.wav');
  f.append('language', 'en');
  return f;
}

async function direct(server: BenchServer, wav: Buffer): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form(wav) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`direct: status ${res.status}`);
  return (performance.now() - t) / 1000;
}

async function submit(server: BenchServer, wav: Buffer): Promise<{ job: Job; submittedAt: number }> {
  const submittedAt = Date.now();
  const res = await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: form(wav) });
  if (res.status !== 202) throw new Error(`submit: status ${res.status} ${await res.text()}`);
  return { job: (await res.json()) as Job, submittedAt };
}

async function until(server: BenchServer, id: string): Promise<Job> {
  for (;;) {
    const job = (await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as Job;
    if (job.status === 'completed') return job;
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`job ${id} ${job.status}: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One job, submit to finish: its queue wait (enqueue→start) and its total as the server timed it. */
async function viaJob(server: BenchServer, wav: Buffer): Promise<{ total: number; wait: number }> {
  const { job, submittedAt } = await submit(server, wav);
  const done = await until(server, job.id);
  return { total: (Date.parse(done.finished_at!) - submittedAt) / 1000, wait: (Date.parse(done.started_at!) - Date.parse(done.created_at)) / 1000 };
}

async function throughput(servers: BenchServer[], wav: Buffer, n: number): Promise<{ seconds: number; perNode: Record<string, number> }> {
  const t = Date.now();
  const jobs: Array<{ server: BenchServer; id: string }> = [];
  for (let i = 0; i < n; i++) {
    const server = servers[i % servers.length]!; // as a round-robin balancer would
    jobs.push({ server, id: (await submit(server, wav)).job.id });
  }
  const done = await Promise.all(jobs.map((j) => until(j.server, j.id)));
  const last = Math.max(...done.map((d) => Date.parse(d.finished_at!)));
  const perNode: Record<string, number> = {};
  for (const d of done) perNode[d.node!] = (perNode[d.node!] ?? 0) + 1;
  return { seconds: (last - t) / 1000, perNode };
}

const stat = (xs: number[]) => ({ medianSeconds: round(median(xs), 4), p95Seconds: round(percentile(xs, 95), 4) });

async function main(): Promise<void> {
  const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
  const wav = readFileSync(clip.path);
  const clipSeconds = (await decodeFile(clip.path)).duration;
  const machine = machineFacts();
  const load = loadAverageNow();
  const started = new Date().toISOString();
  log(`Redis, moto S3, then servers (${model})`);
  const redis = await startRedisServer();
  const s3 = await startS3Server();
  const servers: BenchServer[] = [];
  try {
    await clientWithBucket(s3, BUCKET, { accessKeyId: AWS.AWS_ACCESS_KEY_ID, secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY });
    const clusterEnv = (name: string) => ({
      ...AWS,
      EARSHOT_REDIS_URL: redis.url,
      EARSHOT_NODE_NAME: name,
      EARSHOT_JOBS_S3_BUCKET: BUCKET,
      EARSHOT_JOBS_S3_ENDPOINT: s3.endpoint,
    });
    const single = await startServer({ model, threads: 2, env: { EARSHOT_NODE_NAME: 'single' } });
    servers.push(single);
    const node1 = await startServer({ model, threads: 2, env: clusterEnv('node-1') });
    servers.push(node1);

    log(`overhead: ${reps} rounds of direct / in-process job / Redis job, order rotating`);
    await direct(single, wav);
    await direct(node1, wav);
    await viaJob(single, wav);
    await viaJob(node1, wav);
    const times = { direct: [] as number[], memory: [] as number[], memoryWait: [] as number[], redis: [] as number[], redisWait: [] as number[] };
    const steps: Array<() => Promise<void>> = [
      async () => void times.direct.push(await direct(single, wav)),
      async () => {
        const r = await viaJob(single, wav);
        times.memory.push(r.total);
        times.memoryWait.push(r.wait);
      },
      async () => {
        const r = await viaJob(node1, wav);
        times.redis.push(r.total);
        times.redisWait.push(r.wait);
      },
    ];
    for (let i = 0; i < reps; i++) for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
    await single.stop();
    servers.splice(servers.indexOf(single), 1);

    log(`throughput: ${jobCount} jobs on 1 node`);
    const one = await throughput([node1], wav, jobCount);
    log('starting nodes 2 and 3');
    servers.push(await startServer({ model, threads: 2, env: clusterEnv('node-2') }));
    servers.push(await startServer({ model, threads: 2, env: clusterEnv('node-3') }));
    await Promise.all(servers.slice(1).map((s) => viaJob(s, wav)));
    log(`throughput: ${jobCount} jobs on 3 nodes`);
    const three = await throughput(servers, wav, jobCount);

    const m = (xs: number[]) => median(xs);
    const result = {
      schema: 1,
      started,
      model,
      clip: clip.id,
      clipSeconds: round(clipSeconds, 2),
      reps,
      jobs: jobCount,
      machine: { cpuModel: machine.cpuModel, cores: machine.cores, loadAverage: { start: load, end: loadAverageNow() } },
      overhead: {
        direct: stat(times.direct),
        inProcessJob: { ...stat(times.memory), enqueueToStart: stat(times.memoryWait) },
        redisJob: { ...stat(times.redis), enqueueToStart: stat(times.redisWait) },
        inProcessMinusDirectSeconds: round(m(times.memory) - m(times.direct), 4),
        redisMinusDirectSeconds: round(m(times.redis) - m(times.direct), 4),
        redisOverDirectRatio: round(m(times.redis) / m(times.direct), 4),
      },
      throughput: {
        oneNode: { seconds: round(one.seconds, 3), jobsPerMinute: round((jobCount / one.seconds) * 60, 2), perNode: one.perNode },
        threeNodes: { seconds: round(three.seconds, 3), jobsPerMinute: round((jobCount / three.seconds) * 60, 2), perNode: three.perNode },
        threeOverOneRatio: round(one.seconds / three.seconds, 4),
      },
    };
    const name = `jobs-${started.slice(0, 10)}-${machine.host}`;
    writeFileSync(join(BENCH_DIR, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
    const o = result.overhead;
    const t = result.throughput;
    const md = [
      `# Durable jobs: queue overhead and throughput (${started.slice(0, 10)})`,
      '',
      `${machine.cpuModel}, ${machine.cores} cores, load average at start ${load.join(' ')}. Model ${model} (2 threads per node), clip ${clip.id} (${round(clipSeconds, 1)} s), uploads as multipart.`,
      '',
      `## Overhead per job (${reps} rounds, direct / in-process job / Redis job in rotating order, one at a time)`,
      '',
      '| path | median total (s) | p95 (s) | enqueue→start median (s) |',
      '|---|---|---|---|',
      `| direct POST /v1/audio/transcriptions | ${o.direct.medianSeconds} | ${o.direct.p95Seconds} | — |`,
      `| job, single node (in-process queue, upload on local disk) | ${o.inProcessJob.medianSeconds} | ${o.inProcessJob.p95Seconds} | ${o.inProcessJob.enqueueToStart.medianSeconds} |`,
      `| job, cluster mode (BullMQ on Redis, upload in S3/moto) | ${o.redisJob.medianSeconds} | ${o.redisJob.p95Seconds} | ${o.redisJob.enqueueToStart.medianSeconds} |`,
      '',
      `Job total is submit → finished_at (server clock, same machine); it excludes the client's polling. In-process job − direct: **${o.inProcessMinusDirectSeconds} s**; Redis job − direct: **${o.redisMinusDirectSeconds} s** (ratio ${o.redisOverDirectRatio}, same run).`,
      '',
      `## Throughput (${jobCount} jobs submitted at once, round-robin over the nodes)`,
      '',
      '| nodes | wall (s) | jobs/min | jobs per node |',
      '|---|---|---|---|',
      `| 1 | ${t.oneNode.seconds} | ${t.oneNode.jobsPerMinute} | ${JSON.stringify(t.oneNode.perNode)} |`,
      `| 3 | ${t.threeNodes.seconds} | ${t.threeNodes.jobsPerMinute} | ${JSON.stringify(t.threeNodes.perNode)} |`,
      '',
      `3 nodes / 1 node speed ratio: **${t.threeOverOneRatio}** — on ${machine.cores} cores the three nodes share the same CPUs, so no speed-up is expected.`,
      '',
    ].join('\n');
    writeFileSync(join(BENCH_DIR, 'results', `${name}.md`), md);
    process.stdout.write(md);
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await redis.close();
    await s3.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
