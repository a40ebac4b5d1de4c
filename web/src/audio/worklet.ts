// The AudioWorklet that turns the microphone into 16 kHz mono s16le PCM for /ws.
// It runs in the audio rendering thread, loaded from a Blob URL made of this one function's source
// (the page is a single file), so the function must reference nothing outside itself.

// Names of the AudioWorkletGlobalScope (not in lib.dom).
declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: unknown);
}

export const PCM_PROCESSOR = 'earshot-pcm16k';

export function pcmWorkletModule(): void {
  /** RBJ low-pass biquad, transposed direct form II. */
  class Biquad {
    b0: number;
    b1: number;
    b2: number;
    a1: number;
    a2: number;
    z1: number;
    z2: number;
    constructor(rate: number, cutoff: number, q: number) {
      const w0 = (2 * Math.PI * cutoff) / rate;
      const alpha = Math.sin(w0) / (2 * q);
      const cos = Math.cos(w0);
      const a0 = 1 + alpha;
      this.b0 = (1 - cos) / 2 / a0;
      this.b1 = (1 - cos) / a0;
      this.b2 = (1 - cos) / 2 / a0;
      this.a1 = (-2 * cos) / a0;
      this.a2 = (1 - alpha) / a0;
      this.z1 = 0;
      this.z2 = 0;
    }
    run(x: number): number {
      const y = this.b0 * x + this.z1;
      this.z1 = this.b1 * x - this.a1 * y + this.z2;
      this.z2 = this.b2 * x - this.a2 * y;
      return y;
    }
  }

  class PcmProcessor extends AudioWorkletProcessor {
    ratio: number;
    filters: Biquad[];
    /** next output position, in input samples from the start of the current block (-1 = previous block's last) */
    t: number;
    last: number;
    out: Int16Array;
    fill: number;
    sumSquares: number;
    running: boolean;

    constructor(options: { processorOptions?: { targetRate?: number; chunkMs?: number } }) {
      super();
      const target = options.processorOptions?.targetRate ?? 16000;
      const chunkMs = options.processorOptions?.chunkMs ?? 100;
      this.ratio = sampleRate / target;
      // 4th-order Butterworth below the target Nyquist, only when there is something to remove
      this.filters = this.ratio > 1 ? [new Biquad(sampleRate, target * 0.45, 0.5412), new Biquad(sampleRate, target * 0.45, 1.3066)] : [];
      this.t = 0;
      this.last = 0;
      this.out = new Int16Array(Math.round((target * chunkMs) / 1000));
      this.fill = 0;
      this.sumSquares = 0;
      this.running = true;
      this.port.onmessage = (event: MessageEvent) => {
        if (event.data === 'flush') {
          this.flush();
          this.port.postMessage({ type: 'flushed' });
        } else if (event.data === 'stop') {
          this.flush();
          this.running = false;
          this.port.postMessage({ type: 'flushed' });
        }
      };
    }

    emit(sample: number): void {
      const s = Math.min(1, Math.max(-1, sample));
      this.sumSquares += s * s;
      this.out[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.fill === this.out.length) this.flush();
    }

    flush(): void {
      if (this.fill === 0) return;
      const pcm = this.out.slice(0, this.fill);
      const level = Math.sqrt(this.sumSquares / this.fill);
      this.port.postMessage({ type: 'chunk', pcm: pcm.buffer, level }, [pcm.buffer]);
      this.fill = 0;
      this.sumSquares = 0;
    }

    process(inputs: Float32Array[][]): boolean {
      const input = inputs[0];
      if (!this.running) return false;
      if (!input || input.length === 0) return true;
      const n = input[0]!.length;
      // mix down to mono, then low-pass
      const x = new Float32Array(n);
      for (const channel of input) for (let i = 0; i < n; i++) x[i]! += channel[i]! / input.length;
      for (const f of this.filters) for (let i = 0; i < n; i++) x[i] = f.run(x[i]!);
      // linear interpolation at the output rate
      let t = this.t;
      while (t <= n - 1) {
        const i = Math.floor(t);
        const frac = t - i;
        const a = i < 0 ? this.last : x[i]!;
        const b = i + 1 < n ? x[i + 1]! : a;
        this.emit(a + (b - a) * frac);
        t += this.ratio;
      }
      this.t = t - n;
      this.last = x[n - 1]!;
      return true;
    }
  }

  registerProcessor('earshot-pcm16k', PcmProcessor);
}

/** A URL the AudioWorklet can load: the function above as a module. */
export function pcmWorkletUrl(): string {
  const source = `(${pcmWorkletModule.toString()})();\n`;
  return URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
}
