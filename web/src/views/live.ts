// Live view: every session the server is transcribing (or one chosen), as it happens.
import { h, uid } from '../dom.js';
import { clockTime, shortId } from '../format.js';
import type { MonitorClient } from '../monitor.js';
import { TranscriptView } from '../transcript.js';
import type { MonitorMsg, SessionInfo } from '../types.js';

export class LiveView {
  readonly el: HTMLElement;
  private readonly transcript = new TranscriptView({
    label: 'Live transcripts of all sessions',
    showSession: true,
    emptyText: 'No speech yet. Start a session from “Try it”, or stream to /ws from any client — text appears here as it is recognised.',
  });
  private readonly select: HTMLSelectElement;
  private readonly summary: HTMLElement;
  private readonly sessions = new Map<string, SessionInfo>();

  constructor(monitor: MonitorClient) {
    const selectId = uid('session');
    this.select = h('select', { id: selectId, onchange: () => this.transcript.setFilter(this.select.value || null) });
    this.summary = h('p', { class: 'muted', role: 'status' });
    this.el = h(
      'section',
      { class: 'view', 'aria-labelledby': 'live-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'live-title', text: 'Live' }), this.summary),
      h('div', { class: 'toolbar' }, h('span', { class: 'inline-field' }, h('label', { for: selectId, text: 'Session' }), this.select)),
      this.transcript.el,
    );
    this.renderSessions();
    monitor.onMessage((msg) => this.handle(msg));
  }

  private handle(msg: MonitorMsg): void {
    switch (msg.type) {
      case 'snapshot':
        this.transcript.clear();
        this.sessions.clear();
        for (const s of msg.sessions) {
          this.sessions.set(s.id, s);
          for (const u of s.utterances) {
            if (u.final) this.transcript.final(s.id, u.final);
            else if (u.partial) this.transcript.partial(s.id, u.partial);
            if (u.keywords) this.transcript.keywords(s.id, u.keywords);
          }
        }
        for (const t of msg.transcriptions) this.transcript.transcription(t);
        this.renderSessions();
        break;
      case 'session':
        this.sessions.set(msg.id, msg);
        this.renderSessions();
        break;
      case 'partial':
        this.transcript.partial(msg.session_id!, msg);
        break;
      case 'final':
        this.transcript.final(msg.session_id!, msg);
        break;
      case 'keywords':
        this.transcript.keywords(msg.session_id!, msg);
        break;
      case 'transcription':
        this.transcript.transcription(msg);
        break;
      default:
        break;
    }
  }

  private renderSessions(): void {
    const chosen = this.select.value;
    const all = [...this.sessions.values()];
    const active = all.filter((s) => s.state === 'started');
    this.select.replaceChildren(
      h('option', { value: '', text: `All sessions (${active.length} active)` }),
      ...all.map((s) =>
        h('option', {
          value: s.id,
          // the node matters once several share the view (cluster mode)
          text: `${shortId(s.id)} · ${s.state === 'started' ? 'live' : 'ended'} · since ${clockTime(s.started)}${s.language ? ` · ${s.language}` : ''} · ${s.node}`,
        }),
      ),
    );
    this.select.value = all.some((s) => s.id === chosen) ? chosen : '';
    if (this.select.value !== chosen) this.transcript.setFilter(null);
    this.summary.textContent = active.length === 0 ? 'No active sessions' : `${active.length} active session${active.length === 1 ? '' : 's'}`;
  }
}
