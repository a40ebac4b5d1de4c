// detect + audio → detection | not-detected, with the openWakeWord pipeline Earshot already runs
// (src/wakeword). One detector per stream: its feature buffers are per-stream state.
import { float32ToS16le } from '../../audio/pcm.js';
import { CHUNK_SAMPLES, SAMPLE_RATE } from '../../wakeword/features.js';
import { WakewordDetector } from '../../wakeword/detector.js';
import type { OfferedWakeword } from './info.js';

export interface WakeSettings {
  threshold: number;
  /** seconds after a detection during which the same stream cannot fire again */
  refractorySeconds: number;
}

export interface WakeDetection {
  name: string;
  /** milliseconds of stream audio at the start of the 80 ms chunk that fired */
  timestamp: number;
  score: number;
}

/** Maps requested names (any spelling resolveWakewordModel accepts) to offered wake words. */
export function pickWakewords(requested: string[] | undefined, offered: OfferedWakeword[]): OfferedWakeword[] {
  if (!requested || requested.length === 0) return offered;
  const key = (s: string) =>
    s
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_')
      .replace(/_v\d+(\.\d+)*$/, '');
  const wanted = new Set(requested.map(key));
  return offered.filter((w) => wanted.has(key(w.name)));
}

export class WakeStream {
  private pending: Int16Array = new Int16Array(0);
  private samples = 0;
  private quietUntil = -1;
  private busy: Promise<void> = Promise.resolve();
  detections = 0;

  private constructor(
    private readonly detector: WakewordDetector,
    private readonly settings: WakeSettings,
    private readonly onDetection: (d: WakeDetection) => void,
  ) {}

  static async open(
    words: OfferedWakeword[],
    paths: Map<string, string>,
    settings: WakeSettings,
    onDetection: (d: WakeDetection) => void,
  ): Promise<WakeStream> {
    // built-ins by name (the detector labels them so), custom models by file
    const specs = words.map((w) => (w.builtin ? w.name : (paths.get(w.name) ?? w.name)));
    const detector = await WakewordDetector.create({ wakewords: specs });
    return new WakeStream(detector, settings, onDetection);
  }

  /** 16 kHz mono float; scored in 80 ms chunks, in order. */
  push(samples: Float32Array): Promise<void> {
    const bytes = float32ToS16le(samples);
    const incoming = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    const joined = new Int16Array(this.pending.length + incoming.length);
    joined.set(this.pending);
    joined.set(incoming, this.pending.length);
    const whole = Math.floor(joined.length / CHUNK_SAMPLES) * CHUNK_SAMPLES;
    this.pending = joined.slice(whole);
    const chunks: Int16Array[] = [];
    for (let at = 0; at < whole; at += CHUNK_SAMPLES) chunks.push(joined.slice(at, at + CHUNK_SAMPLES));
    this.busy = this.busy.then(() => this.score(chunks));
    return this.busy;
  }

  private async score(chunks: Int16Array[]): Promise<void> {
    for (const chunk of chunks) {
      const chunkStart = this.samples;
      this.samples += chunk.length;
      const { scores } = await this.detector.process(chunk);
      if (chunkStart < this.quietUntil) continue;
      let best: { name: string; score: number } | null = null;
      for (const [name, score] of scores) if (score >= this.settings.threshold && (!best || score > best.score)) best = { name, score };
      if (!best) continue;
      this.detections++;
      this.quietUntil = this.samples + Math.round(this.settings.refractorySeconds * SAMPLE_RATE);
      // start afresh so the same utterance cannot fire twice once the refractory time is over
      this.detector.reset();
      this.onDetection({ name: best.name, score: best.score, timestamp: Math.round((chunkStart / SAMPLE_RATE) * 1000) });
    }
  }

  /** Resolves once every chunk pushed so far has been scored. */
  drain(): Promise<void> {
    return this.busy;
  }

  async close(): Promise<void> {
    await this.busy.catch(() => undefined);
    await this.detector.release();
  }
}
