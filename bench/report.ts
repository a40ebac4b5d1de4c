// Renders a bench result as Markdown (bench/results/*.md and the console).
import type { BatchResult, PairResult } from './batch.js';
import type { MachineFacts } from './lib/machine.js';
import { renderLatency, type LatencyResult } from './latency.js';
import type { LoadResult } from './load.js';
import type { MemoryResult } from './memory.js';
import type { StreamResult } from './stream.js';
import type { WlkResult } from './whisperlivekit.js';

export interface BenchResult {
  schema: 1;
  mode: 'full' | 'quick';
  sections: string[];
  started: string;
  wallSeconds: number;
  /** wall seconds per section (setup = venv check, audio decoding) */
  sectionSeconds: Record<string, number>;
  command: string;
  machine: MachineFacts & { versions: Record<string, string | undefined> };
  batch?: BatchResult;
  stream?: StreamResult;
  streamAlso?: StreamResult[];
  /** the streaming peer on the same streams (WhisperLiveKit) */
  streamPeers?: WlkResult[];
  load?: LoadResult;
  memory?: MemoryResult;
  latency?: LatencyResult;
  notes: string[];
  /** written mid-run: the sections and pairs finished so far */
  partial?: true;
}

const n = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`);
const ratio = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v.toFixed(2)}×`);

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function corpusTable(p: PairResult): string {
  const sets = [...new Set(p.clips.map((c) => c.set))];
  const rows = sets.map((set) => {
    const cs = p.clips.filter((c) => c.set === set);
    const audio = cs.reduce((a, c) => a + c.audioSeconds, 0);
    const e = cs.reduce((a, c) => a + (c.earshotSeconds ?? 0), 0);
    const f = cs.reduce((a, c) => a + (c.fwSeconds ?? 0), 0);
    const ec = cs.reduce((a, c) => a + (c.earshotCpuSeconds ?? 0), 0);
    const fc = cs.reduce((a, c) => a + (c.fwCpuSeconds ?? 0), 0);
    const wer = p.wer.bySet?.[set];
    return [
      set === 'long' ? 'long (~5 min file)' : set,
      String(cs.length),
      n(audio, 1),
      n(e / audio, 3),
      n(f / audio, 3),
      ratio(e / f),
      ratio(ec / fc),
      pct(wer?.earshot),
      pct(wer?.fasterWhisper),
    ];
  });
  rows.push([
    '**all**',
    String(p.clips.length),
    n(p.audioSeconds, 1),
    n(p.earshotRtf, 3),
    n(p.fwRtf, 3),
    `**${ratio(p.ratio)}**`,
    `**${ratio(p.cpuRatio)}**`,
    pct(p.wer.earshot) + ' ¹',
    pct(p.wer.fasterWhisper) + ' ¹',
  ]);
  return table(
    ['clips', 'n', 'audio s', 'Earshot RTF', 'faster-whisper RTF', 'wall-time ratio E/F', 'CPU-time ratio E/F', 'Earshot WER', 'faster-whisper WER'],
    rows,
  );
}

/** "whisper.cpp q8_0", "CTranslate2 int8 + skip silence", … */
function engineLabel(p: PairResult): string {
  const e = p.earshot;
  const name = e.engine === 'ct2' ? `CTranslate2 ${p.fasterWhisper.computeType}` : `whisper.cpp ${e.format}`;
  if (e.skipSilence === 'always') return `${name} + skip silence`;
  return e.skipSilence === 'long' ? `${name} + skip silence > 30 s` : name;
}

function spread(values: Array<number | null>): string {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (!v.length) return '—';
  const mid = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return `${ratio(v[0])}–${ratio(v[v.length - 1])} (median ${ratio(mid)})`;
}

