// Measures the wake-word pipeline: detection latency after "hey jarvis" ends, compute time per 80 ms chunk, and
// CPU time per minute of audio (process.cpuUsage: all threads, ONNX Runtime's included), with and without VAD.
// Run: node --import tsx bench/wakeword.ts   (needs espeak-ng, ffmpeg, pocketsphinx-testdata, alsa-utils)
import { readdirSync } from 'node:fs';
import { WakewordDetector } from '../src/wakeword/detector.js';
import { WakewordListener } from '../src/wakeword/listener.js';
import { chunksOf, concat, decodeFile, LIBRIVOX, NOISE, RATE, silence, speak } from '../test/wakeword/helpers/audio.js';

const SEED_000 = { threshold: 0.5, silenceDuration: 1.5, silenceThreshold: 500, maxDuration: 10, cooldown: 3, preRoll: 0.5 };

/** Last sample louder than -40 dBFS: where the spoken wake word really ends inside the clip. */
function speechEnd(audio: Int16Array): number {
  for (let i = audio.length - 1; i >= 0; i--) if (Math.abs(audio[i]) > 328) return (i + 1) / RATE;
  return 0;
}

async function latency(): Promise<void> {
  const detector = await WakewordDetector.create();
  console.log('## Detection latency after the wake word ends (stream time; chunk = 80 ms)');
  console.log('voice            wpm  score  detected after the end of speech');
  const latencies: number[] = [];
  for (const [voice, speed] of [
    ['en-gb-x-rp', 150],
    ['en-us', 175],
    ['en', 150],
    ['en-us-nyc', 150],
    ['en-gb-scotland', 150],
    ['en', 120],
  ] as const) {
    const clip = speak('hey jarvis', voice, speed);
    const lead = 2;
    const end = lead + speechEnd(clip);
    detector.resetAll();
    let detectedAt: number | null = null;
    let peak = 0;
    const listener = new WakewordListener(detector, SEED_000, (scores) => (peak = Math.max(peak, scores.get('hey_jarvis')!)));
    async function* source() {
      yield* chunksOf(concat(silence(lead), clip, silence(2)));
    }
    for await (const e of listener.run(source())) if (e.type === 'detection' && detectedAt === null) detectedAt = e.detection.streamTime;
    const lat = detectedAt === null ? null : detectedAt - end;
    if (lat !== null) latencies.push(lat);
    console.log(`${voice.padEnd(16)} ${String(speed).padStart(3)}  ${peak.toFixed(3)}  ${lat === null ? 'not detected' : `${(lat * 1000).toFixed(0)} ms`}`);
  }
  latencies.sort((a, b) => a - b);
  console.log(`median ${(latencies[Math.floor(latencies.length / 2)] * 1000).toFixed(0)} ms; negative = fired before the last syllable ended`);
  await detector.release();
}

async function cpu(label: string, options: ConstructorParameters<typeof Object>[0], audio: Int16Array): Promise<void> {
  const detector = await WakewordDetector.create(options as Parameters<typeof WakewordDetector.create>[0]);
  // Warm-up pass so one-time allocations are not counted.
  for (const chunk of chunksOf(audio.subarray(0, RATE * 5))) await detector.process(chunk);
  detector.resetAll();
  const perChunk: number[] = [];
  let gated = 0;
  const before = process.cpuUsage();
  const wallStart = performance.now();
  for (const chunk of chunksOf(audio)) {
    const t = performance.now();
    if ((await detector.process(chunk)).gated) gated++;
    perChunk.push(performance.now() - t);
  }
  const wall = performance.now() - wallStart;
  const used = process.cpuUsage(before);
  const minutes = audio.length / RATE / 60;
  const cpuMsPerMin = (used.user + used.system) / 1000 / minutes;
  perChunk.sort((a, b) => a - b);
  const pct = (p: number) => perChunk[Math.min(perChunk.length - 1, Math.floor(p * perChunk.length))].toFixed(2);
  console.log(
    `${label.padEnd(34)} cpu ${(cpuMsPerMin / 1000).toFixed(2)} s/min of audio (${((cpuMsPerMin / 60000) * 100).toFixed(1)}% of a core), ` +
      `${((minutes * 60) / (wall / 1000)).toFixed(0)}x real time, per chunk p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms` +
      (gated ? `, ${((gated / perChunk.length) * 100).toFixed(0)}% chunks gated` : ''),
  );
  await detector.release();
}

async function main(): Promise<void> {
  await latency();
  const speech = readdirSync(LIBRIVOX)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => decodeFile(`${LIBRIVOX}/${f}`));
  const noise = decodeFile(NOISE);
  // A "living room" minute: mostly quiet, some talk, some noise; and a minute of continuous speech.
  const quietRoom = concat(silence(20), ...speech.slice(0, 2), silence(15), noise, silence(10), speech[2], silence(4.8));
  let talk = concat(...speech, ...speech, ...speech);
  talk = talk.subarray(0, 60 * RATE);
  console.log('\n## CPU for the wake-word pipeline (2 shared cores; ONNX Runtime single-threaded)');
  await cpu('hey_jarvis, mostly quiet minute', { wakewords: ['hey_jarvis'] }, quietRoom);
  await cpu('hey_jarvis + VAD, mostly quiet minute', { wakewords: ['hey_jarvis'], vad: true }, quietRoom);
  await cpu('hey_jarvis, continuous speech', { wakewords: ['hey_jarvis'] }, talk);
  await cpu('hey_jarvis + VAD, continuous speech', { wakewords: ['hey_jarvis'], vad: true }, talk);
  await cpu('all 6 pretrained models, speech', { wakewords: ['hey_jarvis', 'alexa', 'hey_mycroft', 'hey_rhasspy', 'timer', 'weather'] }, talk);
}

await main();
