// Which models are loaded, which one serves a request, and atomic hot swaps.
// Requests take a lease on an engine; a swapped-out engine closes only when its last lease ends,
// so requests in flight finish on the old model and none fails during a swap.
// One load path (resolve → build by kind through the registry → ready → warm-up) serves both the
// plain load and the hot swap, so both fail the same way: a ModelSourceError from the resolver
// passes through unchanged (the interfaces map it), anything else becomes EngineError('model_load_failed').
import type { Config } from '../config/schema.js';
import { cudaBuildEnabled } from '../config/env.js';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { InstalledModel, ModelResolver } from '../models/manifest.js';
import { checkCallerSource, type SourcePolicy } from '../models/sources/policy.js';
import type { ModelStore } from '../models/store.js';
import { ModelSourceError } from '../models/sources/errors.js';
import { ct2WeightsOf } from '../models/ct2-weights.js';
import { ct2RuntimeReady } from './ct2/runtime.js';
import { createEngine, engineKindOf } from './index.js';
import { EngineError, type Engine, type EngineInfo, type EngineStats } from './types.js';

export type { ModelResolver } from '../models/manifest.js';

export type ModelState = 'loading' | 'ready' | 'error';

export interface LoadedModel {
  id: string;
  state: ModelState;
  error?: string;
  /** why loading failed, as thrown (a ModelSourceError keeps its code) */
  failure?: Error;
  source: string;
  engine?: Engine;
  loadedAt?: string;
  lastUsed: number;
  leases: number;
  retiring: boolean;
  /** settles when loading ends, either way */
  settled?: Promise<unknown>;
}

export interface Lease {
  engine: Engine;
  modelId: string;
  release(): void;
}

/** A request's choice of engine for a Whisper model: whisper.cpp or CTranslate2 (config model.engine decides otherwise). */
export const ENGINE_OVERRIDES = ['whisper', 'ct2'] as const;
export type EngineOverride = (typeof ENGINE_OVERRIDES)[number];

/** What a request is for: files and jobs, or a live session (/ws and the other live protocols). */
export type ModelUse = 'batch' | 'live';

/**
 * The live English models 'auto' picks, first installed wins (ids `npm run fetch:test-models` installs).
 * tiny before base, by measurement (bench/results/stream/): on the bench's clips both have the same WER
 * in batch (3.7 %; 4.3 % each on the short-clip set), tiny costs ~8× less CPU per audio second, and on
 * 2 loaded cores tiny kept up with 6 live streams (nothing lost) where base fell behind with one.
 */
export const LIVE_ENGLISH_MODELS = ['moonshine-tiny-en', 'moonshine-base-en'];

export interface ManagerOptions {
  config: Config;
  store: ModelStore;
  resolver?: ModelResolver;
  /** whether `resolver` understands a source (a catalogue name, hf://, https://, s3://, a path) */
  canResolve?: (source: string) => boolean;
  /** what API callers may name (src/models/sources/policy.ts); absent = anything the resolver takes */
  callerPolicy?: SourcePolicy;
}

export function detectDevice(requested: Config['model']['device']): 'cpu' | 'cuda' {
  if (requested === 'cpu') return 'cpu';
  if (requested === 'cuda') return 'cuda';
  // auto: CUDA only if this build has it and a GPU is visible.
  return cudaBuildEnabled() && existsNvidia() ? 'cuda' : 'cpu';
}

function existsNvidia(): boolean {
  return os.platform() === 'linux' && existsSync('/dev/nvidia0');
}

/** A load failure as the interfaces see it: the resolver's own error, or model_load_failed with the reason. */
function loadError(source: string, err: unknown): Error {
  if (err instanceof ModelSourceError || err instanceof EngineError) return err;
  return new EngineError('model_load_failed', `model "${source}" could not be loaded: ${(err as Error)?.message ?? String(err)}`);
}

/** A model load (with warm-up) finished, either way: for metrics. */
export interface ModelLoadEvent {
  model: string;
  seconds: number;
  ok: boolean;
}

export interface EngineManagerEvents {
  model_load: [ModelLoadEvent];
  /** a new engine is serving (observers such as metrics attach to it) */
  engine: [Engine];
}

