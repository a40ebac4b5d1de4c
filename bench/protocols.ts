// node --import tsx bench/protocols.ts [--model base] [--rounds 2] [--out DIR]
// End of speech → transcript over each live interface, same audio, same model, same server:
//   /ws                 the `final` message (Earshot's own protocol);
//   Wyoming             the `transcript` event, driven by the `wyoming` Python package as Home Assistant does
//                       (transcribe, audio-start, chunks, audio-stop after 1 s of trailing silence);
//   OpenAI Realtime     `conversation.item.input_audio_transcription.completed`, driven by the official
//                       `openai` Node SDK with server VAD (silence_duration_ms 500).
// Each turn is one connection carrying 0.5 s of silence, one LibriVox sentence and 1 s of silence, sent at
// real time. Latency runs from the wall time the frame holding the sentence's last sample was sent to the
// arrival of the result. Interfaces take turns clip by clip (order rotated each round), so load on this
// shared machine hits all three alike; read the medians side by side.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import { pocketsphinxClips } from '../src/eval/corpus.js';
import { pooledWer } from '../src/eval/wer.js';
import { freePort } from '../src/util/free-port.js';
import { BENCH_DIR } from './lib/faster-whisper.js';
import { loadAverageNow, machineFacts } from './lib/machine.js';
import { startServer } from './lib/server.js';
import { median, percentile, round } from './lib/stats.js';

const RATE = 16000;
const LEAD_S = 0.5;
const TAIL_S = 1.0;
type Iface = 'ws' | 'wyoming' | 'realtime';
const IFACES: Iface[] = ['ws', 'wyoming', 'realtime'];

