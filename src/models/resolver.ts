// Plugs the model manager into the engine manager: any source a request or the config names
// (catalogue name, hf://, https://, s3://, pypi:, archive, path) is pulled into the store on first
// use. Progress goes to the log (every 10 %), or as a live bar on stderr when a person watches.
import type { ModelResolver } from './manifest.js';
import { pullModel, resolveSource } from './pull.js';
import { createProgressRenderer, type PullProgressListener } from './progress.js';
import type { SourcePolicy } from './sources/policy.js';
import type { ModelStore } from './store.js';

export interface ResolverOptions {
  log?: (message: string) => void;
  /** draw a progress bar on this terminal instead of logging percentages */
  tty?: NodeJS.WriteStream;
  /** what sources named by API callers may reach (src/models/sources/policy.ts) */
  callerPolicy?: SourcePolicy;
}

export function storeResolver(store: ModelStore, opts: ResolverOptions = {}): { resolver: ModelResolver; canResolve: (source: string) => boolean } {
  const { log, tty, callerPolicy } = opts;
  return {
    resolver: async (source, resolveOpts) => {
      const bar = tty ? createProgressRenderer(tty, { tty: true }) : undefined;
      let lastDecile = -1;
      let lastKey = '';
      const onProgress: PullProgressListener = (p) => {
        if (p.message) {
          bar?.stop();
          log?.(p.message);
          return;
        }
        if (bar) return bar.update(p);
        if (!log || !p.total || p.done === undefined) return;
        const key = `${p.phase}:${p.file ?? ''}`;
        const decile = Math.floor((p.done / p.total) * 10);
        if (decile !== lastDecile || key !== lastKey) {
          lastDecile = decile;
          lastKey = key;
          log(`pulling ${source}: ${p.phase}${p.file ? ` ${p.file}` : ''} ${Math.round((p.done / p.total) * 100)} %`);
        }
      };
      try {
        return await pullModel(source, { store, onProgress, ...(resolveOpts?.caller && callerPolicy ? { policy: callerPolicy } : {}) });
      } finally {
        bar?.stop();
      }
    },
    canResolve: (source) => {
      try {
        resolveSource(source);
        return true;
      } catch {
        return false;
      }
    },
  };
}