export class EngineManager extends EventEmitter<EngineManagerEvents> {
  private readonly models = new Map<string, LoadedModel>();
  private defaultId: string | undefined;
  private defaultSource: string;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** route models loaded up front: kept loaded like the default */
  private readonly pinned = new Set<string>();

  constructor(private readonly opts: ManagerOptions) {
    super();
    this.defaultSource = opts.config.model.name;
    const ttl = opts.config.model.idleUnloadSeconds;
    if (ttl > 0) {
      this.sweepTimer = setInterval(() => this.unloadIdle(ttl * 1000), Math.min(ttl * 1000, 60_000));
      this.sweepTimer.unref();
    }
  }

  /** Refuses (ModelSourceError forbidden_source) a source an API caller may not name: local paths, private URLs. */
  checkCallerSource(source: string): void {
    if (this.opts.callerPolicy) checkCallerSource(source, this.opts.callerPolicy);
  }

  /** true when `source` names something the resolver could fetch (so a request may load it) */
  canResolve(source: string): boolean {
    return Boolean(this.opts.resolver && this.opts.canResolve?.(source));
  }

  get device(): 'cpu' | 'cuda' {
    return detectDevice(this.opts.config.model.device);
  }

  private async resolve(source: string, caller = false): Promise<InstalledModel> {
    if (caller) this.checkCallerSource(source);
    const installed = await this.opts.store.get(source);
    if (installed) return installed;
    if (this.opts.resolver) return this.opts.resolver(source, { caller });
    throw new EngineError(
      'model_load_failed',
      `model "${source}" is not in the store (${this.opts.store.modelsDir}); get one with "earshot models pull ${source}" or "npm run fetch:test-models"`,
    );
  }

  /** The one way an engine comes to life: built by kind, started, warmed up; closed again if any step fails. */
  private async startEngine(model: InstalledModel, engineChoice?: EngineOverride): Promise<Engine> {
    const base = this.opts.config;
    const config = engineChoice ? { ...base, model: { ...base.model, engine: engineChoice } } : base;
    const engine = await createEngine(model, { config, device: this.device, home: this.opts.store.home });
    try {
      await engine.ready();
      // Warm-up: the first decode allocates buffers; pay for it before taking traffic.
      await engine.transcribe(new Float32Array(16000), { language: engine.info.multilingual ? 'en' : undefined }).catch(() => undefined);
      return engine;
    } catch (err) {
      await engine.close(0).catch(() => undefined);
      throw err;
    }
  }

  /** Loads (or returns the already loaded) model; warm-up included. */
  /** `caller`: an API caller named the source (the caller-source policy applies) */
  load(source: string, opts: { makeDefault?: boolean; caller?: boolean } = {}): Promise<LoadedModel> {
    const existing = this.models.get(source);
    if (existing?.state === 'loading' && existing.settled) {
      if (opts.makeDefault) this.defaultId = existing.id;
      return existing.settled.then(() => this.load(existing.id, opts));
    }
    const promise = this.loadNow(source, opts);
    const entry = this.models.get(source);
    if (entry && entry.state === 'loading') entry.settled = promise.catch(() => undefined);
    return promise;
  }

  private async loadNow(source: string, opts: { makeDefault?: boolean; caller?: boolean }): Promise<LoadedModel> {
    const placeholderId = source;
    const existing = this.models.get(placeholderId);
    if (existing && existing.state !== 'error' && !existing.retiring) {
      if (opts.makeDefault) this.defaultId = existing.id;
      return existing;
    }
    const entry: LoadedModel = { id: placeholderId, source, state: 'loading', lastUsed: Date.now(), leases: 0, retiring: false };
    this.models.set(placeholderId, entry);
    if (opts.makeDefault) this.defaultId = placeholderId;
    const started = performance.now();
    try {
      const model = await this.resolve(source, opts.caller);
      if (model.id !== placeholderId) {
        // Source resolved to another id (a catalogue name or URL): key the entry by the real id.
        this.models.delete(placeholderId);
        const already = this.models.get(model.id);
        if (already && already.state === 'ready' && !already.retiring) {
          if (opts.makeDefault) this.defaultId = already.id;
          return already;
        }
        entry.id = model.id;
        this.models.set(model.id, entry);
        if (opts.makeDefault) this.defaultId = model.id;
      }
      entry.engine = await this.startEngine(model);
      entry.state = 'ready';
      entry.loadedAt = new Date().toISOString();
      this.emitLoad(entry.id, started, entry.engine);
      return entry;
    } catch (err) {
      this.emitLoad(entry.id, started);
      entry.state = 'error';
      entry.error = (err as Error).message;
      entry.failure = loadError(source, err);
      // a caller's failed name is answered, not kept: distinct bad names must not grow the table without bound
      if (opts.caller && this.models.get(entry.id) === entry) this.models.delete(entry.id);
      throw entry.failure;
    }
  }

