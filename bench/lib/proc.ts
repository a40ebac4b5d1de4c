// Process memory and process tree facts from /proc (Linux only).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A "VmHWM"/"VmRSS"-style field of /proc/<pid>/status in KiB, or null once the process is gone. */
export function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : null;
  } catch {
    return null;
  }
}

export function peakMiB(pid: number): number | null {
  const kb = statusKb(pid, 'VmHWM');
  return kb === null ? null : kb / 1024;
}

/** Direct children of `pid` whose command line contains `pattern`. */
export function childPids(pid: number, pattern: string): number[] {
  try {
    const out = execFileSync('pgrep', ['-P', String(pid), '-f', pattern], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
