// The monitoring feed: GET /api/monitor (WebSocket, read-only) sends a snapshot of live sessions and
// recent text, then every session/utterance/keywords/transcription event and a status message every
// 2 s; GET /api/stats answers the same status as JSON. Status covers models, engine queues, sessions,
// filter counts, LLM state and the machine (GPU through nvidia-smi when present, CPU and memory).
import { execFile } from 'node:child_process';
import os from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { VERSION } from '../../version.js';
import type { AppContext } from '../context.js';
import { liveSessions } from './ws.js';

export const STATUS_INTERVAL_MS = 2000;
/** a monitor further behind than this skips partials and status messages */
const SLOW_CLIENT_BYTES = 1024 * 1024;
/** and one this far behind is disconnected */
const STUCK_CLIENT_BYTES = 16 * 1024 * 1024;
const RECENT_UTTERANCES = 50;
const RECENT_ENDED_SESSIONS = 10;
const RECENT_TRANSCRIPTIONS = 10;

// ---------------------------------------------------------------- machine facts

export interface GpuInfo {
  index: number;
  name: string;
  memory_used_mib: number | null;
  memory_total_mib: number | null;
  utilization_percent: number | null;
  temperature_c: number | null;
}

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.used,memory.total,utilization.gpu,temperature.gpu', '--format=csv,noheader,nounits'];

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
      return { index: num(cols[0]) ?? 0, name, memory_used_mib: num(used), memory_total_mib: num(total), utilization_percent: num(util), temperature_c: num(temp) };
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

export const gpuProbe = new GpuProbe();

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

// ---------------------------------------------------------------- status

/** An LLM URL without credentials in it. */
function safeUrl(url: string | null): string | null {
  if (!url) return url;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return null;
  }
}

export function llmStatus(ctx: AppContext): Record<string, unknown> | null {
  if (!ctx.enricher) return null;
  const s = ctx.enricher.state();
  return {
    enabled: s.enabled,
    configured: s.configured,
    reachable: s.reachable,
    url: safeUrl(s.url),
    model: s.model,
    mode: s.mode,
    last_latency_ms: s.lastLatencyMs,
    error_rate: s.errorRate,
    calls: s.calls,
    failures: s.failures,
    last_error: s.lastError,
    breaker: s.breaker,
    queue: s.queue,
    fallback: s.fallback,
  };
}

function modelStatus(ctx: AppContext): Array<Record<string, unknown>> {
  return ctx.engines
    .list()
    .filter((m) => !m.retiring)
    .map((m) => ({
      id: m.id,
      state: m.state,
      default: m.default,
      kind: m.info?.kind ?? null,
      device: m.info?.device ?? null,
      loaded_at: m.loadedAt ?? null,
      error: m.error ?? null,
      workers: m.stats?.workers ?? 0,
      busy: m.stats?.busy ?? 0,
      queued: m.stats?.queued ?? 0,
      restarts: m.stats?.restarts ?? 0,
      completed: m.stats?.completed ?? 0,
      failed: m.stats?.failed ?? 0,
    }));
}

function sessionList(): Array<Record<string, unknown>> {
  return [...liveSessions.values()].map((s) => ({ id: s.id, started: s.started, model: s.model, language: s.language ?? null, remote: s.remote }));
}

export async function collectStatus(ctx: AppContext, cpu: CpuUsage): Promise<Record<string, unknown>> {
  const models = modelStatus(ctx);
  const def = ctx.engines.defaultState();
  const gpus = await gpuProbe.read();
  const mem = process.memoryUsage();
  const sessions = sessionList();
  return {
    time: new Date().toISOString(),
    version: VERSION,
    uptime: Math.round((Date.now() - ctx.startedAt) / 1000),
    status: def.state === 'ready' ? 'ok' : def.state === 'error' ? 'error' : 'loading',
    model: ctx.engines.defaultModelId ?? ctx.engines.defaultModelSource,
    engine: def.info?.kind ?? null,
    device: ctx.engines.device,
    models,
    queue: {
      workers: models.reduce((n, m) => n + (m.workers as number), 0),
      busy: models.reduce((n, m) => n + (m.busy as number), 0),
      queued: models.reduce((n, m) => n + (m.queued as number), 0),
    },
    sessions: { active: sessions.length, list: sessions },
    filter: ctx.filter ? ctx.filter.stats.snapshot() : null,
    llm: llmStatus(ctx),
    vad: ctx.vad?.kind ?? null,
    history: { enabled: Boolean(ctx.history), entries: ctx.history ? safeCount(ctx) : null },
    system: {
      gpu: gpus,
      cpu: { model: os.cpus()[0]?.model ?? null, cores: os.availableParallelism(), load: os.loadavg().map((l) => Math.round(l * 100) / 100), usage_percent: cpu.percent() },
      memory: { total: os.totalmem(), free: os.freemem(), process_rss: mem.rss, process_heap_used: mem.heapUsed },
    },
  };
}