  /**
   * Loads `source` in the background of the current default, then switches the default atomically.
   * The old default retires: it keeps serving its leases and closes after the last one.
   */
  async swapDefault(source: string, opts: { caller?: boolean } = {}): Promise<LoadedModel> {
    const old = this.defaultId ? this.models.get(this.defaultId) : undefined;
    let fresh: LoadedModel;
    try {
      fresh = await this.loadDetached(source, opts.caller);
    } catch (err) {
      throw loadError(source, err);
    }
    this.defaultSource = source;
    this.defaultId = fresh.id;
    if (old && old !== fresh && old.id !== fresh.id) this.retire(old);
    return fresh;
  }

  /** Like load(), but never disturbs the entry currently registered under the same id until ready. */
  private async loadDetached(source: string, caller = false): Promise<LoadedModel> {
    const model = await this.resolve(source, caller);
    const current = this.models.get(model.id);
    if (current && current.state === 'ready' && !current.retiring && current.source === source) return current;
    const started = performance.now();
    let engine: Engine;
    try {
      engine = await this.startEngine(model);
    } catch (err) {
      this.emitLoad(model.id, started);
      throw err;
    }
    this.emitLoad(model.id, started, engine);
    const entry: LoadedModel = {
      id: model.id,
      source,
      state: 'ready',
      engine,
      loadedAt: new Date().toISOString(),
      lastUsed: Date.now(),
      leases: 0,
      retiring: false,
    };
    if (current) this.retire(current);
    this.models.set(model.id, entry);
    return entry;
  }

  /** 'model_load' {model, seconds, ok} for metrics; 'engine' hands a new engine to its observers. */
  private emitLoad(model: string, started: number, engine?: Engine): void {
    this.emit('model_load', { model, seconds: (performance.now() - started) / 1000, ok: Boolean(engine) });
    if (engine) this.emit('engine', engine);
  }

  private retire(entry: LoadedModel): void {
    entry.retiring = true;
    // Keep it reachable for its leases under a private key; close when idle.
    for (const [key, value] of this.models) if (value === entry) this.models.delete(key);
    this.models.set(`${entry.id}#retired-${Date.now()}`, entry);
    this.maybeClose(entry);
  }

  private maybeClose(entry: LoadedModel): void {
    if (!entry.retiring || entry.leases > 0) return;
    for (const [key, value] of this.models) if (value === entry) this.models.delete(key);
    void entry.engine?.close().catch(() => undefined);
  }

  /** Unloads a model that is not the default. */
  async unload(id: string): Promise<boolean> {
    const entry = this.models.get(id);
    if (!entry || id === this.defaultId) return false;
    this.retire(entry);
    return true;
  }

  private unloadIdle(ttlMs: number): void {
    const now = Date.now();
    for (const [id, entry] of this.models) {
      if (id !== this.defaultId && !this.pinned.has(id) && entry.state === 'ready' && !entry.retiring && entry.leases === 0 && now - entry.lastUsed > ttlMs) {
        this.retire(entry);
      }
    }
  }

  /**
   * The model id a request should use: the model it names, else its language's route for its use
   * (batch or live), else the language's route for any use, else the default for that use.
   */
  routeFor(opts: { model?: string; language?: string; use?: ModelUse }): string | undefined {
    if (opts.model) return opts.model;
    const use = opts.use ?? 'batch';
    const language = opts.language && opts.language !== 'auto' ? opts.language : undefined;
    const route = language ? this.opts.config.languages[language] : undefined;
    const routed = route?.[use] ?? route?.model;
    if (routed) return routed;
    if (use === 'live') return this.liveDefault(language) ?? this.defaultId;
    return this.defaultId;
  }

