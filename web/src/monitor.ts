// The dashboard's one connection to GET /api/monitor: reconnects with backoff and fans messages
// out to the views (live transcript, status panel).
import { api, AuthError, wsUrl } from './api.js';
import type { MonitorMsg } from './types.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

type Listener = (msg: MonitorMsg) => void;
type StateListener = (state: ConnectionState) => void;

export class MonitorClient {
  private socket?: WebSocket;
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<StateListener>();
  private retryMs = 1000;
  private timer?: number;
  private stopped = false;
  state: ConnectionState = 'closed';

  onMessage(fn: Listener): void {
    this.listeners.add(fn);
  }

  onState(fn: StateListener): void {
    this.stateListeners.add(fn);
    fn(this.state);
  }

  connect(): void {
    this.stopped = false;
    window.clearTimeout(this.timer);
    this.socket?.close();
    this.setState('connecting');
    const socket = new WebSocket(wsUrl('/api/monitor'));
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 1000;
      this.setState('open');
    };
    socket.onmessage = (event) => {
      let msg: MonitorMsg;
      try {
        msg = JSON.parse(String(event.data)) as MonitorMsg;
      } catch {
        return;
      }
      for (const fn of this.listeners) fn(msg);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.setState('closed');
      if (!this.stopped) void this.retry();
    };
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close();
  }

  private async retry(): Promise<void> {
    // a refused upgrade looks like any other close: ask over HTTP whether the key is the reason
    try {
      await api('/api/config');
    } catch (err) {
      if (err instanceof AuthError) return; // the key prompt reconnects once a key is entered
    }
    this.timer = window.setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }
}
