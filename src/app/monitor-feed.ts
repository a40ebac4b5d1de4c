// The monitoring feed, a subscriber of the server's events: keeps enough recent text for a snapshot
// and fans session/partial/final/keywords/transcription messages and a periodic status out to its
// clients (the /api/monitor WebSocket). Slow clients lose partials and status first, then the line.
// In cluster mode the messages of every node travel over the Redis bus, each naming its node, so a
// monitor on any node shows the sessions of all of them; the status message stays this node's own.
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

/** A feed message as it is broadcast: every one names the node it happened on. */
type FeedMessage =
  | ({ type: 'session' } & MonitorSession)
  | ({ type: 'partial'; node: string } & MonitorPartial)
  | ({ type: 'final'; node: string } & MonitorFinal)
  | ({ type: 'keywords'; node: string } & MonitorKeywords)
  | (WireTranscription & { node: string });

/** What a node tells the others every HEARTBEAT_MS: it is alive, and these sessions run on it. */
interface Heartbeat {
  type: 'heartbeat';
  sessions: MonitorSession[];
}

const FEED_CHANNEL = 'monitor';
const HEARTBEAT_MS = 5000;
/** a node not heard from for this long is gone (crashed, cut off): its sessions are shown as ended */
const NODE_TIMEOUT_MS = 3 * HEARTBEAT_MS;

export class MonitorFeed {
  private readonly clients = new Set<FeedClient>();
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly transcriptions: WireTranscription[] = [];
  private readonly cpu = new CpuUsage();
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private readonly unsubscribe: Array<() => void>;
  /** other nodes → when they were last heard from */
  private readonly peers = new Map<string, number>();
  private readonly node: string;

  constructor(
    private readonly app: AppServices,
    private readonly log?: { warn(obj: unknown, msg?: string): void },
  ) {
    const events: AppEvents = app.events;
    this.node = app.node;
    const node = app.node;
    // Local events become feed messages; in cluster mode they also go to the other nodes, and theirs
    // come back through the same apply(), so every node's monitor shows the whole cluster.
    const local = (msg: FeedMessage) => {
      this.apply(msg);
      app.cluster?.bus.publish(FEED_CHANNEL, msg);
    };
    this.unsubscribe = [
      events.on('session.started', (e) => {
        const live = app.live.get(e.sessionId);
        local({
          type: 'session',
          id: e.sessionId,
          node,
          state: 'started',
          started: e.startedAt,
          ended: null,
          model: e.model,
          language: e.language,
          remote: e.remote ?? live?.remote ?? null,
        });
      }),
      events.on('session.ended', (e) => {
        const s = this.track(e.sessionId, e.endedAt, node);
        local({ type: 'session', ...this.info(s), state: 'ended', ended: e.endedAt });
      }),
      events.on('utterance.partial', (e) => local({ type: 'partial', node, session_id: e.sessionId, ...wirePartial(e) })),
      events.on('utterance.final', (e) => local({ type: 'final', node, session_id: e.sessionId, ...wireFinal(e) })),
      events.on('utterance.keywords', (e) =>
        local({ type: 'keywords', node, session_id: e.sessionId, utterance_id: e.utteranceId, ...wireKeywords(e.keywords) }),
      ),
      events.on('transcription.done', (e) => local({ ...wireTranscription(e), node })),
    ];
    const bus = app.cluster?.bus;
    if (bus) {
      this.unsubscribe.push(
        bus.subscribe<FeedMessage | Heartbeat>(FEED_CHANNEL, ({ node: from, body }) => {
          if (from === node) return;
          this.peers.set(from, Date.now());
          if (body.type === 'heartbeat') this.adopt(from, body.sessions);
          else this.apply(body);
        }),
      );
      this.heartbeat = setInterval(() => {
        const sessions = [...this.sessions.values()].filter((s) => s.node === node && s.state === 'started').map((s) => this.info(s));
        bus.publish(FEED_CHANNEL, { type: 'heartbeat', sessions } satisfies Heartbeat);
        this.expirePeers();
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    }
  }

  /** Updates the state a snapshot shows, then tells the clients. */
  private apply(msg: FeedMessage): void {
    switch (msg.type) {
      case 'session': {
        const { type: _type, ...info } = msg;
        const s = this.track(info.id, info.started, info.node);
        Object.assign(s, info);
        // keep a few ended sessions so a monitor opened just after still shows their text
        if (s.state === 'ended') {
          const ended = [...this.sessions.values()].filter((x) => x.state === 'ended');
          for (const old of ended.slice(0, Math.max(0, ended.length - RECENT_ENDED_SESSIONS))) this.sessions.delete(old.id);
        }
        this.broadcast(msg, true);
        return;
      }
      case 'partial': {
        const { type: _type, node, ...body } = msg;
        this.utterance(body.session_id, body.utterance_id, node, (u) => (u.partial = body));
        this.broadcast(msg, false);
        return;
      }
      case 'final': {
        const { type: _type, node, ...body } = msg;
        this.utterance(body.session_id, body.utterance_id, node, (u) => {
          u.final = body;
          delete u.partial;
        });
        this.broadcast(msg, true);
        return;
      }
      case 'keywords': {
        const { type: _type, node, ...body } = msg;
        this.utterance(body.session_id, body.utterance_id, node, (u) => (u.keywords = body));
        this.broadcast(msg, true);
        return;
      }
      case 'transcription': {
        this.transcriptions.push(msg);
        if (this.transcriptions.length > RECENT_TRANSCRIPTIONS) this.transcriptions.shift();
        this.broadcast(msg, true);
        return;
      }
    }
  }

  /** Sessions a peer runs that this node has not seen start (it joined later, or missed the message). */
  private adopt(node: string, sessions: MonitorSession[]): void {
    for (const info of sessions) {
      if (info.node !== node || this.sessions.has(info.id)) continue;
      this.apply({ type: 'session', ...info });
    }
  }

  /** A peer that went silent: its running sessions are over as far as this monitor can tell. */
  private expirePeers(): void {
    const now = Date.now();
    for (const [peer, seen] of this.peers) {
      if (now - seen < NODE_TIMEOUT_MS) continue;
      this.peers.delete(peer);
      for (const s of [...this.sessions.values()]) {
        if (s.node === peer && s.state === 'started') this.apply({ type: 'session', ...this.info(s), state: 'ended', ended: new Date(now).toISOString() });
      }
    }
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
    if (this.heartbeat) clearInterval(this.heartbeat);
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
    return { id: s.id, node: s.node, state: s.state, started: s.started, ended: s.ended, model: s.model, language: s.language, remote: s.remote };
  }

  private snapshotSessions(): MonitorSnapshotSession[] {
    return [...this.sessions.values()].map((s) => ({ ...this.info(s), utterances: [...s.utterances.values()] }));
  }

  private track(id: string, at: string, node: string): TrackedSession {
    let s = this.sessions.get(id);
    if (!s) {
      const live = node === this.node ? this.app.live.get(id) : undefined;
      s = {
        id,
        node,
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

  private utterance(sessionId: string, utteranceId: number, node: string, update: (u: MonitorUtterance) => void): void {
    const s = this.track(sessionId, new Date().toISOString(), node);
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
