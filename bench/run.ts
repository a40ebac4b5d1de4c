// npm run bench [-- --quick (CI's smoke test: fails unless every section is complete)] [-- --only batch,stream,load,memory,latency] [-- --plan engines] [-- --out DIR] [-- --budget SECONDS]
// npm run bench -- --only soak [--minutes 30]   the reliability soak (bench/soak.ts), on its own: bench/results/reliability-soak-*.{json,md}
// Earshot measured side by side with faster-whisper on this machine: batch (processing time, RTF,
// WER per configuration), streaming, server under load, memory. Writes JSON + Markdown results.
// A full run of every section writes bench/results/<date>-<host>.{json,md} and latest.{json,md};
// quick and partial runs write to bench/results/tmp/ (git-ignored) unless --out says otherwise.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runBatch } from './batch.js';
import { checkQuickResult } from './check.js';
import { loadCorpus } from './lib/corpus.js';
import { BENCH_DIR, ensurePython } from './lib/faster-whisper.js';
import { loadAverageNow, machineFacts } from './lib/machine.js';
import { runLatency } from './latency.js';
import { runLoad } from './load.js';
import { runMemory } from './memory.js';
import { enginesBatchPlan, fullPlan, liveVariants, quickPlan } from './plans.js';
import { renderMarkdown, type BenchResult } from './report.js';
import { renderSoakMarkdown, runSoak, soakPlan } from './soak.js';
import { runStreaming } from './stream.js';
import { runWhisperLiveKit, WLK_POLICIES, type WlkPolicy } from './whisperlivekit.js';
import { engineKindOf, registeredEngineKinds } from '../src/engines/index.js';
import { ModelStore } from '../src/models/store.js';

const SECTIONS = ['batch', 'stream', 'load', 'memory', 'latency'] as const;
type Section = (typeof SECTIONS)[number];

/** Default wall-clock budget of a full run: the batch section drops repetitions that would overrun it. */
const DEFAULT_BUDGET_SECONDS = 570;

interface StreamArgs {
  /** the stream section on these models instead of the plan's (the first as `stream`, the rest as `streamAlso`) */
  models?: string[];
  levels?: number[];
  sustainP95?: number;
  /** run the session-setting variants (hangover, pause, cadence) on each model */
  variants: boolean;
  /** only the variants whose label contains one of these words (--variant-match window) */
  variantMatch?: string[];
  /** the streaming peer on the same streams after Earshot's, one system at a time */
  peer?: 'whisperlivekit';
  /** its policies, one after the other (default: LocalAgreement only) */
  peerPolicies: WlkPolicy[];
}

