// Prometheus metrics: one registry per server, fed by the services (batch, live sessions, engines,
// enrichment) through the small methods below, and read by GET /metrics. Names follow Prometheus
// conventions: earshot_ prefix, base units (_seconds), _total for counters. Node's own process metrics
// keep their standard names (process_*, nodejs_*) so stock dashboards work.
import { EventEmitter } from 'node:events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineManager } from '../engines/manager.js';
import type { Engine } from '../engines/types.js';
import type { HallucinationFilter } from '../pipeline/filter/index.js';
import type { AppEvents } from './events.js';
import type { LiveSession } from './live-sessions.js';

/** Latency buckets from 10 ms to 5 min: an HTTP call can be a probe or an hour of audio. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Real-time factor: processing seconds per audio second. */
const RTF_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5];
/** Live latencies are sub-second to a few seconds. */
const LIVE_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

/** What a finished engine job reports (engines emit it as 'job', from WorkerPoolOptions.onJob). */
export interface EngineJobEvent {
  modelId: string;
  kind: string;
  waitSeconds: number;
  runSeconds: number;
  audioSeconds: number;
  outcome: 'ok' | 'error' | 'aborted';
}

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'earshot_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'earshot_http_request_duration_seconds',
    help: 'HTTP request latency from arrival to the last byte of the answer',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'earshot_rate_limited_total',
    help: 'Requests and live sessions refused by a per-key limit, by limit kind',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly audioSeconds = new Counter({
    name: 'earshot_audio_seconds_total',
    help: 'Seconds of audio transcribed, by engine, model and interface (batch or live)',
    labelNames: ['engine', 'model', 'mode'] as const,
    registers: [this.registry],
  });
  readonly realtimeFactor = new Histogram({
    name: 'earshot_realtime_factor',
    help: 'Engine processing seconds per second of audio, per transcription job',
    labelNames: ['engine', 'model'] as const,
    buckets: RTF_BUCKETS,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'earshot_engine_queue_wait_seconds',
    help: 'Time a transcription job waited in the engine queue before a worker took it',
    labelNames: ['engine', 'model'] as const,
    buckets: LIVE_BUCKETS.concat([30, 60, 300]),
    registers: [this.registry],
  });
  readonly engineJobs = new Counter({
    name: 'earshot_engine_jobs_total',
    help: 'Engine transcription jobs finished, by outcome (ok, error, aborted)',
    labelNames: ['engine', 'model', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly workerRestarts = new Counter({
    name: 'earshot_engine_worker_restarts_total',
    help: 'Engine worker processes that died and were replaced',
    labelNames: ['engine', 'model'] as const,
    registers: [this.registry],
  });
  readonly liveSessions = new Gauge({
    name: 'earshot_live_sessions',
    help: 'Live streaming sessions open now, by interface',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  readonly finalLatency = new Histogram({
    name: 'earshot_final_latency_seconds',
    help: 'Live sessions: wall time from the end of speech (VAD) to its final transcript',
    labelNames: ['interface'] as const,
    buckets: LIVE_BUCKETS,
    registers: [this.registry],
  });
  readonly partialDecodes = new Counter({
    name: 'earshot_partial_decodes_total',
    help: 'Live partial decodes, by outcome: run (decoded and sent), or skipped (started, then cancelled because the final took over)',
    labelNames: ['interface', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly backpressureDropped = new Counter({
    name: 'earshot_backpressure_dropped_audio_seconds_total',
    help: 'Live audio dropped because decoding fell behind (backpressure)',
    labelNames: ['interface'] as const,
    registers: [this.registry],
  });
  private filter?: HallucinationFilter;
  readonly filterDrops = (() => {
    const self = this;
    return new Counter({
      name: 'earshot_filter_drops_total',
      help: 'Segments the hallucination filter removed or trimmed, by rule (batch and live)',
      labelNames: ['rule'] as const,
      registers: [this.registry],
      // the filter keeps its own monotonic counts (also shown by /api/stats); mirror them at scrape time
      collect() {
        if (!self.filter) return;
        this.reset();
        for (const [rule, n] of Object.entries(self.filter.stats.snapshot().byRule)) if (n) this.inc({ rule }, n);
      },
    });
  })();
  readonly llmDuration = new Histogram({
    name: 'earshot_llm_request_duration_seconds',
    help: 'LLM enrichment calls: latency of answered calls',
    buckets: LIVE_BUCKETS.concat([30]),
    registers: [this.registry],
  });
  readonly llmErrors = new Counter({
    name: 'earshot_llm_errors_total',
    help: 'LLM enrichment calls that failed (timeout, network, HTTP error, unusable answer)',
    registers: [this.registry],
  });
  readonly modelLoads = new Counter({
    name: 'earshot_model_loads_total',
    help: 'Model loads (with warm-up), by model and outcome',
    labelNames: ['model', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly modelLoadDuration = new Histogram({
    name: 'earshot_model_load_duration_seconds',
    help: 'Model load time including warm-up',
    labelNames: ['model'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  private readonly watchedEngines = new WeakSet<object>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Engine gauges read at scrape time; job and restart events counted as they happen. */
  watchEngines(engines: EngineManager): void {
    const registry = this.registry;
    const list = () => engines.list().filter((m) => m.stats && m.info);
    const gauge = (name: string, help: string, pick: (s: NonNullable<ReturnType<EngineManager['list']>[number]['stats']>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['engine', 'model'] as const,
        registers: [registry],
        collect() {
          this.reset();
          for (const m of list()) this.set({ engine: m.info!.kind, model: m.id }, pick(m.stats!));
        },
      });
    gauge('earshot_engine_queue_depth', 'Transcription jobs waiting for a worker', (s) => s.queued);
    gauge('earshot_engine_busy', 'Transcription jobs running on a worker now', (s) => s.busy);
    gauge('earshot_engine_workers', 'Engine worker processes alive', (s) => s.workers);
    new Gauge({
      name: 'earshot_models_loaded',
      help: 'Models loaded and ready to serve',
      registers: [registry],
      collect() {
        this.set(engines.list().filter((m) => m.state === 'ready' && !m.retiring).length);
      },
    });
    engines.on('engine', (engine: Engine) => this.watchEngine(engine));
    engines.on('model_load', (e: { model: string; seconds: number; ok: boolean }) => {
      this.modelLoads.inc({ model: e.model, outcome: e.ok ? 'ok' : 'error' });
      if (e.ok) this.modelLoadDuration.observe({ model: e.model }, e.seconds);
    });
  }

  private watchEngine(engine: Engine): void {
    if (!(engine instanceof EventEmitter) || this.watchedEngines.has(engine)) return;
    this.watchedEngines.add(engine);
    const labels = { engine: engine.info.kind, model: engine.info.modelId };
    engine.on('job', (e: EngineJobEvent) => {
      this.engineJobs.inc({ ...labels, outcome: e.outcome });
      this.queueWait.observe(labels, e.waitSeconds);
      if (e.outcome === 'ok' && e.audioSeconds > 0) this.realtimeFactor.observe(labels, e.runSeconds / e.audioSeconds);
    });
    engine.on('worker_exit', () => this.workerRestarts.inc(labels));
  }

  /** Filter counts are the filter's own (shared by batch and live); exported as they stand at scrape time. */
  watchFilter(filter: HallucinationFilter): void {
    this.filter = filter;
  }

  /** Enricher callbacks for the LLM histograms. */
  llmObserver(): { llmCall(latencyMs: number, ok: boolean): void } {
    return {
      llmCall: (latencyMs, ok) => {
        if (ok) this.llmDuration.observe(latencyMs / 1000);
        else this.llmErrors.inc();
      },
    };
  }

  /** The app's typed events: live sessions open by interface, audio seconds transcribed (batch and live). */
  subscribe(events: AppEvents): void {
    const interfaces = new Map<string, string>();
    events.on('session.started', (e) => {
      interfaces.set(e.sessionId, e.interface);
      this.liveSessions.inc({ interface: e.interface });
    });
    events.on('session.ended', (e) => {
      const iface = interfaces.get(e.sessionId);
      if (iface === undefined) return;
      interfaces.delete(e.sessionId);
      this.liveSessions.dec({ interface: iface });
    });
    events.on('utterance.final', (e) => this.transcribed('live', e.engine, e.model, e.end - e.start));
    events.on('transcription.done', (e) => this.transcribed('batch', e.transcript.engine, e.transcript.model, e.transcript.duration));
  }

  private transcribed(mode: 'batch' | 'live', engine: string, model: string, audioSeconds: number): void {
    if (audioSeconds > 0) this.audioSeconds.inc({ engine, model, mode }, audioSeconds);
  }

  /**
   * What the events do not carry, from one live session: end of speech → final latency, partial
   * decodes run and skipped, audio dropped by backpressure. Returns the function to call at its close.
   */
  followLiveSession(session: LiveSession): () => void {
    const iface = session.info.interface;
    const speechEnded = new Map<number, number>();
    let countedRun = 0;
    let countedSkipped = 0;
    const syncPartials = () => {
      const s = session.stats();
      const run = s.partialDecodes - s.partialsAborted - countedRun;
      const skipped = s.partialsAborted - countedSkipped;
      if (run > 0) this.partialDecodes.inc({ interface: iface, outcome: 'run' }, run);
      if (skipped > 0) this.partialDecodes.inc({ interface: iface, outcome: 'skipped' }, skipped);
      countedRun += Math.max(0, run);
      countedSkipped += Math.max(0, skipped);
    };
    const onEnd = (e: { utteranceId: number }) => speechEnded.set(e.utteranceId, performance.now());
    const onFinal = (e: { utteranceId: number }) => {
      const at = speechEnded.get(e.utteranceId);
      speechEnded.delete(e.utteranceId);
      if (at !== undefined) this.finalLatency.observe({ interface: iface }, (performance.now() - at) / 1000);
      syncPartials();
    };
    const onDropped = (e: { utteranceId: number }) => speechEnded.delete(e.utteranceId);
    const onBackpressure = (e: { droppedSeconds: number }) => this.backpressureDropped.inc({ interface: iface }, e.droppedSeconds);
    session.on('speech_end', onEnd);
    session.on('final', onFinal);
    session.on('dropped', onDropped);
    session.on('backpressure', onBackpressure);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      syncPartials();
      session.off('speech_end', onEnd);
      session.off('final', onFinal);
      session.off('dropped', onDropped);
      session.off('backpressure', onBackpressure);
    };
  }

  /** Everything in the Prometheus text format. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