/** The handful of numbers a reader wants first, all as ratios. */
export function keyRatios(r: BenchResult): string[] {
  const lines: string[] = [];
  const b = r.batch;
  if (b) {
    for (const p of b.corpus) {
      lines.push(
        `Whole corpus (${p.clips.length} files, ${n(p.audioSeconds / 60, 1)} min of audio), ${engineLabel(p)} (${p.key}): processing time **${ratio(p.cpuRatio)}** by CPU time, ${ratio(p.ratio)} by wall time; WER ${pct(p.wer.earshot)} vs ${pct(p.wer.fasterWhisper)}.`,
      );
    }
    if (b.matrix.length) {
      lines.push(
        `All ${b.matrix.length} configurations (f16↔float32, q8_0↔int8; 1/2 threads; greedy/beam 5) on ${b.plan.matrixClips.join(', ')}: CPU time ${spread(b.matrix.map((p) => p.cpuRatio))}, wall time ${spread(b.matrix.map((p) => p.ratio))}.`,
      );
    }
    const loads = (engine: string) =>
      b.loadTimes
        .filter((l) => l.engine === engine)
        .map((l) => l.seconds)
        .sort((x, y) => x - y);
    const e = loads('earshot');
    const f = loads('faster-whisper');
    if (e.length && f.length)
      lines.push(`Model load (process start → ready): ${ratio(e[Math.floor(e.length / 2)]! / f[Math.floor(f.length / 2)]!)} (medians).`);
  }
  const mem = r.memory;
  if (mem) {
    const pairs: Array<[string, string, string]> = [
      ['base', 'float32', 'base f16 ↔ float32'],
      ['base-q8_0', 'int8', 'base q8_0 ↔ int8'],
      ['tiny.en', 'float32', 'tiny.en f16 ↔ float32'],
    ];
    const parts: string[] = [];
    for (const [earshotModel, compute, label] of pairs) {
      const e = mem.rows.find((x) => x.engine === 'earshot' && x.model === earshotModel);
      const f = mem.rows.find(
        (x) => x.engine === 'faster-whisper' && x.model === (earshotModel === 'base-q8_0' ? 'base' : earshotModel) && x.format.startsWith(compute),
      );
      if (e?.workerMiB && e.totalMiB && f?.totalMiB)
        parts.push(`${label}: worker ${ratio(e.workerMiB / f.totalMiB)}, server + worker ${ratio(e.totalMiB / f.totalMiB)}`);
    }
    if (parts.length) lines.push(`Peak memory after one transcription — ${parts.join('; ')}.`);
  }
  const lat = r.latency;
  if (lat && lat.engines.length > 1) {
    const ref = lat.engines[0]!;
    const others = lat.engines.slice(1).map((e) => `${e.model} ${e.latencyRatio === null ? '—' : `${e.latencyRatio.toFixed(2)}×`} (WER ${pct(e.wer)})`);
    lines.push(`Short clips, median latency vs ${ref.model} (WER ${pct(ref.wer)}): ${others.join(', ')}.`);
  }
  // Server-side figures have no faster-whisper counterpart: stated as they are.
  for (const st of [r.stream, ...(r.streamAlso ?? [])]) {
    if (st)
      lines.push(
        `Streaming (${st.model}): ${st.maxSustainedStreams} concurrent real-time stream(s) sustained on this machine (see the table for latency under overload).`,
      );
  }
  if (r.load)
    lines.push(
      `Server under load (${r.load.model}): ${r.load.levels.reduce((a, l) => a + l.errors, 0)} errors in ${r.load.levels.reduce((a, l) => a + l.requests, 0)} requests up to ${Math.max(...r.load.levels.map((l) => l.clients))} concurrent clients.`,
    );
  return lines;
}