function parse(): {
  quick: boolean;
  sections: Section[];
  out?: string;
  budget: number;
  engines: boolean;
  pairs?: string[];
  stream: StreamArgs;
  soakMinutes?: number;
} {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      budget: { type: 'string' },
      plan: { type: 'string' },
      pairs: { type: 'string' },
      'stream-models': { type: 'string' },
      levels: { type: 'string' },
      'sustain-p95': { type: 'string' },
      variants: { type: 'boolean', default: false },
      'variant-match': { type: 'string' },
      peer: { type: 'string' },
      'peer-policy': { type: 'string' },
    },
    allowPositionals: false,
  });
  const only = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...SECTIONS];
  if (only.includes('soak')) {
    if (only.length > 1) throw new Error('--only soak runs on its own (it is long and loads the machine itself)');
    const minutes = values.minutes === undefined ? 30 : Number(values.minutes);
    if (!(minutes > 0)) throw new Error('--minutes: a positive number');
    return { quick: false, sections: [], out: values.out, budget: 0, engines: false, stream: { variants: false, peerPolicies: [] }, soakMinutes: minutes };
  }
  for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section "${s}" (use ${SECTIONS.join(',')})`);
  const budget = values.budget === undefined ? DEFAULT_BUDGET_SECONDS : Number(values.budget);
  if (!(budget > 0)) throw new Error('--budget: seconds, a positive number');
  if (values.plan !== undefined && values.plan !== 'engines') throw new Error('--plan: only "engines" (every shipped engine over the corpus, batch only)');
  const engines = values.plan === 'engines';
  // --pairs: a comma-separated list of words; only batch pairs whose key contains one of them run (a long plan in pieces)
  const pairs = values.pairs
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const list = (v: string | undefined) =>
    v
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const levels = list(values.levels)?.map(Number);
  if (levels?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--levels: stream counts, e.g. 1,2,4,6');
  const sustainP95 = values['sustain-p95'] === undefined ? undefined : Number(values['sustain-p95']);
  if (sustainP95 !== undefined && !(sustainP95 > 0)) throw new Error('--sustain-p95: seconds, a positive number');
  if (values.peer !== undefined && values.peer !== 'whisperlivekit') throw new Error('--peer: only "whisperlivekit"');
  const peerPolicies = list(values['peer-policy']) ?? ['localagreement'];
  for (const p of peerPolicies)
    if (!(WLK_POLICIES as readonly string[]).includes(p)) throw new Error(`--peer-policy: ${WLK_POLICIES.join(' and/or ')}, comma-separated`);
  if (values['peer-policy'] !== undefined && values.peer === undefined) throw new Error('--peer-policy needs --peer whisperlivekit');
  const stream: StreamArgs = {
    models: list(values['stream-models']),
    levels,
    sustainP95,
    variants: values.variants ?? false,
    variantMatch: list(values['variant-match']),
    peer: values.peer as StreamArgs['peer'],
    peerPolicies: [...new Set(peerPolicies)] as WlkPolicy[],
  };
  return {
    quick: values.quick ?? false,
    sections: engines ? ['batch'] : SECTIONS.filter((s) => only.includes(s)),
    out: values.out,
    budget,
    engines,
    pairs,
    stream,
  };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The reliability soak: its own report, named reliability-soak-<date>-<host>; runs under 10 minutes go to results/tmp. */
async function soak(minutes: number, out: string | undefined): Promise<void> {
  const machine = machineFacts();
  log(`soak: ${minutes} min on ${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverage.start.join(' ')}`);
  const result = await runSoak(soakPlan(minutes), log);
  const outDir = out ?? join(BENCH_DIR, 'results', minutes >= 10 ? '' : 'tmp');
  mkdirSync(outDir, { recursive: true });
  const name = `reliability-soak-${result.started.slice(0, 10)}-${machine.host}`;
  const md = renderSoakMarkdown(result) + '\n';
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ ...result, machine }, null, 2) + '\n');
  writeFileSync(join(outDir, `${name}.md`), md);
  process.stdout.write(md);
  log(`wrote ${join(outDir, name)}.{json,md}: ${result.pass ? 'PASS' : 'FAIL'}`);
  if (!result.pass) process.exitCode = 1;
}

async function main(): Promise<void> {
  const args = parse();
  if (args.soakMinutes !== undefined) return soak(args.soakMinutes, args.out);
  const plan = args.quick ? quickPlan() : fullPlan();
  if (args.engines) plan.batch = args.quick ? { ...enginesBatchPlan(), matrixClipIds: ['cards-001'], reps: 1 } : enginesBatchPlan();
  if (args.pairs) {
    const wanted = args.pairs;
    const keep = (key: string) => wanted.some((w) => key.includes(w));
    plan.batch = { ...plan.batch, pairs: plan.batch.pairs.filter((p) => keep(p.key)), corpusPairKeys: plan.batch.corpusPairKeys.filter(keep) };
    if (!plan.batch.pairs.length) throw new Error(`--pairs ${wanted.join(',')}: no batch pair matches`);
  }
  const began = performance.now();
  const started = new Date().toISOString();
  const machine = machineFacts();
  log(`${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverage.start.join(' ')}`);
  const workDir = mkdtempSync(join(tmpdir(), 'earshot-bench-audio-'));
  const result: BenchResult = {
    schema: 1,
    mode: args.quick ? 'quick' : 'full',
    sections: args.sections,
    started,
    wallSeconds: 0,
    sectionSeconds: {},
    command: [
      'npm run bench',
      args.quick || args.sections.length < SECTIONS.length ? '--' : '',
      args.quick ? '--quick' : '',
      args.engines ? '--plan engines' : args.sections.length < SECTIONS.length ? `--only ${args.sections.join(',')}` : '',
      args.pairs ? `--pairs ${args.pairs.join(',')}` : '',
      args.stream.models ? `--stream-models ${args.stream.models.join(',')}` : '',
      args.stream.levels ? `--levels ${args.stream.levels.join(',')}` : '',
      args.stream.sustainP95 !== undefined ? `--sustain-p95 ${args.stream.sustainP95}` : '',
      args.stream.variants ? '--variants' : '',
      args.stream.variantMatch ? `--variant-match ${args.stream.variantMatch.join(',')}` : '',
      args.stream.peer ? `--peer ${args.stream.peer} --peer-policy ${args.stream.peerPolicies.join(',')}` : '',
    ]
      .filter(Boolean)
      .join(' '),
    machine: { ...machine, versions: {} },
    notes: [
      'Shared machine: other work ran on these cores, so absolute times are noisy; read the ratios, which come from alternating Earshot and faster-whisper clip by clip (A/B, order flipped each time) and taking medians.',
      'Same weights on both sides: the ggml models were converted from the very CTranslate2 folder faster-whisper loads (f16 ↔ CT2 float32 compute on the float16-stored weights; q8_0 ↔ CT2 int8).',
      "OMP_WAIT_POLICY=PASSIVE on both sides (Earshot sets it for its worker). With libgomp's default spin-waiting, faster-whisper at 2 threads was several times slower on this busy 2-core machine — a load artifact, so it is not measured that way.",
      'CTranslate2 float16 is not benchmarked: it has no fast CPU path.',
    ],
  };
  const complete = !args.quick && !args.pairs && !args.stream.models && args.sections.length === SECTIONS.length;
  const outDir = args.out ?? join(BENCH_DIR, 'results', complete ? '' : 'tmp');
  const suffix = args.quick ? 'quick' : args.engines ? 'engines' : args.sections.join('-');
  // a partial run's name says what it ran, so it never overwrites another run's results
  const detail = [
    ...(args.pairs ?? []),
    ...(args.stream.models ?? []),
    ...(args.stream.peer ? [args.stream.peer, ...(args.stream.peerPolicies.join() === 'localagreement' ? [] : args.stream.peerPolicies)] : []),
  ];
  const name = `${started.slice(0, 10)}-${machine.host}${complete ? '' : `-${suffix}`}${detail.length ? `-${detail.join('-').replace(/[^\w.-]+/g, '_')}` : ''}`;
  // Written after each finished batch pair as well, marked partial, so a run cut short keeps what it measured.
  const write = (final: boolean): string => {
    result.machine.loadAverage.end = loadAverageNow();
    result.wallSeconds = Math.round((performance.now() - began) / 100) / 10;
    result.partial = final ? undefined : true;
    mkdirSync(outDir, { recursive: true });
    const json = JSON.stringify(result, null, 2) + '\n';
    const md = renderMarkdown(result) + '\n';
    writeFileSync(join(outDir, `${name}.json`), json);
    writeFileSync(join(outDir, `${name}.md`), md);
    if (final && complete && !args.out) {
      writeFileSync(join(outDir, 'latest.json'), json);
      writeFileSync(join(outDir, 'latest.md'), md);
    }
    return md;
  };
  try {
    const needsPython = args.sections.includes('batch') || args.sections.includes('memory');
    const python = needsPython ? await ensurePython(log) : '';
    const corpus = await loadCorpus(workDir, args.quick);
    log(
      `corpus: ${corpus.clips.length} clips (${corpus.clips.reduce((a, c) => a + c.duration, 0).toFixed(0)} s) + ${corpus.long.id} (${corpus.long.duration.toFixed(0)} s)`,
    );
    // Streams take consecutive clips from this pool: a LibriVox sentence, then a short cards phrase.
    const librivox = corpus.clips.filter((c) => c.set === 'librivox');
    const cards = corpus.clips.filter((c) => c.set === 'cards');
    const streamPool = librivox.length && cards.length ? librivox.flatMap((c, i) => [c, cards[i % cards.length]!]) : corpus.clips;
    const loadPool = corpus.clips.filter((c) => c.set === 'librivox' || c.set === 'cards');

    const timed = async <T>(section: Section, run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const value = await run();
      result.sectionSeconds[section] = Math.round((performance.now() - t) / 100) / 10;
      return value;
    };
    result.sectionSeconds.setup = Math.round((performance.now() - began) / 100) / 10;
    // Fixed-cost sections first; the batch section last, its extra repetitions sized to what is left of the budget.
    if (args.sections.includes('stream') && args.stream.models) {
      // named models only (e.g. the CPU-class Moonshine models), each with its batch WER on the same clips
      const s = args.stream;
      await timed('stream', async () => {
        for (const model of s.models!) {
          const r = await runStreaming(
            streamPool,
            {
              ...plan.stream,
              model,
              levels: s.levels ?? plan.stream.levels,
              sustainP95Seconds: s.sustainP95 ?? plan.stream.sustainP95Seconds,
              variants: s.variants ? liveVariants().filter((v) => !s.variantMatch || s.variantMatch.some((m) => v.label.includes(m))) : undefined,
              batchWer: true,
            },
            log,
          );
          if (result.stream) result.streamAlso = [...(result.streamAlso ?? []), r];
          else result.stream = r;
          write(false);
        }
      });
    } else if (args.sections.includes('stream')) {
      result.stream = await timed('stream', () => runStreaming(streamPool, plan.stream, log));
      // the same streams on the CPU-class models, when installed (engines issue: Moonshine on sherpa-onnx)
      for (const model of plan.streamAlso ?? []) {
        // a model this build has no engine for is skipped at once (a server would wait for it in vain)
        const installed = await new ModelStore().get(model);
        if (!installed || !registeredEngineKinds().includes(engineKindOf(installed))) {
          const why = installed ? `no ${engineKindOf(installed)} engine in this build` : 'not installed';
          log(`stream on ${model} skipped: ${why}`);
          result.notes.push(`Streaming on ${model} not measured: ${why}.`);
          continue;
        }
        try {
          const r = await runStreaming(streamPool, { ...plan.stream, model, variants: undefined }, log);
          result.streamAlso = [...(result.streamAlso ?? []), r];
        } catch (err) {
          log(`stream on ${model} skipped: ${(err as Error).message}`);
          result.notes.push(`Streaming on ${model} not measured: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    if (args.sections.includes('stream') && args.stream.peer === 'whisperlivekit') {
      const s = args.stream;
      // one policy at a time, each on its own server, after Earshot's streams
      for (const policy of s.peerPolicies) {
        try {
          const peer = await runWhisperLiveKit(
            streamPool,
            {
              levels: s.levels ?? plan.stream.levels,
              clipsPerStream: plan.stream.clipsPerStream,
              frameMs: 100,
              drainTimeoutSeconds: 60,
              sustainP95Seconds: s.sustainP95 ?? plan.stream.sustainP95Seconds,
              policy,
            },
            log,
          );
          result.streamPeers = [...(result.streamPeers ?? []), peer];
        } catch (err) {
          const why = (err as Error).message.split('\n').slice(0, 3).join(' | ');
          log(`whisperlivekit ${policy} not measured: ${why}`);
          result.notes.push(`WhisperLiveKit (${policy}) not measured: ${why}`);
        }
        write(false);
      }
    }
    if (args.sections.includes('load')) result.load = await timed('load', () => runLoad(loadPool, plan.load, log));
    if (args.sections.includes('latency')) {
      const short = corpus.clips.filter((c) => c.set === 'librivox' || c.set === 'cards');
      result.latency = await timed('latency', () => runLatency(short, plan.latency, log));
    }
    if (args.sections.includes('memory')) {
      const clip = corpus.clips.find((c) => c.id === plan.memoryClip) ?? corpus.clips[0]!;
      result.memory = await timed('memory', () => runMemory(clip, plan.memory, python, log));
    }
    if (args.sections.includes('batch')) {
      const left = args.budget - (performance.now() - began) / 1000;
      result.batch = await timed('batch', () =>
        runBatch({
          corpus,
          plan: { ...plan.batch, budgetSeconds: Math.min(plan.batch.budgetSeconds, left) },
          python,
          log,
          onProgress: (partial) => {
            result.batch = partial;
            Object.assign(result.machine.versions, partial.versions);
            write(false);
            log(`batch: wrote ${join(outDir, name)}.{json,md} so far (${partial.corpus.length} corpus pair(s))`);
          },
        }),
      );
      Object.assign(result.machine.versions, result.batch.versions);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const md = write(true);
  process.stdout.write(md);
  log(`wrote ${join(outDir, name)}.{json,md} in ${result.wallSeconds} s`);
  // A quick run is CI's smoke test of the benchmark: it fails when any section came out incomplete.
  if (args.quick && args.sections.length === SECTIONS.length) {
    checkQuickResult(result, md);
    log('quick run complete: every section measured both engines');
  }
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
