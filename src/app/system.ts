// Facts about the machine for the status views: GPUs through nvidia-smi (when present) and CPU use.
import { execFile } from 'node:child_process';
import os from 'node:os';

export interface GpuInfo {
  index: number;
  name: string;
  memory_used_mib: number | null;
  memory_total_mib: number | null;
  utilization_percent: number | null;
  temperature_c: number | null;
}

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.used,memory.total,utilization.gpu,temperature.gpu', '--format=csv,noheader,nounits'];

/** How often the status views refresh; probes cache their answers for about as long. */
export const STATUS_INTERVAL_MS = 2000;

/** Parses `nvidia-smi --query-gpu=index,name,memory.used,memory.total,utilization.gpu,temperature.gpu --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  const num = (v: string | undefined) => {
    const n = Number(v?.trim());
    return v === undefined || v.trim() === '' || !Number.isFinite(n) ? null : n;
  };
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const cols = line.split(',').map((c) => c.trim());
      // a GPU name may itself hold commas: the five numeric columns are at the edges
      const name = cols.slice(1, cols.length - 4).join(', ');
      const [used, total, util, temp] = cols.slice(-4);
      return {
        index: num(cols[0]) ?? 0,
        name,
        memory_used_mib: num(used),
        memory_total_mib: num(total),
        utilization_percent: num(util),
        temperature_c: num(temp),
      };
    })
    .filter((g) => g.name);
}

/** nvidia-smi, asked at most once per interval; remembers when it is not installed. */
export class GpuProbe {
  private missing = false;
  private cached?: { at: number; value: GpuInfo[] | null };
  private inflight?: Promise<GpuInfo[] | null>;

  constructor(private readonly command = 'nvidia-smi') {}

  async read(maxAgeMs = STATUS_INTERVAL_MS - 100): Promise<GpuInfo[] | null> {
    if (this.missing) return null;
    if (this.cached && Date.now() - this.cached.at < maxAgeMs) return this.cached.value;
    this.inflight ??= new Promise<GpuInfo[] | null>((resolve) => {
      execFile(this.command, NVIDIA_SMI_ARGS, { timeout: 3000, encoding: 'utf8' }, (err, stdout) => {
        if (err) {
          // not installed: never ask again; any other failure (driver gone, timeout): ask next time
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.missing = true;
          resolve(null);
          return;
        }
        const gpus = parseNvidiaSmi(stdout);
        resolve(gpus.length ? gpus : null);
      });
    }).then((value) => {
      this.cached = { at: Date.now(), value };
      this.inflight = undefined;
      return value;
    });
    return this.inflight;
  }

  /** the last answer without asking again */
  get last(): GpuInfo[] | null {
    return this.cached?.value ?? null;
  }
}

/** CPU busy share since the previous call, from the kernel's per-core time counters. */
export class CpuUsage {
  private prev = CpuUsage.totals();

  private static totals(): { idle: number; total: number } {
    let idle = 0;
    let total = 0;
    for (const cpu of os.cpus()) {
      const t = cpu.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    return { idle, total };
  }

  percent(): number | null {
    const now = CpuUsage.totals();
    const total = now.total - this.prev.total;
    const idle = now.idle - this.prev.idle;
    if (total <= 0) return null;
    this.prev = now;
    return Math.round((1 - idle / total) * 1000) / 10;
  }
}
