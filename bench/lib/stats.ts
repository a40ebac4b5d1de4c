// Small order statistics for benchmark samples.

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Linear-interpolated percentile (p in 0..100) of the samples; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Rounds for the JSON report: timings to ms, ratios to 3 decimals; NaN/undefined → null. */
export function round(value: number | undefined, digits = 3): number | null {
  if (value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
