// Facts about the machine a benchmark ran on, so results from different hosts are never confused.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** SIMD and matrix extensions that decide how fast whisper.cpp and CTranslate2 kernels run. */
const RELEVANT_FLAGS = /^(sse3|ssse3|sse4_1|sse4_2|avx|avx2|fma|f16c|avx512\w*|avx_vnni|amx\w*|vaes|bmi2|neon|asimd\w*|sve\w*)$/;

export interface MachineFacts {
  host: string;
  cpuModel: string;
  /** logical CPUs this process may use */
  cores: number;
  simdFlags: string[];
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1/5/15-minute load averages when the run started and ended (shared machines: read ratios, not times) */
  loadAverage: { start: number[]; end?: number[] };
  gitCommit: string | null;
}

export function machineFacts(): MachineFacts {
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: the os module still names the CPU
  }
  const field = (name: string) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flags = (field('flags') ?? field('Features') ?? '').split(/\s+/).filter((f) => RELEVANT_FLAGS.test(f));
  return {
    host: os.hostname(),
    cpuModel: field('model name') ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    simdFlags: flags,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: { start: os.loadavg().map((v) => Math.round(v * 100) / 100) },
    gitCommit: gitCommit(),
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function loadAverageNow(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}
