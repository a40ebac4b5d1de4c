// History: search what the server transcribed (text and keywords), page through it, open the
// segments, download subtitles, delete entries.
import { api, apiJson, ApiRequestError, download } from '../api.js';
import { h, uid } from '../dom.js';
import { dateTime, duration, mediaTime } from '../format.js';
import { keywordChip } from '../transcript.js';
import type { HistoryEntry, HistoryPage } from '../types.js';

const PAGE_SIZE = 20;
const SOURCE_LABEL: Record<string, string> = { ws: 'Live', wyoming: 'Wyoming', realtime: 'Realtime', rest: 'Upload', openai: 'API' };

export class HistoryView {
  readonly el: HTMLElement;
  private readonly query: HTMLInputElement;
  private readonly keyword: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly pageLabel: HTMLElement;
  private page = 1;
  private pages = 1;
  private loading?: AbortController;

  constructor() {
    const qId = uid('q');
    const kId = uid('kw');
    this.query = h('input', { id: qId, type: 'search', name: 'q', placeholder: 'words in the text', autocomplete: 'off' });
    this.keyword = h('input', { id: kId, type: 'search', name: 'keyword', placeholder: 'exact keyword', autocomplete: 'off' });
    this.summary = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
    this.list = h('div', { class: 'history-list' });
    this.prev = h('button', { type: 'button', onclick: () => void this.load(this.page - 1) }, '← Newer');
    this.next = h('button', { type: 'button', onclick: () => void this.load(this.page + 1) }, 'Older →');
    this.pageLabel = h('span', { class: 'muted' });
    this.el = h(
      'section',
      { class: 'view', 'aria-labelledby': 'history-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'history-title', text: 'History' })),
      h(
        'form',
        {
          class: 'card search',
          role: 'search',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void this.load(1);
          },
        },
        h('div', { class: 'field' }, h('label', { for: qId, text: 'Text' }), this.query),
        h('div', { class: 'field' }, h('label', { for: kId, text: 'Keyword' }), this.keyword),
        h(
          'div',
          { class: 'field actions' },
          h('button', { type: 'submit', class: 'primary' }, 'Search'),
          h('button', { type: 'button', onclick: () => this.reset() }, 'Clear'),
        ),
      ),
      this.summary,
      this.list,
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, this.prev, this.pageLabel, this.next),
    );
  }

  /** Called when the view is shown. */
  refresh(): void {
    void this.load(this.page);
  }

  private reset(): void {
    this.query.value = '';
    this.keyword.value = '';
    void this.load(1);
  }

  private async load(page: number): Promise<void> {
    this.loading?.abort();
    const abort = new AbortController();
    this.loading = abort;
    const params = new URLSearchParams({ page: String(Math.max(1, page)), page_size: String(PAGE_SIZE) });
    if (this.query.value.trim()) params.set('q', this.query.value.trim());
    if (this.keyword.value.trim()) params.set('keyword', this.keyword.value.trim());
    this.summary.textContent = 'Searching…';
    try {
      const result = await apiJson<HistoryPage>(`/api/history?${params}`, { signal: abort.signal });
      if (abort.signal.aborted) return;
      this.page = result.page;
      this.pages = result.pages;
      this.render(result);
    } catch (err) {
      if (abort.signal.aborted) return;
      this.list.replaceChildren();
      this.summary.textContent =
        err instanceof ApiRequestError && err.code === 'history_disabled'
          ? 'History is turned off on this server.'
          : `Could not load the history: ${(err as Error).message}`;
    }
  }

  private render(result: HistoryPage): void {
    const filtered = this.query.value.trim() || this.keyword.value.trim();
    this.summary.textContent =
      result.total === 0
        ? filtered
          ? 'No transcripts match.'
          : 'Nothing transcribed yet.'
        : `${result.total} transcript${result.total === 1 ? '' : 's'}${filtered ? ' match' : ''}`;
    this.list.replaceChildren(...result.items.map((e) => this.entry(e)));
    this.prev.disabled = this.page <= 1;
    this.next.disabled = this.page >= this.pages;
    this.pageLabel.textContent = `Page ${this.page} of ${this.pages}`;
  }

  private entry(e: HistoryEntry): HTMLElement {
    const segments = e.segments.length
      ? h(
          'details',
          null,
          h('summary', { text: `Segments (${e.segments.length})` }),
          h(
            'table',
            { class: 'segments' },
            h(
              'tbody',
              null,
              ...e.segments.map((s) =>
                h(
                  'tr',
                  null,
                  h('td', { class: 'num', text: mediaTime(s.start) }),
                  h('td', { class: 'num', text: mediaTime(s.end) }),
                  h('td', { text: s.text }),
                ),
              ),
            ),
          ),
        )
      : null;
    const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
    let armed = 0;
    del.addEventListener('click', () => {
      // two steps instead of a modal confirm(): keyboard- and phone-friendly
      if (!armed) {
        del.textContent = 'Confirm delete';
        armed = window.setTimeout(() => {
          armed = 0;
          del.textContent = 'Delete';
        }, 4000);
        return;
      }
      window.clearTimeout(armed);
      void this.remove(e.id, card);
    });
    const card: HTMLElement = h(
      'article',
      { class: 'card history-entry', 'data-id': String(e.id) },
      h(
        'div',
        { class: 'utt-meta' },
        h('span', { class: 'badge', text: SOURCE_LABEL[e.source] ?? e.source }),
        h('time', { datetime: e.created_at, text: dateTime(e.created_at) }),
        e.duration !== null ? h('span', { class: 'range', text: duration(e.duration) }) : null,
        e.language ? h('span', { class: 'lang', text: e.language }) : null,
        e.model ? h('span', { class: 'muted', text: e.model }) : null,
      ),
      h('p', { class: 'utt-text', text: e.text }),
      e.keywords.length
        ? h('ul', { class: 'chips', 'aria-label': 'Keywords' }, ...e.keywords.map((k) => keywordChip(k, (kw) => this.byKeyword(kw.text))))
        : null,
      segments,
      h(
        'div',
        { class: 'toolbar end' },
        h('button', { type: 'button', onclick: () => void this.subtitles(e.id, 'srt') }, 'SRT'),
        h('button', { type: 'button', onclick: () => void this.subtitles(e.id, 'vtt') }, 'VTT'),
        del,
      ),
    );
    return card;
  }

  private byKeyword(keyword: string): void {
    this.keyword.value = keyword;
    this.query.value = '';
    void this.load(1);
  }

  private async subtitles(id: number, format: 'srt' | 'vtt'): Promise<void> {
    try {
      await download(await api(`/api/history/${id}/subtitles?format=${format}`));
    } catch (err) {
      this.summary.textContent = `Download failed: ${(err as Error).message}`;
    }
  }

  private async remove(id: number, card: HTMLElement): Promise<void> {
    try {
      await api(`/api/history/${id}`, { method: 'DELETE' });
      card.remove();
      // reload so the page stays full and the counts stay true
      await this.load(this.list.children.length ? this.page : Math.max(1, this.page - 1));
      this.summary.textContent = `Deleted. ${this.summary.textContent ?? ''}`;
    } catch (err) {
      this.summary.textContent = `Delete failed: ${(err as Error).message}`;
    }
  }
}
