// Splits audio longer than a model's window into pieces cut at the quietest moment near each
// limit. Moonshine and the other offline sherpa models decode one utterance at a time (Moonshine
// was trained on clips up to ~30 s); cutting mid-word would lose the word on both sides.
const FRAME = 480; // 30 ms at 16 kHz

function frameEnergy(samples: Float32Array, from: number): number {
  let sum = 0;
  const to = Math.min(samples.length, from + FRAME);
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return sum / Math.max(1, to - from);
}

/**
 * [start, end) sample ranges covering all of `samples`, each at most maxSeconds long; every cut
 * lies at the lowest-energy 30 ms frame of the last `searchSeconds` before the limit.
 */
export function splitAtPauses(samples: Float32Array, sampleRate: number, maxSeconds: number, searchSeconds = 5): Array<[number, number]> {
  const max = Math.floor(maxSeconds * sampleRate);
  const search = Math.min(Math.floor(searchSeconds * sampleRate), Math.floor(max / 2));
  const chunks: Array<[number, number]> = [];
  let start = 0;
  while (samples.length - start > max) {
    const limit = start + max;
    let best = limit - FRAME;
    let bestEnergy = Infinity;
    for (let at = limit - FRAME; at >= limit - search; at -= FRAME / 2) {
      const e = frameEnergy(samples, at);
      if (e < bestEnergy) {
        bestEnergy = e;
        best = at;
      }
    }
    const cut = best + FRAME / 2;
    chunks.push([start, cut]);
    start = cut;
  }
  if (samples.length > start || chunks.length === 0) chunks.push([start, samples.length]);
  return chunks;
}