function safeCount(ctx: AppContext): number | null {
  try {
    return ctx.history!.count();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- the feed

interface RecentUtterance {
  utterance_id: number | string;
  partial?: Record<string, unknown>;
  final?: Record<string, unknown>;
  keywords?: Record<string, unknown>;
}

interface TrackedSession {
  id: string;
  state: 'started' | 'ended';
  started: string;
  ended?: string;
  model?: string;
  language?: string;
  utterances: Map<string, RecentUtterance>;
}

type Event = Record<string, unknown>;

/** Follows the event bus once for all monitor sockets and keeps enough recent text for a snapshot. */
export class MonitorHub {
  private readonly clients = new Set<WebSocket>();
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly transcriptions: Event[] = [];
  private readonly cpu = new CpuUsage();
  private timer?: NodeJS.Timeout;
  private readonly onSession = (e: Event) => this.session(e);
  private readonly onUtterance = (e: Event) => this.utterance(e);
  private readonly onTranscription = (e: Event) => this.transcription(e);

  constructor(private readonly ctx: AppContext) {
    ctx.events.on('session', this.onSession);
    ctx.events.on('utterance', this.onUtterance);
    ctx.events.on('transcription', this.onTranscription);
  }

  status(): Promise<Record<string, unknown>> {
    return collectStatus(this.ctx, this.cpu);
  }

  async add(socket: WebSocket): Promise<void> {
    // read-only: anything the client sends is ignored
    socket.on('message', () => undefined);
    const status = await this.status();
    if (socket.readyState !== socket.OPEN) return;
    // snapshot and joining the broadcast list in one tick: no event falls between them
    this.send(socket, { type: 'snapshot', sessions: this.snapshotSessions(), transcriptions: this.transcriptions, status }, true);
    this.clients.add(socket);
    socket.on('close', () => this.remove(socket));
    socket.on('error', () => this.remove(socket));
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), STATUS_INTERVAL_MS);
      this.timer.unref();
    }
  }

  close(): void {
    this.ctx.events.off('session', this.onSession);
    this.ctx.events.off('utterance', this.onUtterance);
    this.ctx.events.off('transcription', this.onTranscription);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const socket of this.clients) socket.close(1001, 'server shutting down');
    this.clients.clear();
  }

  private remove(socket: WebSocket): void {
    this.clients.delete(socket);
    if (this.clients.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async tick(): Promise<void> {
    if (this.clients.size === 0) return;
    try {
      this.broadcast({ type: 'status', ...(await this.status()) }, false);
    } catch (err) {
      this.ctx.log.warn({ err }, 'monitor: status failed');
    }
  }

  private snapshotSessions(): Array<Record<string, unknown>> {
    return [...this.sessions.values()].map((s) => {
      const live = liveSessions.get(s.id);
      return {
        id: s.id,
        state: s.state,
        started: s.started,
        ended: s.ended ?? null,
        model: s.model ?? live?.model ?? null,
        language: s.language ?? live?.language ?? null,
        remote: live?.remote ?? null,
        utterances: [...s.utterances.values()],
      };
    });
  }

  private track(id: string): TrackedSession {
    let s = this.sessions.get(id);
    if (!s) {
      const live = liveSessions.get(id);
      s = { id, state: 'started', started: live?.started ?? new Date().toISOString(), model: live?.model, language: live?.language, utterances: new Map() };
      this.sessions.set(id, s);
    }
    return s;
  }

  private session(e: Event): void {
    const id = String(e.id);
    const s = this.track(id);
    if (e.state === 'ended') {
      s.state = 'ended';
      s.ended = new Date().toISOString();
      // keep a few ended sessions so a monitor opened just after still shows their text
      const ended = [...this.sessions.values()].filter((x) => x.state === 'ended');
      for (const old of ended.slice(0, Math.max(0, ended.length - RECENT_ENDED_SESSIONS))) this.sessions.delete(old.id);
    } else {
      s.model = (e.model as string | undefined) ?? s.model;
      s.language = (e.language as string | undefined) ?? s.language;
    }
    const live = liveSessions.get(id);
    this.broadcast({ type: 'session', id, state: e.state, started: s.started, ended: s.ended ?? null, model: s.model ?? null, language: s.language ?? null, remote: live?.remote ?? null }, true);
  }

  private utterance(e: Event): void {
    const sessionId = String(e.session_id);
    const kind = e.type as 'partial' | 'final' | 'keywords';
    const { type: _type, ...body } = e;
    const s = this.track(sessionId);
    const key = String(e.utterance_id);
    const u = s.utterances.get(key) ?? { utterance_id: e.utterance_id as number };
    if (kind === 'partial') u.partial = body;
    else if (kind === 'final') {
      u.final = body;
      delete u.partial;
    } else u.keywords = body;
    s.utterances.delete(key);
    s.utterances.set(key, u);
    if (s.utterances.size > RECENT_UTTERANCES) s.utterances.delete(s.utterances.keys().next().value!);
    this.broadcast({ type: kind, ...body }, kind !== 'partial');
  }

  private transcription(e: Event): void {
    const t = e.transcript as { text: string; language: string; duration: number; model: string; segments: Array<{ start: number; end: number; text: string }> };
    const msg = {
      type: 'transcription',
      source: e.source,
      time: new Date().toISOString(),
      text: t.text,
      language: t.language,
      duration: t.duration,
      model: t.model,
      segments: t.segments.map((s) => ({ start: s.start, end: s.end, text: s.text })),
    };
    this.transcriptions.push(msg);
    if (this.transcriptions.length > RECENT_TRANSCRIPTIONS) this.transcriptions.shift();
    this.broadcast(msg, true);
  }

  private broadcast(msg: Record<string, unknown>, important: boolean): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(msg);
    for (const socket of this.clients) this.send(socket, text, important);
  }

  private send(socket: WebSocket, msg: Record<string, unknown> | string, important: boolean): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > STUCK_CLIENT_BYTES) {
      socket.close(1013, 'monitor client too slow');
      return;
    }
    if (!important && socket.bufferedAmount > SLOW_CLIENT_BYTES) return;
    socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
}

export async function monitorRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const hub = new MonitorHub(ctx);
  app.addHook('onClose', async () => hub.close());

  app.get('/api/monitor', { websocket: true }, (socket: WebSocket, request: FastifyRequest) => {
    hub.add(socket).catch((err: unknown) => {
      request.log.warn({ err }, 'monitor: snapshot failed');
      socket.close(1011, 'snapshot failed');
    });
  });

  app.get('/api/stats', async () => hub.status());
}
