// npm run fuzz -- [--cases N] [--seconds S] [--seed X]
// The longer hostile-input run: the generated audio corpus through /transcribe and the OpenAI route,
// N seeded fuzz cases on each of /ws, /v1/realtime, Wyoming and /api/monitor (each beside a
// well-behaved /ws session), and the decompression-bomb figure (time to refusal under the duration
// limit vs decoding the whole file). Writes bench/results/reliability-fuzz.{json,md}.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { decodeAudio } from '../src/audio/decode.js';
import { pocketsphinxClips } from '../src/eval/corpus.js';
import { werCount } from '../src/eval/wer.js';
import { isolatedHome } from '../test/e2e/browser.js';
import { clipPcm16, type FuzzInterface, type FuzzResult, fuzzInterface, goodWsSession } from '../test/fuzz/protocol-fuzz.js';
import { hostileCorpus, silenceFlac } from '../test/helpers/hostile-audio.js';
import { freePort, ROOT, startServer } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '120' }, seed: { type: 'string' } },
});
const cases = Number(values.cases);
const seconds = Number(values.seconds);
const seed = Number(values.seed ?? Date.now() % 1_000_000);
const LIMIT_S = 120;
console.log(`fuzz seed ${seed}: replay with --seed ${seed}`);

const dir = mkdtempSync(join(tmpdir(), 'earshot-fuzz-run-'));
const wyoming = `tcp://127.0.0.1:${await freePort()}`;
const server = await startServer({
  model: 'tiny.en',
  args: ['--wyoming', wyoming, '--no-zeroconf'],
  env: { EARSHOT_HOME: await isolatedHome(dir), EARSHOT_LIVE_MODEL: 'tiny.en', EARSHOT_MAX_AUDIO_SECONDS: String(LIMIT_S) },
});
const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
const pcm = clipPcm16(clip.path);
const report: Record<string, unknown> = { seed, date: new Date().toISOString(), machine: `${(await import('node:os')).cpus().length} CPUs`, model: 'tiny.en' };

try {
  // 1. audio corpus, both routes
  const corpus = hostileCorpus({ bombHours: 10 });
  const audio = { files: corpus.length, requests: 0, status: {} as Record<string, number>, fiveHundreds: 0 };
  for (const route of ['/transcribe', '/v1/audio/transcriptions']) {
    for (const c of corpus) {
      const form = new FormData();
      if (c.filename.endsWith('.pcm')) form.append('format', 'pcm_f32le');
      if (route.startsWith('/v1')) form.append('model', 'whisper-1');
      form.append('file', new Blob([c.bytes], { type: c.mimetype }), c.filename);
      const res = await fetch(`${server.url}${route}`, { method: 'POST', body: form });
      await res.arrayBuffer();
      audio.requests++;
      audio.status[res.status] = (audio.status[res.status] ?? 0) + 1;
      if (res.status >= 500) audio.fiveHundreds++;
    }
  }
  report.audio = audio;

  // 2. the bomb: refusal time under the limit vs a full decode of the same file
  const bomb = silenceFlac(10, dir);
  writeFileSync(join(dir, 'bomb.flac'), bomb);
  let t = performance.now();
  const refusal = await decodeAudio({ stream: Readable.from([bomb]), filename: 'bomb.flac' }, { maxBytes: 1 << 30, maxSeconds: LIMIT_S }).catch(
    (e: unknown) => e,
  );
  const refusedMs = performance.now() - t;
  t = performance.now();
  execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'bomb.flac'), '-ac', '1', '-ar', '16000', '-f', 'f32le', '-y', '/dev/null']);
  const fullMs = performance.now() - t;
  report.bomb = {
    fileBytes: bomb.length,
    audioHours: 10,
    limitSeconds: LIMIT_S,
    refusedAfterSeconds: (refusal as { decodedSeconds?: number }).decodedSeconds,
    refusedMs: Math.round(refusedMs),
    fullDecodeMs: Math.round(fullMs),
  };

  // 3. protocols, each beside a good session
  const protocols: Array<FuzzResult & { goodSessionWer: number }> = [];
  for (const iface of ['ws', 'realtime', 'wyoming', 'monitor'] as FuzzInterface[]) {
    const good = goodWsSession(server.url, pcm);
    const r = await fuzzInterface({ url: server.url, wyoming }, iface, { seed, cases, deadlineMs: Date.now() + seconds * 1000 });
    const text = await good;
    const { errors, words } = werCount(clip.reference, text);
    protocols.push({ ...r, failures: r.failures.slice(0, 20), goodSessionWer: errors / words });
    console.log(`${iface}: ${r.cases} cases, ${r.failures.length} failures, good session WER ${(errors / words).toFixed(3)}`);
  }
  report.protocols = protocols;
  report.serverAlive = server.child.exitCode === null && (await fetch(`${server.url}/health`)).status === 200;
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

const out = join(ROOT, 'bench', 'results');
writeFileSync(join(out, 'reliability-fuzz.json'), `${JSON.stringify(report, null, 2)}\n`);
const a = report.audio as { files: number; requests: number; status: Record<string, number>; fiveHundreds: number };
const b = report.bomb as { fileBytes: number; limitSeconds: number; refusedAfterSeconds: number; refusedMs: number; fullDecodeMs: number };
const p = report.protocols as Array<FuzzResult & { goodSessionWer: number }>;
const md = [
  '# Reliability: hostile input (`npm run fuzz`)',
  '',
  `Run ${report.date} on this machine (${report.machine}, shared with other work), model tiny.en, seed ${seed} (\`npm run fuzz -- --seed ${seed}\` replays it).`,
  '',
  '## Audio corpus and multipart',
  '',
  `${a.files} generated files (empty, truncated, lying headers, 1 Hz / 384 kHz, 8 channels, NaN/Inf float, non-audio under audio names, nested containers, 10 h of FLAC silence) through \`/transcribe\` and \`/v1/audio/transcriptions\`: ${a.requests} requests, statuses ${Object.entries(
    a.status,
  )
    .map(([s, n]) => `${s}×${n}`)
    .join(', ')}; **${a.fiveHundreds} 5xx**.`,
  '',
  `Decompression bomb: ${b.fileBytes} bytes of FLAC holding 10 h of audio, duration limit ${b.limitSeconds} s: refused after decoding ${b.refusedAfterSeconds?.toFixed(1)} s of it, in ${b.refusedMs} ms; decoding the whole file takes ${b.fullDecodeMs} ms (same run).`,
  '',
  '## Protocol fuzz',
  '',
  '| interface | cases | frames | error replies | closes | failures | concurrent good /ws session WER |',
  '|---|---:|---:|---:|---|---:|---:|',
  ...p.map(
    (r) =>
      `| ${r.iface} | ${r.cases} | ${r.frames} | ${r.errorReplies} | ${Object.entries(r.closes)
        .map(([k, n]) => `${k}×${n}`)
        .join(' ')} | ${r.failures.length} | ${r.goodSessionWer.toFixed(3)} |`,
  ),
  '',
  `Server alive and healthy at the end: ${report.serverAlive ? 'yes' : 'NO'}.`,
  '',
].join('\n');
writeFileSync(join(out, 'reliability-fuzz.md'), md);
console.log(md);
const failed = p.some((r) => r.failures.length > 0) || a.fiveHundreds > 0 || !report.serverAlive;
process.exit(failed ? 1 : 0);
