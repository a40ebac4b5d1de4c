// Try it: record from the microphone and watch the transcript grow; or upload a file, see its
// segments with timestamps and download them as SRT or WebVTT.
import { api, apiJson, download } from '../api.js';
import { MicStreamer, type MicState } from '../audio/mic.js';
import { h, uid } from '../dom.js';
import { duration, LANGUAGES, mediaTime } from '../format.js';
import { TranscriptView } from '../transcript.js';
import type { FinalMsg, KeywordsMsg, PartialMsg, Segment } from '../types.js';

interface UploadResult {
  success: boolean;
  text: string;
  language: string;
  segments: Segment[];
  model: string;
  duration: number;
  processing_time: number;
}

function languageSelect(id: string): HTMLSelectElement {
  return h('select', { id }, ...LANGUAGES.map(([code, name]) => h('option', { value: code, text: name })));
}

export class TryView {
  readonly el: HTMLElement;
  private readonly transcript = new TranscriptView({ label: 'Your transcript', emptyText: 'Press Record and speak; the text appears here as you talk.' });
  private readonly mic: MicStreamer;
  private readonly recordButton: HTMLButtonElement;
  private readonly micLanguage: HTMLSelectElement;
  private readonly micStatus: HTMLElement;
  private readonly meter: HTMLElement;
  private sessionId = 'mic';

  private readonly fileInput: HTMLInputElement;
  private readonly fileLanguage: HTMLSelectElement;
  private readonly uploadButton: HTMLButtonElement;
  private readonly uploadStatus: HTMLElement;
  private readonly result: HTMLElement;
  private lastResult?: UploadResult;
  private uploadAbort?: AbortController;

  constructor() {
    const micLangId = uid('mic-lang');
    this.micLanguage = languageSelect(micLangId);
    this.recordButton = h('button', { type: 'button', class: 'record', 'aria-pressed': 'false', onclick: () => void this.toggleRecording() }, 'Record');
    this.micStatus = h('p', { class: 'muted', role: 'status', text: 'Microphone off' });
    this.meter = h('div', { class: 'meter level', role: 'presentation' }, h('span'));
    this.mic = new MicStreamer({
      onMessage: (msg) => this.onStreamMessage(msg),
      onLevel: (rms) => ((this.meter.firstElementChild as HTMLElement).style.width = `${Math.min(100, Math.sqrt(rms) * 180)}%`),
      onState: (state, detail) => this.onMicState(state, detail),
    });

    const fileId = uid('file');
    const fileLangId = uid('file-lang');
    this.fileInput = h('input', { id: fileId, type: 'file', accept: 'audio/*,video/*,.wav,.mp3,.m4a,.ogg,.opus,.flac,.webm' });
    this.fileLanguage = languageSelect(fileLangId);
    this.uploadButton = h('button', { type: 'submit', class: 'primary' }, 'Transcribe');
    this.uploadStatus = h('p', { class: 'muted', role: 'status' });
    this.result = h('div', { class: 'upload-result', hidden: true, 'aria-live': 'polite' });

    this.el = h(
      'section',
      { class: 'view', 'aria-labelledby': 'try-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'try-title', text: 'Try it' })),
      h(
        'div',
        { class: 'card' },
        h('h2', { text: 'Microphone' }),
        h(
          'div',
          { class: 'toolbar' },
          this.recordButton,
          h('span', { class: 'inline-field' }, h('label', { for: micLangId, text: 'Language' }), this.micLanguage),
          this.meter,
        ),
        this.micStatus,
        this.transcript.el,
      ),
      h(
        'form',
        {
          class: 'card',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void this.upload();
          },
        },
        h('h2', { text: 'Upload a file' }),
        h(
          'div',
          { class: 'toolbar' },
          h('label', { for: fileId, class: 'sr-only', text: 'Audio or video file' }),
          this.fileInput,
          h('span', { class: 'inline-field' }, h('label', { for: fileLangId, text: 'Language' }), this.fileLanguage),
          this.uploadButton,
        ),
        this.uploadStatus,
        this.result,
      ),
    );
  }

  private async toggleRecording(): Promise<void> {
    if (this.mic.current === 'recording') {
      await this.mic.stop();
      return;
    }
    if (this.mic.current !== 'idle') return;
    try {
      await this.mic.start({ language: this.micLanguage.value || undefined });
    } catch {
      // onState shows the reason
    }
  }

  private onMicState(state: MicState, detail?: string): void {
    const labels: Record<MicState, string> = { idle: 'Record', starting: 'Starting…', recording: 'Stop', stopping: 'Finishing…' };
    this.recordButton.textContent = labels[state];
    this.recordButton.setAttribute('aria-pressed', String(state === 'recording'));
    this.recordButton.disabled = state === 'starting' || state === 'stopping';
    this.recordButton.classList.toggle('is-recording', state === 'recording');
    this.micLanguage.disabled = state !== 'idle';
    if (state !== 'recording') (this.meter.firstElementChild as HTMLElement).style.width = '0';
    const status: Record<MicState, string> = {
      idle: detail ? `Stopped: ${detail}` : 'Microphone off',
      starting: 'Asking for the microphone…',
      recording: 'Listening — speak now',
      stopping: 'Finishing the last sentence…',
    };
    this.micStatus.textContent = status[state];
    this.micStatus.dataset.tone = detail && state === 'idle' ? 'bad' : '';
  }

