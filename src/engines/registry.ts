// Engines are built by kind: each family registers a factory once (src/engines/index.ts), and the
// engine manager builds whatever kind a model's manifest names. Adding a family is one folder that
// exports a factory plus one registerEngine() line in index.ts.
import type { Config } from '../config/schema.js';
import type { EngineKind, InstalledModel } from '../models/manifest.js';
import { EngineError, type Engine } from './types.js';

/** What a factory gets besides the model: the whole config (each family reads its own section) and the device picked. */
export interface EngineContext {
  config: Config;
  device: 'cpu' | 'cuda';
  /** Earshot's home (the store's folder): where families keep runtimes and measurements */
  home: string;
}

/** May be async: a family can have to measure or install something before it knows what to build. */
export type EngineFactory = (model: InstalledModel, ctx: EngineContext) => Engine | Promise<Engine>;

const factories = new Map<string, EngineFactory>();

/** Registers (or replaces) the factory for an engine kind. */
export function registerEngine(kind: EngineKind, factory: EngineFactory): void {
  factories.set(kind, factory);
}

export function registeredEngineKinds(): EngineKind[] {
  return [...factories.keys()];
}

/** The kind a manifest names; manifests written before `engine` existed hold ggml Whisper files. */
export function engineKindOf(model: Pick<InstalledModel, 'engine' | 'format'>): EngineKind {
  return model.engine ?? (model.format === 'ggml' ? 'whisper' : model.format);
}

/** Builds the engine for an installed model; EngineError('unsupported') when no family runs its kind. */
export async function createEngine(model: InstalledModel, ctx: EngineContext): Promise<Engine> {
  const kind = engineKindOf(model);
  const factory = factories.get(kind);
  if (!factory) {
    const known = registeredEngineKinds().join(', ') || 'none';
    throw new EngineError('unsupported', `model ${model.id} needs the "${kind}" engine, which this build does not have (engines: ${known})`);
  }
  return factory(model, ctx);
}