  /** model.live, or for 'auto': Moonshine for English live sessions on a CPU when it is installed. */
  private liveDefault(language: string | undefined): string | undefined {
    const setting = this.opts.config.model.live;
    if (setting !== 'auto') return setting;
    if (this.device !== 'cpu') return undefined;
    // Without a language, a live session is English when the default model only knows English.
    const defaultLanguages = this.defaultState().info?.languages;
    const english =
      language === 'en' || (language === undefined && Array.isArray(defaultLanguages) && defaultLanguages.length === 1 && defaultLanguages[0] === 'en');
    if (!english) return undefined;
    return LIVE_ENGLISH_MODELS.find((id) => this.opts.store.has(id));
  }

  /**
   * Loads the models the routes name besides the default (the live English model above all), so the
   * first live session does not wait for a load; they stay loaded like the default. Failures are
   * answered, not thrown: the default keeps serving.
   */
  async preloadRoutes(): Promise<Array<{ id: string; error?: string }>> {
    const ids = new Set<string>();
    const live = this.routeFor({ language: 'en', use: 'live' });
    if (live) ids.add(live);
    for (const route of Object.values(this.opts.config.languages)) {
      for (const id of [route.model, route.batch, route.live]) if (id) ids.add(id);
    }
    ids.delete(this.opts.config.model.name);
    if (this.defaultId) ids.delete(this.defaultId);
    const out: Array<{ id: string; error?: string }> = [];
    for (const id of ids) {
      try {
        const entry = await this.load(id);
        this.pinned.add(entry.id);
        out.push({ id: entry.id });
      } catch (err) {
        out.push({ id, error: (err as Error).message });
      }
    }
    return out;
  }

  /**
   * A lease on a ready engine. Loads the model first when `allowLoad` (catalogue names, routes).
   * Throws EngineError('model_load_failed' | 'unsupported') with a message fit for the client.
   */
  async acquire(
    opts: { model?: string; language?: string; use?: ModelUse; allowLoad?: boolean; engine?: EngineOverride; caller?: boolean } = {},
  ): Promise<Lease> {
    if (opts.engine) return this.acquireOn(opts.engine, opts);
    const id = this.routeFor(opts);
    if (!id) throw new EngineError('model_load_failed', 'no model is configured');
    let entry = this.models.get(id);
    if (!entry || entry.retiring) {
      // A model the client did not name came from the operator's routes: it may always be loaded.
      const isRoute = !opts.model;
      if (!opts.allowLoad && !isRoute) throw new EngineError('unsupported', `model "${id}" is not loaded`);
      // before any entry exists: a refused name leaves nothing behind
      if (opts.caller && opts.model) this.checkCallerSource(id);
      entry = await this.load(id, { caller: Boolean(opts.caller && opts.model) });
    }
    if (entry.state === 'loading') {
      // Requests that arrive while the model loads wait for it rather than fail.
      await (entry.settled ?? Promise.resolve());
      return this.acquire({ ...opts, model: entry.id });
    }
    if (entry.state === 'error' || !entry.engine) {
      // a client that named the model learns why it cannot be had; the default's failure is the server's
      if (opts.model && entry.failure instanceof ModelSourceError) throw entry.failure;
      throw new EngineError('model_load_failed', `model "${entry.id}" failed to load: ${entry.error ?? 'unknown error'}`);
    }
    return this.lease(entry);
  }