export function renderMarkdown(r: BenchResult): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(
    `# Earshot vs faster-whisper — ${r.started.slice(0, 10)} on ${m.host}${r.mode === 'quick' ? ' (quick smoke run: timings mean nothing)' : ''}${r.partial ? ' (partial: written mid-run)' : ''}`,
  );
  out.push('');
  const parts = Object.entries(r.sectionSeconds)
    .map(([k, v]) => `${k} ${n(v, 0)} s`)
    .join(', ');
  out.push(`\`${r.command}\` — ${n(r.wallSeconds, 0)} s wall (${parts})`);
  out.push('');
  out.push(
    table(
      ['machine', ''],
      [
        ['CPU', `${m.cpuModel}, ${m.cores} logical cores, ${m.memoryGiB} GiB`],
        ['SIMD flags', m.simdFlags.join(' ') || '—'],
        ['load average (1/5/15 min) start → end', `${m.loadAverage.start.join(' / ')} → ${m.loadAverage.end?.join(' / ') ?? '—'}`],
        ['kernel / Node', `${m.kernel} / ${m.node}`],
        ['whisper.cpp (Earshot worker)', m.versions.whisperCpp ?? '—'],
        ['faster-whisper / CTranslate2', `${m.versions.fasterWhisper ?? '—'} / ${m.versions.ctranslate2 ?? '—'}`],
        ['Earshot commit', m.gitCommit ?? '—'],
      ],
    ),
  );
  out.push('');
  const key = keyRatios(r);
  if (key.length) {
    out.push('**Key ratios** (Earshot ÷ faster-whisper; above 1 means Earshot takes longer or uses more):');
    out.push('');
    for (const line of key) out.push(`- ${line}`);
    out.push('');
  }
  for (const note of r.notes) out.push(`- ${note}`);
  out.push('');

  const b = r.batch;
  if (b) {
    out.push('## Batch: the same audio, weights and decoding settings');
    out.push('');
    out.push(
      'Ratios are Earshot ÷ faster-whisper (above 1: Earshot slower), from medians of A/B-alternated runs. Wall-time ratio: what a caller waits. CPU-time ratio: user+system seconds of each engine process over the same call — the work done, which other load on a shared machine disturbs far less than wall time. RTF = wall processing time ÷ audio duration; model load excluded.',
    );
    out.push('');
    for (const p of b.corpus) {
      out.push(`### Whole corpus — ${p.key} (${p.repetitions} run${p.repetitions > 1 ? 's' : ''})`);
      out.push('');
      out.push(corpusTable(p));
      out.push('');
      out.push(
        `Median per-clip ratio: wall ${ratio(p.medianClipRatio)}, CPU ${ratio(p.medianClipCpuRatio)}. ¹ pooled over the separately scored clips (the long file repeats their speech).`,
      );
      out.push('');
    }
    if (b.corpus.length > 1) {
      out.push('### Engines side by side — whole corpus, each against faster-whisper int8 in the same run');
      out.push('');
      out.push(
        table(
          [
            'Earshot engine (config)',
            'Earshot CPU s',
            'faster-whisper CPU s',
            'CPU-time ratio E/F',
            'wall-time ratio E/F',
            'Earshot WER',
            'faster-whisper WER',
            'long file WER E / F',
          ],
          b.corpus.map((p) => [
            `${engineLabel(p)} (${p.key})`,
            n(p.earshotCpuSeconds, 1),
            n(p.fwCpuSeconds, 1),
            `**${ratio(p.cpuRatio)}**`,
            ratio(p.ratio),
            pct(p.wer.earshot),
            pct(p.wer.fasterWhisper),
            `${pct(p.wer.bySet?.long?.earshot)} / ${pct(p.wer.bySet?.long?.fasterWhisper)}`,
          ]),
        ),
      );
      out.push('');
      out.push('### Short utterances (1–5 s): wall seconds per clip, medians, same run');
      out.push('');
      const short = b.corpus[0]!.clips.filter((c) => c.audioSeconds >= 1 && c.audioSeconds <= 5);
      const head = ['clip', 'audio s', 'faster-whisper int8', ...b.corpus.map((p) => engineLabel(p))];
      const rows = short.map((c) => [
        c.id,
        n(c.audioSeconds, 1),
        n(c.fwSeconds),
        ...b.corpus.map((p) => n(p.clips.find((x) => x.id === c.id)?.earshotSeconds)),
      ]);
      const medianOf = (xs: Array<number | null | undefined>) => {
        const v = xs.filter((x): x is number => typeof x === 'number').sort((a, z) => a - z);
        return v.length ? v[Math.floor(v.length / 2)]! : null;
      };
      rows.push([
        '**median**',
        '',
        n(medianOf(short.map((c) => c.fwSeconds))),
        ...b.corpus.map((p) => n(medianOf(short.map((c) => p.clips.find((x) => x.id === c.id)?.earshotSeconds)))),
      ]);
      out.push(table(head, rows));
      out.push('');
    }
    out.push(`### Every configuration — ${b.plan.matrixClips.join(', ')} (${b.plan.repsRun} of ${b.plan.repsPlanned} repetitions)`);
    out.push('');
    out.push(
      table(
        [
          'Earshot ggml / faster-whisper compute, threads, decoding',
          'Earshot RTF',
          'faster-whisper RTF',
          'wall-time ratio E/F',
          'CPU-time ratio E/F',
          'Earshot WER',
          'faster-whisper WER',
        ],
        b.matrix.map((p) => [
          `${engineLabel(p)}: ${p.key}`,
          n(p.earshotRtf, 3),
          n(p.fwRtf, 3),
          `**${ratio(p.ratio)}**`,
          `**${ratio(p.cpuRatio)}**`,
          pct(p.wer.earshot),
          pct(p.wer.fasterWhisper),
        ]),
      ),
    );
    out.push('');
    out.push('### Model load (process start → ready)');
    out.push('');
    out.push(
      table(
        ['engine', 'config', 'seconds'],
        b.loadTimes.map((l) => [l.engine, l.config, n(l.seconds)]),
      ),
    );
    out.push('');
    out.push(
      'Decoding settings (both sides): ' +
        Object.entries(b.settings)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join('; ') +
        '.',
    );
    out.push('');
  }

  for (const s of [r.stream, ...(r.streamAlso ?? [])]) {
    if (!s) continue;
    out.push(`## Streaming: concurrent real-time /ws streams (${s.model})`);
    out.push('');
    out.push(
      table(
        [
          'streams',
          'audio s each',
          'final latency p50 / p95 s',
          'first text p50 / p95 s',
          'first partial p50 / p95 s',
          'finals / clips without one',
          'dropped audio s',
          'errors',
          'WER',
          'real time',
        ],
        s.levels.map((l) => [
          String(l.streams),
          n(l.audioSecondsPerStream, 1),
          `${n(l.finalLatency.p50)} / ${n(l.finalLatency.p95)}`,
          l.firstText ? `${n(l.firstText.p50)} / ${n(l.firstText.p95)}` : '–',
          `${n(l.firstPartial.p50)} / ${n(l.firstPartial.p95)}`,
          `${l.finalsReceived} / ${l.clipsWithoutFinal}`,
          n(l.droppedAudioSeconds, 1),
          String(l.errors.length),
          pct(l.wer),
          l.sustained ? 'yes' : 'no',
        ]),
      ),
    );
    out.push('');
    out.push(
      `Largest count sustained in real time: **${s.maxSustainedStreams}** (nothing dropped or lost, no errors, p95 end-of-speech → final ≤ ${s.sustainP95Seconds} s). Latency runs from sending a clip's last speech sample (its last 10 ms frame within 30 dB of its peak) to the final's arrival, VAD hangover included; first text from its first speech sample; frames of ${s.frameMs.join('/')} ms.`,
    );
    out.push('');
    if (s.batch) {
      out.push(
        `The same model in batch on stream 1's ${s.batch.clips} clips (POST /transcribe, same server): WER ${pct(s.batch.wer)}, median ${n(s.batch.medianSeconds)} s per clip.`,
      );
      out.push('');
    }
    const scheduled = s.levels.filter((l) => l.schedule);
    if (scheduled.length) {
      out.push("Schedule, from the sessions' own `stats` reports (all streams of a level together):");
      out.push('');
      out.push(
        table(
          ['streams', 'partial decodes', 'speculative finals (cancelled)', 'finals reused / decoded after the end', 'mean session RTF', 'max lag s'],
          scheduled.map((l) => [
            String(l.streams),
            String(l.schedule.partialDecodes),
            `${l.schedule.speculativeDecodes} (${l.schedule.speculativeCancelled})`,
            `${l.schedule.finalsReused} / ${l.schedule.finalsDecoded}`,
            n(l.schedule.meanRtf, 3),
            n(l.schedule.maxLagSeconds),
          ]),
        ),
      );
      out.push('');
    }
    if (s.variants?.length) {
      out.push('Session settings compared (one stream each, the same audio):');
      out.push('');
      out.push(
        table(
          ['settings', 'final latency p50 / p95 s', 'first text p50 / p95 s', 'finals', 'speculative finals (cancelled)', 'WER'],
          s.variants.map((v) => [
            v.label,
            `${n(v.result.finalLatency.p50)} / ${n(v.result.finalLatency.p95)}`,
            `${n(v.result.firstText.p50)} / ${n(v.result.firstText.p95)}`,
            String(v.result.finalsReceived),
            `${v.result.schedule.speculativeDecodes} (${v.result.schedule.speculativeCancelled})`,
            pct(v.result.wer),
          ]),
        ),
      );
      out.push('');
    }
  }

  const peers = r.streamPeers ?? [];
  if (peers.length) {
    const versions = [...new Set(peers.map((p) => `${p.system} ${p.version ?? ''}`.trim()))].join(', ');
    out.push(`## Streaming peer: ${versions}, the same streams, after Earshot's`);
    out.push('');
    out.push(
      table(
        ['policy', 'streams', 'end → committed p50 / p95 s', 'first text p50 / p95 s', 'clips never committed', 'errors', 'WER', 'real time'],
        peers.flatMap((peer) =>
          peer.levels.map((x) => [
            peer.policy,
            String(x.streams),
            `${n(x.finalLatency.p50)} / ${n(x.finalLatency.p95)}`,
            `${n(x.firstText.p50)} / ${n(x.firstText.p95)}`,
            String(x.clipsWithoutFinal),
            String(x.errors.length),
            pct(x.wer),
            x.sustained ? 'yes' : 'no',
          ]),
        ),
      ),
    );
    out.push('');
    for (const peer of peers) for (const s of peer.settings) out.push(`- ${peer.policy}: ${s}`);
    out.push('');
  }

  const l = r.load;
  if (l) {
    out.push(`## Server under load: concurrent POST /transcribe (${l.model})`);
    out.push('');
    out.push(
      table(
        ['clients', 'requests', 'ok', 'errors', 'req/s', 'audio s per s', 'latency p50 / p95 / p99 s'],
        l.levels.map((x) => [
          String(x.clients),
          String(x.requests),
          String(x.ok),
          x.errors ? `**${x.errors}** (${x.errorSamples.join('; ')})` : '0',
          n(x.requestsPerSecond, 3),
          n(x.audioSecondsPerSecond),
          `${n(x.latency.p50)} / ${n(x.latency.p95)} / ${n(x.latency.p99)}`,
        ]),
      ),
    );
    out.push('');
    out.push(`Peak RSS after the load levels: server ${n(l.peakMiB.server, 0)} MiB, worker(s) ${l.peakMiB.workers.map((w) => n(w, 0)).join(', ')} MiB.`);
    out.push('');
  }

  if (r.latency) {
    out.push(renderLatency(r.latency));
    out.push('');
  }

  const mem = r.memory;
  if (mem) {
    out.push(`## Memory: peak RSS (VmHWM) after load + one transcription of ${mem.clip} (${mem.threads} threads)`);
    out.push('');
    out.push(
      table(
        ['engine', 'model', 'format', 'process MiB', 'whisper.cpp worker MiB', 'total MiB'],
        mem.rows.map((x) => [x.engine, x.model, x.format, n(x.processMiB, 0), x.workerMiB === undefined ? '—' : n(x.workerMiB, 0), n(x.totalMiB, 0)]),
      ),
    );
    out.push('');
    out.push('Earshot: process = the Node server, the model lives in the whisper.cpp worker; faster-whisper: one Python process.');
    out.push('');
  }
  if (b) {
    out.push('Peak RSS of the batch engine processes after all their work (the corpus configuration transcribed the ~5 min file too):');
    out.push('');
    out.push(
      table(
        ['engine', 'config', 'peak MiB'],
        b.processPeaks.map((x) => [x.engine, x.config, n(x.peakMiB, 0)]),
      ),
    );
    out.push('');
  }
  return out.join('\n');
}
