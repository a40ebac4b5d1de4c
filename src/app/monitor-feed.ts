// The monitoring feed, a subscriber of the server's events: keeps enough recent text for a snapshot
// and fans session/partial/final/keywords/transcription messages and a periodic status out to its
// clients (the /api/monitor WebSocket). Slow clients lose partials and status first, then the line.
import type { AppEvents } from './events.js';
import type { AppServices } from './services.js';
import { collectStatus } from './status.js';
import { CpuUsage, STATUS_INTERVAL_MS } from './system.js';
import { wireFinal, wireKeywords, wirePartial, wireTranscription } from './wire.js';
import type {
  MonitorFinal,
  MonitorKeywords,
  MonitorPartial,
  MonitorSession,
  MonitorSnapshotSession,
  MonitorUtterance,
  WireTranscription,
} from './wire-types.js';

export { STATUS_INTERVAL_MS } from './system.js';

/** a monitor further behind than this skips partials and status messages */
const SLOW_CLIENT_BYTES = 1024 * 1024;
/** and one this far behind is disconnected */
const STUCK_CLIENT_BYTES = 16 * 1024 * 1024;
const RECENT_UTTERANCES = 50;
const RECENT_ENDED_SESSIONS = 10;
const RECENT_TRANSCRIPTIONS = 10;

/** What the feed needs of a client connection (a `ws` WebSocket is one). */
export interface FeedClient {
  readonly readyState: number;
  readonly OPEN: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

interface TrackedSession extends MonitorSession {
  utterances: Map<number, MonitorUtterance>;
}

export class MonitorFeed {
  private readonly clients = new Set<FeedClient>();
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly transcriptions: WireTranscription[] = [];
  private readonly cpu = new CpuUsage();
  private timer?: NodeJS.Timeout;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly app: AppServices,
    private readonly log?: { warn(obj: unknown, msg?: string): void },
  ) {
    const events: AppEvents = app.events;
    this.unsubscribe = [
      events.on('session.started', (e) => {
        const s = this.track(e.sessionId, e.startedAt);
        Object.assign(s, { model: e.model, language: e.language, remote: e.remote, started: e.startedAt });
        this.broadcast({ type: 'session', ...this.info(s) }, true);
      }),
      events.on('session.ended', (e) => {
        const s = this.track(e.sessionId, e.endedAt);
        s.state = 'ended';
        s.ended = e.endedAt;
        // keep a few ended sessions so a monitor opened just after still shows their text
        const ended = [...this.sessions.values()].filter((x) => x.state === 'ended');
        for (const old of ended.slice(0, Math.max(0, ended.length - RECENT_ENDED_SESSIONS))) this.sessions.delete(old.id);
        this.broadcast({ type: 'session', ...this.info(s) }, true);
      }),
      events.on('utterance.partial', (e) => {
        const body: MonitorPartial = { session_id: e.sessionId, ...wirePartial(e) };
        this.utterance(e.sessionId, e.utteranceId, (u) => (u.partial = body));
        this.broadcast({ type: 'partial', ...body }, false);
      }),
      events.on('utterance.final', (e) => {
        const body: MonitorFinal = { session_id: e.sessionId, ...wireFinal(e) };
        this.utterance(e.sessionId, e.utteranceId, (u) => {
          u.final = body;
          delete u.partial;
        });
        this.broadcast({ type: 'final', ...body }, true);
      }),
      events.on('utterance.keywords', (e) => {
        const body: MonitorKeywords = { session_id: e.sessionId, utterance_id: e.utteranceId, ...wireKeywords(e.keywords) };
        this.utterance(e.sessionId, e.utteranceId, (u) => (u.keywords = body));
        this.broadcast({ type: 'keywords', ...body }, true);
      }),
      events.on('transcription.done', (e) => {
        const msg = wireTranscription(e);
        this.transcriptions.push(msg);
        if (this.transcriptions.length > RECENT_TRANSCRIPTIONS) this.transcriptions.shift();
        this.broadcast(msg, true);
      }),
    ];
  }

  status(): Promise<Record<string, unknown>> {
    return collectStatus(this.app, this.cpu);
  }

  /** Sends the snapshot, then every event, to a new client; returns the function to call when it goes. */
  async add(client: FeedClient): Promise<() => void> {
    const status = await this.status();
    const remove = () => this.remove(client);
    if (client.readyState !== client.OPEN) return remove;
    // snapshot and joining the broadcast list in one tick: no event falls between them
    this.send(client, JSON.stringify({ type: 'snapshot', sessions: this.snapshotSessions(), transcriptions: this.transcriptions, status }), true);
    this.clients.add(client);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), STATUS_INTERVAL_MS);
      this.timer.unref();
    }
    return remove;
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const client of this.clients) client.close(1001, 'server shutting down');
    this.clients.clear();
  }

  private remove(client: FeedClient): void {
    this.clients.delete(client);
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
      this.log?.warn({ err }, 'monitor: status failed');
    }
  }

  private info(s: TrackedSession): MonitorSession {
    return { id: s.id, state: s.state, started: s.started, ended: s.ended, model: s.model, language: s.language, remote: s.remote };
  }

  private snapshotSessions(): MonitorSnapshotSession[] {
    return [...this.sessions.values()].map((s) => ({ ...this.info(s), utterances: [...s.utterances.values()] }));
  }

  private track(id: string, at: string): TrackedSession {
    let s = this.sessions.get(id);
    if (!s) {
      const live = this.app.live.get(id);
      s = {
        id,
        state: 'started',
        started: live?.started ?? at,
        ended: null,
        model: live?.model ?? null,
        language: live?.language ?? null,
        remote: live?.remote ?? null,
        utterances: new Map(),
      };
      this.sessions.set(id, s);
    }
    return s;
  }

  private utterance(sessionId: string, utteranceId: number, update: (u: MonitorUtterance) => void): void {
    const s = this.track(sessionId, new Date().toISOString());
    const u = s.utterances.get(utteranceId) ?? { utterance_id: utteranceId };
    update(u);
    // most recently touched last, so the oldest goes first when the bound is reached
    s.utterances.delete(utteranceId);
    s.utterances.set(utteranceId, u);
    if (s.utterances.size > RECENT_UTTERANCES) s.utterances.delete(s.utterances.keys().next().value!);
  }

  private broadcast(msg: object, important: boolean): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(msg);
    for (const client of this.clients) this.send(client, text, important);
  }

  private send(client: FeedClient, text: string, important: boolean): void {
    if (client.readyState !== client.OPEN) return;
    if (client.bufferedAmount > STUCK_CLIENT_BYTES) {
      client.close(1013, 'monitor client too slow');
      return;
    }
    if (!important && client.bufferedAmount > SLOW_CLIENT_BYTES) return;
    client.send(text);
  }
}
