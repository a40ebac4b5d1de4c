// A growable window over a continuous sample stream, addressed by absolute sample index.
// The segmenter appends everything it receives and discards what no utterance can still need,
// so memory stays bounded by the longest utterance plus a little history.

export class AudioTimeline {
  private data: Float32Array;
  /** absolute index of data[0] */
  private base = 0;
  private length = 0;

  constructor(initialCapacity = 16000 * 8) {
    this.data = new Float32Array(initialCapacity);
  }

  /** absolute index one past the last sample appended */
  get end(): number {
    return this.base + this.length;
  }

  /** absolute index of the oldest sample still held */
  get start(): number {
    return this.base;
  }

  append(samples: Float32Array): void {
    if (this.length + samples.length > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, this.length + samples.length));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(samples, this.length);
    this.length += samples.length;
  }

  /** A view of [from, to) — valid until the next append or discard. */
  view(from: number, to: number): Float32Array {
    if (from < this.base || to > this.end || from > to) {
      throw new RangeError(`timeline holds [${this.base}, ${this.end}), asked for [${from}, ${to})`);
    }
    return this.data.subarray(from - this.base, to - this.base);
  }

  /** A copy of [from, to). */
  copy(from: number, to: number): Float32Array {
    return this.view(from, to).slice();
  }

  /** Forgets samples before `sample` (absolute). */
  discardBefore(sample: number): void {
    const drop = Math.min(Math.max(0, sample - this.base), this.length);
    if (drop === 0) return;
    this.data.copyWithin(0, drop, this.length);
    this.base += drop;
    this.length -= drop;
  }

  /** Drops everything and continues at absolute index `sample` (a hole in the stream). */
  restartAt(sample: number): void {
    if (sample < this.end) throw new RangeError('a timeline only moves forward');
    this.base = sample;
    this.length = 0;
  }
}
