// A live transcript: one row per utterance, the partial (committed + tentative text) replaced in
// place by the final, keyword chips as they arrive. It follows the newest text until the user
// scrolls up; "Jump to live" goes back to following.
import { h, setChildren } from './dom.js';
import { categoryHue, clockTime, mediaTime, shortId } from './format.js';
import type { FinalMsg, Keyword, KeywordsMsg, PartialMsg, TranscriptionMsg } from './types.js';

const MAX_ROWS = 500;
/** px from the bottom that still counts as "at the live edge" */
const LIVE_EDGE_PX = 48;

export interface TranscriptViewOptions {
  label: string;
  /** show which session each row belongs to (the monitor's all-sessions view) */
  showSession?: boolean;
  emptyText: string;
}

interface Row {
  el: HTMLElement;
  text: HTMLElement;
  chips: HTMLElement;
  meta: HTMLElement;
  final: boolean;
}

export class TranscriptView {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly list: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly jump: HTMLButtonElement;
  private readonly announcer: HTMLElement;
  private readonly rows = new Map<string, Row>();
  private following = true;
  private filter: string | null = null;

  constructor(private readonly options: TranscriptViewOptions) {
    this.empty = h('p', { class: 'transcript-empty', text: options.emptyText });
    this.list = h('div', { class: 'transcript-list' });
    this.scroller = h('div', { class: 'transcript-scroll', role: 'log', 'aria-label': options.label, tabindex: '0' }, this.empty, this.list);
    this.jump = h('button', { type: 'button', class: 'jump-live', hidden: true, onclick: () => this.jumpToLive() }, '↓ Jump to live');
    // finals only: partial revisions would flood a screen reader
    this.announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.el = h('div', { class: 'transcript' }, this.scroller, this.jump, this.announcer);
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    // a resized box (window, phone rotation) keeps following the newest text
    new ResizeObserver(() => this.stickToBottom()).observe(this.scroller);
    // a background tab neither renders nor scrolls: catch up with the newest text on return
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.stickToBottom();
    });
  }

  get isFollowing(): boolean {
    return this.following;
  }

  /** Shows only one session's rows (null: all). */
  setFilter(sessionId: string | null): void {
    this.filter = sessionId;
    for (const row of this.rows.values()) row.el.hidden = !this.visible(row.el.dataset.session ?? '');
    this.updateEmpty();
    this.stickToBottom();
  }

  clear(): void {
    this.rows.clear();
    this.list.replaceChildren();
    this.updateEmpty();
  }

  /** Speech started: a row that says so until text arrives. */
  pending(sessionId: string, utteranceId: number | string): void {
    const row = this.row(sessionId, utteranceId);
    if (!row.final && !row.text.hasChildNodes()) row.text.replaceChildren(h('span', { class: 'tentative', text: '…' }));
    this.changed();
  }

  partial(sessionId: string, msg: Omit<PartialMsg, 'type'>): void {
    const row = this.row(sessionId, msg.utterance_id);
    if (row.final) return;
    row.text.replaceChildren(h('span', { class: 'committed' }, msg.committed), h('span', { class: 'tentative' }, msg.tentative));
    this.changed();
  }

  final(sessionId: string, msg: Omit<FinalMsg, 'type'>): void {
    if (!msg.text.trim()) {
      this.remove(sessionId, msg.utterance_id);
      return;
    }
    const row = this.row(sessionId, msg.utterance_id);
    row.final = true;
    row.el.classList.remove('is-partial');
    row.el.classList.add('is-final');
    row.text.replaceChildren(msg.text.trim());
    row.el.setAttribute('aria-busy', 'false');
    this.setMeta(row, sessionId, { start: msg.start, end: msg.end, language: msg.language });
    this.announcer.textContent = msg.text.trim();
    this.changed();
  }

  keywords(sessionId: string, msg: Omit<KeywordsMsg, 'type'>): void {
    const row = this.rows.get(this.key(sessionId, msg.utterance_id));
    if (!row) return;
    row.chips.replaceChildren(...msg.keywords.map((k) => keywordChip(k)));
    row.chips.hidden = msg.keywords.length === 0;
    this.changed();
  }

  /** Drops an utterance the server filtered out (hallucination). */
  remove(sessionId: string, utteranceId: number | string): void {
    const key = this.key(sessionId, utteranceId);
    this.rows.get(key)?.el.remove();
    this.rows.delete(key);
    this.updateEmpty();
  }

  /** A batch transcription (upload or API) as one finished row. */
  transcription(msg: TranscriptionMsg): void {
    const key = `batch/${msg.time}/${this.rows.size}`;
    const row = this.row('batch', key);
    row.final = true;
    row.el.classList.remove('is-partial');
    row.el.classList.add('is-final', 'is-batch');
    row.text.replaceChildren(msg.text.trim());
    setChildren(
      row.meta,
      h('span', { class: 'badge', text: msg.source === 'openai' ? 'API upload' : 'Upload' }),
      h('time', { datetime: msg.time, text: clockTime(msg.time) }),
      h('span', { class: 'range', text: `${mediaTime(0)}–${mediaTime(msg.duration)}` }),
      msg.language ? h('span', { class: 'lang', title: 'language', text: msg.language }) : null,
    );
    this.changed();
  }

  jumpToLive(): void {
    this.following = true;
    this.jump.hidden = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  private visible(sessionId: string): boolean {
    return this.filter === null || sessionId === this.filter;
  }

  private key(sessionId: string, utteranceId: number | string): string {
    return `${sessionId}/${utteranceId}`;
  }

  private row(sessionId: string, utteranceId: number | string): Row {
    const key = this.key(sessionId, utteranceId);
    let row = this.rows.get(key);
    if (row) return row;
    const meta = h('div', { class: 'utt-meta' });
    const text = h('p', { class: 'utt-text' });
    const chips = h('ul', { class: 'chips', 'aria-label': 'Keywords', hidden: true });
    const el = h(
      'article',
      { class: 'utt is-partial', 'aria-busy': 'true', 'data-session': sessionId, 'data-utterance': String(utteranceId) },
      meta,
      text,
      chips,
    );
    el.hidden = !this.visible(sessionId);
    row = { el, text, chips, meta, final: false };
    this.setMeta(row, sessionId, {});
    this.rows.set(key, row);
    this.list.append(el);
    while (this.rows.size > MAX_ROWS) {
      const [oldKey, oldRow] = this.rows.entries().next().value!;
      oldRow.el.remove();
      this.rows.delete(oldKey);
    }
    this.updateEmpty();
    return row;
  }

  private setMeta(row: Row, sessionId: string, info: { start?: number; end?: number; language?: string }): void {
    const now = new Date();
    const existingTime = row.meta.querySelector('time');
    setChildren(
      row.meta,
      this.options.showSession && sessionId !== 'batch'
        ? h('span', { class: 'session-tag', title: `session ${sessionId}`, style: `--hue:${categoryHue(sessionId)}`, text: shortId(sessionId) })
        : null,
      existingTime ?? h('time', { datetime: now.toISOString(), text: clockTime(now) }),
      info.start !== undefined
        ? h('span', { class: 'range', title: 'position in the stream', text: `${mediaTime(info.start)}–${mediaTime(info.end)}` })
        : h('span', { class: 'live-dot', text: 'listening…' }),
      info.language ? h('span', { class: 'lang', title: 'language', text: info.language }) : null,
    );
  }

  private changed(): void {
    this.stickToBottom();
  }

  private stickToBottom(): void {
    if (this.following) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  private onScroll(): void {
    const s = this.scroller;
    const atEdge = s.scrollHeight - s.scrollTop - s.clientHeight <= LIVE_EDGE_PX;
    this.following = atEdge;
    this.jump.hidden = atEdge;
  }

  private updateEmpty(): void {
    this.empty.hidden = [...this.rows.values()].some((r) => !r.el.hidden);
  }
}

export function keywordChip(k: Keyword, onClick?: (k: Keyword) => void): HTMLElement {
  const body = [h('span', { class: 'chip-text', text: k.text }), h('span', { class: 'chip-cat', text: k.category })];
  const style = `--hue:${categoryHue(k.category)}`;
  if (onClick) {
    return h('li', null, h('button', { type: 'button', class: 'chip', style, title: `Show transcripts with “${k.text}”`, onclick: () => onClick(k) }, ...body));
  }
  return h('li', { class: 'chip', style, 'data-category': k.category }, ...body);
}