  private onStreamMessage(msg: Record<string, unknown> & { type: string }): void {
    switch (msg.type) {
      case 'ready':
        this.sessionId = String(msg.session_id);
        this.micStatus.textContent = `Listening — model ${String(msg.model)}, language ${String(msg.language)}`;
        break;
      case 'speech_start':
        this.transcript.pending(this.sessionId, msg.utterance_id as number);
        break;
      case 'partial':
        this.transcript.partial(this.sessionId, msg as unknown as PartialMsg);
        break;
      case 'final':
        this.transcript.final(this.sessionId, msg as unknown as FinalMsg);
        break;
      case 'keywords':
        this.transcript.keywords(this.sessionId, msg as unknown as KeywordsMsg);
        break;
      case 'filtered':
        this.transcript.remove(this.sessionId, msg.utterance_id as number);
        break;
      case 'backpressure':
        for (const id of (msg.dropped_utterances as number[] | undefined) ?? []) this.transcript.remove(this.sessionId, id);
        this.micStatus.textContent = `The server is behind: ${Number(msg.dropped_seconds).toFixed(1)} s of audio skipped`;
        break;
      case 'error':
        this.micStatus.textContent = `Server: ${String(msg.message)}`;
        this.micStatus.dataset.tone = 'bad';
        break;
      default:
        break;
    }
  }

  private async upload(): Promise<void> {
    if (this.uploadAbort) {
      this.uploadAbort.abort();
      return;
    }
    const file = this.fileInput.files?.[0];
    if (!file) {
      this.uploadStatus.textContent = 'Choose an audio or video file first.';
      this.fileInput.focus();
      return;
    }
    const form = new FormData();
    form.append('file', file, file.name);
    if (this.fileLanguage.value) form.append('language', this.fileLanguage.value);
    const abort = new AbortController();
    this.uploadAbort = abort;
    this.uploadButton.textContent = 'Cancel';
    this.result.hidden = true;
    const started = performance.now();
    const tick = window.setInterval(() => {
      this.uploadStatus.textContent = `Transcribing ${file.name}… ${Math.round((performance.now() - started) / 1000)} s`;
    }, 500);
    this.uploadStatus.textContent = `Uploading ${file.name}…`;
    delete this.uploadStatus.dataset.tone;
    try {
      const res = await apiJson<UploadResult>('/transcribe', { method: 'POST', body: form, signal: abort.signal });
      this.lastResult = res;
      this.uploadStatus.textContent = `${duration(res.duration)} of audio transcribed in ${res.processing_time.toFixed(1)} s (model ${res.model}, language ${res.language}).`;
      this.renderResult(res, file.name);
    } catch (err) {
      this.uploadStatus.textContent = abort.signal.aborted ? 'Cancelled.' : `Failed: ${(err as Error).message}`;
      this.uploadStatus.dataset.tone = 'bad';
    } finally {
      window.clearInterval(tick);
      this.uploadAbort = undefined;
      this.uploadButton.textContent = 'Transcribe';
    }
  }

  private renderResult(res: UploadResult, fileName: string): void {
    const base = fileName.replace(/\.[^.]+$/, '') || 'transcript';
    const rows = res.segments.map((s) =>
      h('tr', null, h('td', { class: 'num', text: mediaTime(s.start) }), h('td', { class: 'num', text: mediaTime(s.end) }), h('td', { text: s.text.trim() })),
    );
    this.result.replaceChildren(
      h('h3', { text: 'Text' }),
      h('p', { class: 'full-text', text: res.text.trim() || '(no speech found)' }),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', onclick: () => void this.downloadSubtitles('srt', base) }, 'Download SRT'),
        h('button', { type: 'button', onclick: () => void this.downloadSubtitles('vtt', base) }, 'Download VTT'),
      ),
      h('h3', { text: `Segments (${res.segments.length})` }),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'segments' },
          h(
            'thead',
            null,
            h('tr', null, h('th', { scope: 'col', text: 'Start' }), h('th', { scope: 'col', text: 'End' }), h('th', { scope: 'col', text: 'Text' })),
          ),
          h('tbody', null, ...rows),
        ),
      ),
    );
    this.result.hidden = false;
  }

  /** SRT/VTT from the segments already here, written by the server's subtitle writer. */
  private async downloadSubtitles(format: 'srt' | 'vtt', base: string): Promise<void> {
    const res = this.lastResult;
    if (!res) return;
    try {
      const out = await api('/api/subtitles', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ format, language: res.language, segments: res.segments }),
      });
      await download(out, `${base}.${format}`);
    } catch (err) {
      this.uploadStatus.textContent = `Download failed: ${(err as Error).message}`;
    }
  }
}