function log(line: string): void {
  process.stderr.write(`[bench-protocols ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** 16 kHz mono s16le turn: lead silence, the clip, tail silence (ffmpeg decodes and resamples). */
function turnPcm(path: string, rate: number): { pcm: Buffer; clipEnd: number } {
  const clip = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 's16le', '-ac', '1', '-ar', String(rate), '-'], { maxBuffer: 64 << 20 });
  const lead = Buffer.alloc(Math.round(LEAD_S * rate) * 2);
  const tail = Buffer.alloc(Math.round(TAIL_S * rate) * 2);
  return { pcm: Buffer.concat([lead, clip, tail]), clipEnd: LEAD_S + clip.length / 2 / rate };
}

/** Sends `pcm` in frames at real time; returns the wall time the frame holding stream second `mark` went out. */
async function pace(pcm: Buffer, rate: number, frameBytes: number, send: (b: Buffer) => void, mark: number): Promise<number> {
  const t0 = performance.now();
  let markAt = Number.NaN;
  const markByte = Math.floor(mark * rate) * 2;
  for (let at = 0; at < pcm.length; at += frameBytes) {
    send(pcm.subarray(at, at + frameBytes));
    if (at <= markByte && markByte < at + frameBytes) markAt = performance.now();
    const wait = t0 + ((at + frameBytes) / 2 / rate) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return markAt;
}

async function viaWs(url: string, path: string): Promise<{ latency: number; text: string }> {
  const { pcm, clipEnd } = turnPcm(path, RATE);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const finals: Array<{ text: string; at: number }> = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; text?: string };
      if (m.type === 'final') finals.push({ text: m.text!, at: performance.now() });
      if (m.type === 'done') resolve();
    });
    ws.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: RATE, encoding: 'pcm_s16le', partials: true, enrich: false }));
  const endAt = await pace(pcm, RATE, 3200, (b) => ws.send(b), clipEnd);
  ws.send(JSON.stringify({ type: 'stop' }));
  await done;
  ws.close();
  if (finals.length === 0) throw new Error('/ws: no final');
  return { latency: (finals.at(-1)!.at - endAt) / 1000, text: finals.map((f) => f.text).join(' ') };
}

async function viaWyoming(uri: string, path: string, python: string, dir: string): Promise<{ latency: number; text: string }> {
  const { pcm, clipEnd } = turnPcm(path, RATE);
  const raw = join(dir, 'turn.raw');
  writeFileSync(raw, pcm);
  const out = execFileSync(
    python,
    [join(BENCH_DIR, '..', 'test', 'protocols', 'wyoming_client.py'), 'transcribe', uri, raw, String(RATE), '2', '1', 'en', '1'],
    {
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  const lines = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; t?: number; data?: { text?: string } });
  const transcript = lines.find((l) => l.type === 'transcript');
  if (!transcript) throw new Error(`wyoming: no transcript:\n${out}`);
  // the client paces 1024-sample chunks from t = 0; the chunk holding the clip's last sample went out here
  const endSent = (Math.floor((clipEnd * RATE) / 1024) * 1024) / RATE;
  return { latency: transcript.t! - endSent, text: transcript.data!.text ?? '' };
}

async function viaRealtime(url: string, port: number, path: string): Promise<{ latency: number; text: string }> {
  const { pcm, clipEnd } = turnPcm(path, 24000);
  const client = new OpenAI({ apiKey: 'unused', baseURL: `${url}/v1` });
  // the SDK dials wss://; the bench server is plain HTTP on loopback, so ws gets the socket directly
  const rt = new OpenAIRealtimeWS({ model: 'whisper-1', options: { createConnection: () => netConnect(port, '127.0.0.1') } }, client);
  const completed: Array<{ text: string; at: number }> = [];
  let committed = 0;
  rt.on('input_audio_buffer.committed', () => committed++);
  rt.on('conversation.item.input_audio_transcription.completed', (e) => completed.push({ text: e.transcript, at: performance.now() }));
  rt.on('error', (err) => log(`realtime error: ${err.message}`));
  await new Promise<void>((resolve, reject) => rt.socket.once('open', () => resolve()).once('error', reject));
  rt.send({
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: { input: { transcription: { model: 'whisper-1', language: 'en' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } },
    },
  });
  const endAt = await pace(pcm, 24000, 4800, (b) => rt.send({ type: 'input_audio_buffer.append', audio: b.toString('base64') }), clipEnd);
  const deadline = performance.now() + 120_000;
  while ((committed === 0 || completed.length < committed) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  rt.close();
  if (completed.length === 0) throw new Error('realtime: no completed transcript');
  return { latency: (completed.at(-1)!.at - endAt) / 1000, text: completed.map((c) => c.text).join(' ') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'base' }, rounds: { type: 'string', default: '2' }, out: { type: 'string' } } });
  const rounds = Number(values.rounds);
  const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');
  execFileSync('bash', [join(BENCH_DIR, '..', 'scripts', 'test-venv.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const python = join(BENCH_DIR, '..', 'test', '.venv', 'bin', 'python');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-protocols-'));
  const wyomingPort = await freePort();
  const wyomingUri = `tcp://127.0.0.1:${wyomingPort}`;
  const machine = machineFacts();
  const started = new Date().toISOString();
  log(`${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverage.start.join(' ')}`);
  // live sessions on the same model as everything else (model.live 'auto' could pick Moonshine)
  process.env.EARSHOT_LIVE_MODEL = values.model;
  const server = await startServer({ model: values.model!, args: ['--wyoming', wyomingUri, '--no-zeroconf'] });
  const port = Number(new URL(server.url).port);
  const samples: Record<Iface, Array<{ clip: string; round: number; latency: number; text: string; reference: string }>> = {
    ws: [],
    wyoming: [],
    realtime: [],
  };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [i, clip] of clips.entries()) {
        // rotate who goes first so a busy moment does not always fall on the same interface
        const order = IFACES.map((_, k) => IFACES[(k + i + r) % IFACES.length]!);
        for (const iface of order) {
          const res =
            iface === 'ws'
              ? await viaWs(server.url, clip.path)
              : iface === 'wyoming'
                ? await viaWyoming(wyomingUri, clip.path, python, dir)
                : await viaRealtime(server.url, port, clip.path);
          samples[iface].push({ clip: clip.id, round: r, latency: res.latency, text: res.text, reference: clip.reference });
          log(`round ${r + 1} ${clip.id.slice(-4)} ${iface.padEnd(8)} ${res.latency.toFixed(2)} s  ${res.text}`);
        }
      }
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = Object.fromEntries(
    IFACES.map((iface) => {
      const l = samples[iface].map((s) => s.latency);
      return [
        iface,
        {
          n: l.length,
          p50: round(median(l)),
          p95: round(percentile(l, 95)),
          max: round(Math.max(...l)),
          wer: round(pooledWer(samples[iface].map((s) => ({ reference: s.reference, hypothesis: s.text })))),
        },
      ];
    }),
  ) as Record<Iface, { n: number; p50: number | null; p95: number | null; max: number | null; wer: number | null }>;
  const result = {
    schema: 1,
    started,
    command: `node --import tsx bench/protocols.ts --model ${values.model} --rounds ${rounds}`,
    machine: { ...machine, loadAverage: { ...machine.loadAverage, end: loadAverageNow() } },
    model: values.model,
    turn: { leadSeconds: LEAD_S, tailSeconds: TAIL_S, wyomingAudioStopAfterTail: true, realtimeSilenceMs: 500 },
    summary,
    samples,
  };
  const label: Record<Iface, string> = { ws: '/ws → final', wyoming: 'Wyoming → transcript', realtime: 'Realtime → completed' };
  const md = [
    `# Live interfaces: end of speech → transcript (${started.slice(0, 10)})`,
    '',
    `Model \`${values.model}\`, ${machine.cores} cores (${machine.cpuModel}), load average ${machine.loadAverage.start.join(' ')} at start. ` +
      `${clips.length} LibriVox sentences × ${rounds} rounds per interface, one connection per turn, real-time pace.`,
    '',
    '| interface | turns | p50 (s) | p95 (s) | max (s) | WER |',
    '|---|---|---|---|---|---|',
    ...IFACES.map(
      (i) => `| ${label[i]} | ${summary[i].n} | ${summary[i].p50} | ${summary[i].p95} | ${summary[i].max} | ${((summary[i].wer ?? 0) * 100).toFixed(1)} % |`,
    ),
    '',
    'Wyoming answers at audio-stop, which the client sends after the 1 s of trailing silence (as Home Assistant does after its own VAD); ' +
      '/ws and Realtime end the utterance on their own VAD (700 ms and 500 ms of silence).',
    '',
  ].join('\n');
  const outDir = values.out ?? join(BENCH_DIR, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'protocols-latest.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(outDir, 'protocols-latest.md'), md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
