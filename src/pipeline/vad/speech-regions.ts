// Where the speech is in a recording, for batch decoding that skips the rest (faster-whisper's
// vad_filter, with its defaults): frames at or above `threshold` start speech, speech ends after
// `minSilenceMs` below `negThreshold`, each region is padded by `padMs` and overlapping ones merge.
// SpeechTimeline joins the regions into one shorter audio and maps times in it back to the original.
import type { SpeechMap } from './speech-map.js';

export interface SpeechRegion {
  /** samples, [start, end) in the original audio */
  start: number;
  end: number;
}

export interface RegionOptions {
  threshold?: number;
  /** below this a frame is silence (default threshold − 0.15, as Silero's reference does) */
  negThreshold?: number;
  minSilenceMs?: number;
  padMs?: number;
}

export function speechRegions(map: SpeechMap, totalSamples: number, o: RegionOptions = {}): SpeechRegion[] {
  const threshold = o.threshold ?? 0.5;
  const negThreshold = o.negThreshold ?? Math.max(threshold - 0.15, 0.01);
  const minSilence = ((o.minSilenceMs ?? 2000) * map.sampleRate) / 1000;
  const pad = Math.round(((o.padMs ?? 400) * map.sampleRate) / 1000);
  const raw: SpeechRegion[] = [];
  let start = -1;
  let silenceSince = -1;
  map.probabilities.forEach((p, f) => {
    const at = Math.max(0, f * map.frameSize + map.firstFrameOffset);
    if (p >= threshold) {
      silenceSince = -1;
      if (start < 0) start = at;
    } else if (start >= 0 && p < negThreshold) {
      if (silenceSince < 0) silenceSince = at;
      if (at + map.frameSize - silenceSince >= minSilence) {
        raw.push({ start, end: silenceSince });
        start = -1;
        silenceSince = -1;
      }
    }
  });
  if (start >= 0) raw.push({ start, end: totalSamples });
  const merged: SpeechRegion[] = [];
  for (const r of raw) {
    const padded = { start: Math.max(0, r.start - pad), end: Math.min(totalSamples, r.end + pad) };
    const last = merged.at(-1);
    if (last && padded.start <= last.end) last.end = Math.max(last.end, padded.end);
    else if (padded.end > padded.start) merged.push(padded);
  }
  return merged;
}

/**
 * Speech regions grouped into windows of at most `maxSeconds` for engines that decode windows
 * separately (faster-whisper's batched pipeline does the same): tighter regions (160 ms of silence
 * ends one), a region longer than a window cut where the VAD is least sure of speech, consecutive
 * regions joined while the window spans at most `maxSeconds`. Seconds on the audio's timeline.
 */
export function speechWindows(map: SpeechMap, totalSamples: number, maxSeconds = 30): Array<{ start: number; end: number }> {
  const sr = map.sampleRate;
  const max = maxSeconds * sr;
  const regions: SpeechRegion[] = [];
  for (const r of speechRegions(map, totalSamples, { minSilenceMs: 160, padMs: 200 })) {
    let start = r.start;
    while (r.end - start > max) {
      // cut in the last third of the window, at the frame least likely to be speech
      let cut = start + max;
      let lowest = Infinity;
      const first = Math.ceil((start + (2 * max) / 3 - map.firstFrameOffset) / map.frameSize);
      const last = Math.floor((start + max - map.firstFrameOffset) / map.frameSize) - 1;
      for (let f = first; f <= last && f < map.probabilities.length; f++) {
        if (map.probabilities[f]! < lowest) {
          lowest = map.probabilities[f]!;
          cut = f * map.frameSize + map.firstFrameOffset;
        }
      }
      regions.push({ start, end: cut });
      start = cut;
    }
    regions.push({ start, end: r.end });
  }
  const windows: SpeechRegion[] = [];
  for (const r of regions) {
    const last = windows.at(-1);
    if (last && r.end - last.start <= max) last.end = r.end;
    else windows.push({ ...r });
  }
  return windows.map((w) => ({ start: w.start / sr, end: w.end / sr }));
}

export class SpeechTimeline {
  /** where each region starts in the joined audio, in samples */
  private readonly offsets: number[] = [];
  readonly length: number;

  constructor(
    readonly regions: SpeechRegion[],
    readonly sampleRate: number,
  ) {
    let at = 0;
    for (const r of regions) {
      this.offsets.push(at);
      at += r.end - r.start;
    }
    this.length = at;
  }

  /** The regions' samples, back to back. */
  join(audio: Float32Array): Float32Array {
    const out = new Float32Array(this.length);
    for (let i = 0; i < this.regions.length; i++) out.set(audio.subarray(this.regions[i]!.start, this.regions[i]!.end), this.offsets[i]);
    return out;
  }

  /** Where region k starts in the joined audio, in samples. */
  offsetOf(k: number): number {
    return this.offsets[k] ?? this.length;
  }

  /** The region a time in the joined audio (seconds) falls in; a time exactly on a joint: the region after it, or before it for an end. */
  regionAt(seconds: number, isEnd = false): number {
    const t = seconds * this.sampleRate;
    let k = 0;
    for (let i = 0; i < this.regions.length; i++) {
      const begin = this.offsets[i]!;
      if (isEnd ? t > begin : t >= begin) k = i;
      else break;
    }
    return k;
  }

  /**
   * A time in the joined audio (seconds) → the same instant in the original, inside region `k`
   * (default: the region the time falls in). Whisper's times are a little loose, so an utterance's
   * end can land just past a joint: mapping both ends of a span with one region keeps it in place.
   */
  toOriginal(seconds: number, isEnd = false, k = this.regionAt(seconds, isEnd)): number {
    const region = this.regions[k];
    if (!region) return seconds;
    const within = Math.min(Math.max(seconds * this.sampleRate - this.offsets[k]!, 0), region.end - region.start);
    return (region.start + within) / this.sampleRate;
  }
}