  /**
   * A lease on the routed model run by a chosen engine (a request's `engine`). The model's own entry
   * serves when it already runs there; otherwise the same model is loaded a second time on that
   * engine, under its own key, and unloads when idle like any model that is not the default.
   */
  private async acquireOn(choice: EngineOverride, opts: Omit<Parameters<EngineManager['acquire']>[0] & object, 'engine'>): Promise<Lease> {
    // An installed model of another family is refused before anything loads.
    const routed = this.routeFor(opts);
    const installed = routed ? await this.opts.store.get(routed) : undefined;
    if (installed) this.checkOverride(installed, choice);
    const own = await this.acquire({ ...opts, engine: undefined });
    if (own.engine.info.kind === choice) return own;
    const modelId = own.modelId;
    own.release();
    const model = await this.resolve(modelId);
    this.checkOverride(model, choice);
    const key = `${modelId}@${choice}`;
    let entry = this.models.get(key);
    if (!entry || entry.retiring || entry.state === 'error') {
      entry = { id: key, source: modelId, state: 'loading', lastUsed: Date.now(), leases: 0, retiring: false };
      const loading = entry;
      this.models.set(key, loading);
      const started = performance.now();
      loading.settled = this.startEngine(model, choice).then(
        (engine) => {
          loading.engine = engine;
          loading.state = 'ready';
          loading.loadedAt = new Date().toISOString();
          this.emitLoad(key, started, engine);
        },
        (err: unknown) => {
          this.emitLoad(key, started);
          loading.state = 'error';
          loading.error = (err as Error).message;
          loading.failure = loadError(key, err);
        },
      );
    }
    await entry.settled;
    if (entry.state !== 'ready' || !entry.engine) throw entry.failure ?? new EngineError('model_load_failed', `${key} failed to load`);
    return this.lease(entry, modelId);
  }

  /** Whether `choice` can run `model` here: a Whisper model, with CTranslate2 weights and a runtime for ct2. */
  private checkOverride(model: InstalledModel, choice: EngineOverride): void {
    const kind = engineKindOf(model);
    if (kind !== 'whisper') throw new EngineError('unsupported', `engine "${choice}" runs Whisper models; model ${model.id} runs on the ${kind} engine`);
    if (choice !== 'ct2') return;
    if (model.format !== 'ggml' || !ct2WeightsOf(model.dir)) {
      throw new EngineError(
        'unsupported',
        `model ${model.id} has no CTranslate2 weights, so engine "ct2" cannot run it (import it from a CTranslate2/faster-whisper folder)`,
      );
    }
    const ct2 = this.opts.config.ct2;
    if (!ct2.python && !ct2.install && !ct2RuntimeReady(this.opts.store.home)) {
      throw new EngineError('unsupported', 'engine "ct2" is not installed on this server (its runtime is missing and config ct2.install is off)');
    }
  }

  private lease(entry: LoadedModel, modelId = entry.id): Lease {
    const held = entry;
    held.leases++;
    held.lastUsed = Date.now();
    let released = false;
    return {
      engine: held.engine!,
      modelId,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        held.lastUsed = Date.now();
        this.maybeClose(held);
      },
    };
  }

  /** Runs fn with a leased engine and always releases it. */
  async withEngine<T>(opts: Parameters<EngineManager['acquire']>[0], fn: (engine: Engine, modelId: string) => Promise<T>): Promise<T> {
    const lease = await this.acquire(opts);
    try {
      return await fn(lease.engine, lease.modelId);
    } finally {
      lease.release();
    }
  }

  get defaultModelId(): string | undefined {
    return this.defaultId;
  }

  get defaultModelSource(): string {
    return this.defaultSource;
  }

  defaultState(): { state: ModelState | 'none'; error?: string; info?: EngineInfo } {
    const entry = this.defaultId ? this.models.get(this.defaultId) : undefined;
    if (!entry) return { state: 'none' };
    return { state: entry.state, error: entry.error, info: entry.engine?.info };
  }

  list(): Array<{
    id: string;
    source: string;
    state: ModelState;
    default: boolean;
    retiring: boolean;
    leases: number;
    loadedAt?: string;
    error?: string;
    info?: EngineInfo;
    stats?: EngineStats;
  }> {
    return [...this.models.values()].map((m) => ({
      id: m.id,
      source: m.source,
      state: m.state,
      default: m.id === this.defaultId && !m.retiring,
      retiring: m.retiring,
      leases: m.leases,
      loadedAt: m.loadedAt,
      error: m.error,
      info: m.engine?.info,
      stats: m.engine?.stats(),
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    const engines = [...new Set([...this.models.values()].map((m) => m.engine).filter((e): e is Engine => Boolean(e)))];
    this.models.clear();
    await Promise.all(engines.map((e) => e.close(2000).catch(() => undefined)));
  }
}
