// Progress of a model pull, as events (for the API / server) and as a terminal renderer (for the
// CLI): a live bar with bytes, speed and ETA on a TTY, plain periodic lines otherwise (logs, CI).
import { formatBytes } from '../util/bytes.js';
import cliProgress from 'cli-progress';

export type PullPhase = 'resolve' | 'wait' | 'download' | 'extract' | 'import' | 'done';

export interface PullProgress {
  phase: PullPhase;
  /** model id being installed */
  id: string;
  /** what is being worked on (file name) */
  file?: string;
  /** units done / total for this phase: bytes for download and extract, importer units for import */
  done?: number;
  total?: number;
  /** bytes that were already on disk from an interrupted run (download phase) */
  resumedFrom?: number;
  message?: string;
}

export type PullProgressListener = (event: PullProgress) => void;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Speed over a sliding window, so the ETA follows the current rate rather than the average. */
class RateMeter {
  private samples: Array<[number, number]> = [];
  constructor(private readonly windowMs = 5000) {}

  push(done: number, now = Date.now()): number {
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > this.windowMs) this.samples.shift();
    const [t0, d0] = this.samples[0];
    const dt = (now - t0) / 1000;
    return dt > 0 ? Math.max(0, (done - d0) / dt) : 0;
  }

  reset(): void {
    this.samples = [];
  }
}

export interface ProgressRenderer {
  update: PullProgressListener;
  stop(): void;
}

const PHASE_LABEL: Record<PullPhase, string> = {
  resolve: 'resolving',
  wait: 'waiting',
  download: 'downloading',
  extract: 'extracting',
  import: 'importing',
  done: 'done',
};

/** Picks the bar on a TTY and periodic lines elsewhere. */
export function createProgressRenderer(stream: NodeJS.WriteStream = process.stderr, opts: { intervalMs?: number; tty?: boolean } = {}): ProgressRenderer {
  return (opts.tty ?? stream.isTTY) ? barRenderer(stream) : lineRenderer(stream, opts.intervalMs ?? 5000);
}

function barRenderer(stream: NodeJS.WriteStream): ProgressRenderer {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{label} {file} [{bar}] {percentage}% {amount} {speed} ETA {etaText}',
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 8,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const meter = new RateMeter();
  let started = false;
  let key = '';
  return {
    update(e) {
      if (e.phase === 'resolve' || e.phase === 'wait' || e.phase === 'done') {
        if (e.message) {
          if (started) {
            bar.stop();
            started = false;
          }
          stream.write(`${e.message}\n`);
        }
        return;
      }
      const total = e.total ?? 0;
      const done = e.done ?? 0;
      const k = `${e.phase}:${e.file ?? ''}`;
      if (k !== key) {
        if (started) bar.stop();
        key = k;
        meter.reset();
        bar.start(Math.max(total, 1), 0, { label: PHASE_LABEL[e.phase], file: e.file ?? '', amount: '', speed: '', etaText: '?' });
        started = true;
      }
      const rate = meter.push(done);
      const bytes = e.phase !== 'import';
      bar.setTotal(Math.max(total, 1));
      bar.update(done, {
        label: PHASE_LABEL[e.phase],
        file: e.file ?? '',
        amount: bytes ? `${formatBytes(done)}/${total ? formatBytes(total) : '?'}` : '',
        speed: bytes && rate > 0 ? `${formatBytes(rate)}/s` : '',
        etaText: rate > 0 && total ? formatDuration((total - done) / rate) : '?',
      });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

function lineRenderer(stream: NodeJS.WriteStream, intervalMs: number): ProgressRenderer {
  const meter = new RateMeter();
  let key = '';
  let lastLine = 0;
  let lastPercentStep = -1;
  return {
    update(e) {
      if (e.phase === 'resolve' || e.phase === 'wait' || e.phase === 'done') {
        if (e.message) stream.write(`${e.message}\n`);
        return;
      }
      const k = `${e.phase}:${e.file ?? ''}`;
      const now = Date.now();
      const done = e.done ?? 0;
      const total = e.total ?? 0;
      const rate = meter.push(done, now);
      const percent = total ? Math.floor((done / total) * 100) : -1;
      const step = percent >= 0 ? Math.floor(percent / 25) : -1;
      const fresh = k !== key;
      const finished = total > 0 && done >= total;
      if (!fresh && !finished && now - lastLine < intervalMs && step === lastPercentStep) return;
      if (fresh) {
        key = k;
        meter.reset();
      }
      lastLine = now;
      lastPercentStep = step;
      const parts = [`${PHASE_LABEL[e.phase]}${e.file ? ` ${e.file}` : ''}:`];
      if (percent >= 0) parts.push(`${percent}%`);
      if (e.phase !== 'import') {
        parts.push(`${formatBytes(done)}/${total ? formatBytes(total) : '?'}`);
        if (rate > 0 && !finished) parts.push(`${formatBytes(rate)}/s`, `ETA ${total ? formatDuration((total - done) / rate) : '?'}`);
        if (fresh && e.resumedFrom) parts.push(`(resuming from ${formatBytes(e.resumedFrom)})`);
      }
      stream.write(`${parts.join(' ')}\n`);
    },
    stop() {},
  };
}
