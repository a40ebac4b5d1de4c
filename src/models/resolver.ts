// Plugs the model manager into the engine manager: any source a request or the config names
// (catalogue name, hf://, https://, s3://, archive, path) is pulled into the store on first use.
import type { ModelResolver } from './manifest.js';
import { pullModel, resolveSource } from './pull.js';
import type { ModelStore } from './store.js';

export function storeResolver(store: ModelStore, log?: (message: string) => void): { resolver: ModelResolver; canResolve: (source: string) => boolean } {
  return {
    resolver: async (source) => {
      let lastDecile = -1;
      return pullModel(source, {
        store,
        onProgress: (p) => {
          if (!log || !p.total || p.done === undefined) return;
          const decile = Math.floor((p.done / p.total) * 10);
          if (decile !== lastDecile) {
            lastDecile = decile;
            log(`pulling ${source}: ${p.phase} ${Math.round((p.done / p.total) * 100)} %`);
          }
        },
      });
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
