// Graceful shutdown: live sessions first get a final for the audio they sent and a close frame with a
// reason, in-flight requests finish, then workers stop and history is flushed. All inside one deadline.
import type { ShutdownSignal } from './context.js';

export class ShutdownController implements ShutdownSignal {
  private drainingNow = false;
  private readonly drains = new Set<() => Promise<void>>();

  get draining(): boolean {
    return this.drainingNow;
  }

  onDrain(fn: () => Promise<void>): () => void {
    this.drains.add(fn);
    return () => this.drains.delete(fn);
  }

  /** Starts draining: every live session ends itself; resolves when all did or at the deadline. */
  async drain(deadline: number): Promise<{ sessions: number; timedOut: boolean }> {
    this.drainingNow = true;
    const all = [...this.drains];
    this.drains.clear();
    const done = Promise.allSettled(all.map((fn) => fn())).then(() => false);
    const timedOut = await raceDeadline(done, deadline);
    return { sessions: all.length, timedOut };
  }
}

/** Resolves false when `work` settles first, true when the deadline (epoch ms) passes first. */
export async function raceDeadline(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([
      work.then(
        () => false,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
