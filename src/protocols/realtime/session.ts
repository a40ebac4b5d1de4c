// One OpenAI Realtime transcription session over a WebSocket: client events in, server events out, in
// OpenAI's shapes. Audio (24 kHz pcm16, base64) goes into a live session at 16 kHz as it arrives.
//
// Items: with server_vad each VAD utterance is one conversation item (speech_started → speech_stopped →
// committed → deltas → completed). With turn_detection null the client commits: everything appended
// between two commits (or a commit and a clear) is one item, however many utterances the VAD finds in it.
// Deltas are append-only: committed words of the live partials as they are agreed, then the rest of the
// final decode (src/pipeline/policy/append-only.ts), so the deltas of an item concatenate to exactly its
// completed transcript. Tentative words are never sent. Deltas may arrive before the item's `committed`.
import { randomUUID } from 'node:crypto';
import { PcmToMono16k } from '../../audio/pcm-stream.js';
import { AppendOnlyTranscript } from '../../pipeline/policy/append-only.js';
import type { LiveSession } from '../../app/live-sessions.js';
import { normalizeLanguage } from '../../util/languages.js';
import type { AppContext } from '../../server/context.js';
import { ApiError, toApiError } from '../../server/errors.js';
import { applyGa, applyLegacy, defaultSettings, gaSession, legacySession, renderGa, renderLegacy, type RealtimeSettings } from './config.js';

export interface RealtimeSocket {
  send(event: Record<string, unknown>): void;
  close(code: number, reason: string): void;
}

const INPUT_RATE = 24000;
/** OpenAI refuses a commit of less audio than this */
const MIN_COMMIT_MS = 100;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** one append: about 20 s of 24 kHz pcm16 in base64 */
export const MAX_APPEND_CHARS = 1_400_000;

interface Item {
  id: string;
  text: AppendOnlyTranscript;
  /** utterances of this item whose final decode is not over */
  pending: Set<number>;
  committed: boolean;
  finished: boolean;
  failed: boolean;
  /** input audio in the item, seconds (usage) */
  seconds: number;
}

/** A live stream and which item each of its utterances feeds (null: cleared, ignored). */
interface Binding {
  live: LiveSession;
  items: Map<number, Item | null>;
  /** session audio (ms) before this stream's first sample */
  offsetMs: number;
  /** the settings it was opened with */
  settings: RealtimeSettings;
}

const ev = () => `event_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
const itemId = () => `item_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

export class RealtimeTranscriptionSession {
  private readonly id = `sess_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  private settings: RealtimeSettings;
  private legacy = false;
  private binding: Binding | undefined;
  private opening: Promise<Binding | undefined> | undefined;
  /** the last attempt to open a stream failed (error sent): audio is dropped until the next session update */
  private openFailed = false;
  private convert = new PcmToMono16k({ rate: INPUT_RATE, width: 2, channels: 1 });
  /** the item audio is being appended to (turn_detection null), or the utterance's item in server_vad */
  private openItem: Item | undefined;
  private openItemMs = 0;
  private lastItemId: string | null = null;
  private appendedMs = 0;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: AppContext,
    private readonly socket: RealtimeSocket,
    private readonly remote: string,
  ) {
    this.settings = defaultSettings(ctx.engines.defaultModelId ?? ctx.config.model.name);
    this.send('session.created', { session: renderGa(this.id, this.settings) });
  }

  /** Client events are handled strictly in order. */
  receive(text: string): void {
    this.chain = this.chain
      .then(() => (this.closed ? undefined : this.handle(text)))
      .catch((err: unknown) => {
        this.ctx.log.error({ err }, 'realtime event failed');
        this.error('server_error', 'internal_error', 'internal error handling the event');
      });
  }

  /** Shutdown: the audio already received is decoded to its last transcription events, then the stream ends. */
  async finish(): Promise<void> {
    await this.chain.catch(() => undefined);
    if (this.closed) return;
    await this.binding?.live.stop().catch(() => undefined);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.binding?.live.close();
    this.binding = undefined;
  }

  // ---- client events -----------------------------------------------------------------------

  private async handle(text: string): Promise<void> {
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch {
      return this.error('invalid_request_error', 'invalid_json', 'client events must be JSON objects');
    }
    const eventId = typeof msg.event_id === 'string' ? msg.event_id : undefined;
    switch (msg.type) {
      case 'session.update':
        return this.update(msg.session, false, eventId);
      case 'transcription_session.update':
        return this.update(msg.session, true, eventId);
      case 'input_audio_buffer.append':
        return this.append(msg.audio, eventId);
      case 'input_audio_buffer.commit':
        return this.commit(eventId);
      case 'input_audio_buffer.clear':
        return this.clear();
      default:
        return this.error(
          'invalid_request_error',
          'unknown_event',
          `unsupported event type ${JSON.stringify(msg.type ?? null)}: a transcription session takes session.update, transcription_session.update and input_audio_buffer.append, .commit and .clear`,
          'type',
          eventId,
        );
    }
  }

  private async update(session: unknown, legacy: boolean, eventId?: string): Promise<void> {
    const parsed = (legacy ? legacySession : gaSession).safeParse(session ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return this.error(
        'invalid_request_error',
        'invalid_value',
        `session.${issue.path.join('.')}: ${issue.message}`,
        `session.${issue.path.join('.')}`,
        eventId,
      );
    }
    if (!legacy && (parsed.data as { type?: string }).type === 'realtime') {
      return this.error(
        'invalid_request_error',
        'invalid_value',
        'Earshot runs transcription sessions only: set session.type to "transcription"',
        'session.type',
        eventId,
      );
    }
    const next = legacy ? applyLegacy(this.settings, parsed.data as never) : applyGa(this.settings, parsed.data as never);
    if (this.binding && this.needsNewStream(this.binding.settings, next)) {
      if (this.openItem && this.settings.turnDetection === null) {
        return this.error(
          'invalid_request_error',
          'input_audio_buffer_not_empty',
          'commit or clear the input audio buffer before changing the transcription model, language, prompt or turn detection',
          undefined,
          eventId,
        );
      }
      // the old stream finishes what it has (its items complete as usual); the next audio opens a new one
      const old = this.binding;
      this.binding = undefined;
      this.openItem = undefined;
      void old.live.stop().catch(() => old.live.close());
    }
    this.settings = next;
    this.legacy = legacy;
    this.openFailed = false;
    if (legacy) this.send('transcription_session.updated', { session: renderLegacy(this.id, next) });
    else this.send('session.updated', { session: renderGa(this.id, next) });
  }

  private async append(audio: unknown, eventId?: string): Promise<void> {
    if (typeof audio !== 'string' || audio.length % 4 !== 0 || !BASE64.test(audio)) {
      return this.error('invalid_request_error', 'invalid_value', '"audio" must be base64-encoded 24 kHz pcm16 mono audio', 'audio', eventId);
    }
    if (audio.length > MAX_APPEND_CHARS) {
      return this.error(
        'invalid_request_error',
        'invalid_value',
        `one append may carry at most ${MAX_APPEND_CHARS} base64 characters; send smaller chunks`,
        'audio',
        eventId,
      );
    }
    const bytes = Buffer.from(audio, 'base64');
    if (bytes.length === 0) return;
    const binding = await this.stream();
    if (!binding) return;
    const samples = this.convert.push(bytes);
    const ms = (bytes.length / 2 / INPUT_RATE) * 1000;
    this.appendedMs += ms;
    if (this.settings.turnDetection === null) {
      this.openItem ??= this.newItem();
      this.openItemMs += ms;
      this.openItem.seconds += ms / 1000;
    }
    if (samples.length > 0 && !binding.live.isClosed) binding.live.push(samples);
  }

  private async commit(eventId?: string): Promise<void> {
    const binding = this.binding;
    if (this.settings.turnDetection !== null) {
      // server_vad: a manual commit ends the utterance in progress; its speech_stopped commits it
      const speaking = binding && [...binding.items.values()].some((i) => i && !i.committed);
      if (!binding || !speaking)
        return this.error('invalid_request_error', 'input_audio_buffer_commit_empty', 'no speech in the input audio buffer to commit', undefined, eventId);
      await binding.live.flush();
      return;
    }
    const item = this.openItem;
    if (!binding || !item || this.openItemMs < MIN_COMMIT_MS) {
      return this.error(
        'invalid_request_error',
        'input_audio_buffer_commit_empty',
        `buffer too small: expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${this.openItemMs.toFixed(2)}ms of audio`,
        undefined,
        eventId,
      );
    }
    this.markCommitted(item);
    // ends the utterance in progress; all audio appended so far has been through the VAD after this
    await binding.live.flush();
    this.openItem = undefined;
    this.openItemMs = 0;
    this.maybeComplete(item);
  }

  private async clear(): Promise<void> {
    const binding = this.binding;
    if (binding) {
      // utterances not yet committed are dropped: their events are ignored from now on
      for (const [u, item] of binding.items) if (item && !item.committed) binding.items.set(u, null);
      await binding.live.flush();
      for (const [u, item] of binding.items) if (item && !item.committed) binding.items.set(u, null);
    }
    this.openItem = undefined;
    this.openItemMs = 0;
    this.send('input_audio_buffer.cleared', {});
  }

  // ---- the live stream ---------------------------------------------------------------------

  private resolveModel(requested: string): string | undefined {
    if (this.ctx.store.has(requested)) return requested;
    // OpenAI's model names (whisper-1, gpt-4o-transcribe, …) and anything else not installed: the default model
    return undefined;
  }

  private needsNewStream(a: RealtimeSettings, b: RealtimeSettings): boolean {
    return (
      this.resolveModel(a.model) !== this.resolveModel(b.model) ||
      a.language !== b.language ||
      a.prompt !== b.prompt ||
      JSON.stringify(a.turnDetection) !== JSON.stringify(b.turnDetection)
    );
  }

  private stream(): Promise<Binding | undefined> {
    if (this.binding) return Promise.resolve(this.binding);
    if (this.openFailed) return Promise.resolve(undefined);
    if (!this.opening) {
      this.opening = this.open().finally(() => {
        this.opening = undefined;
      });
    }
    return this.opening;
  }

  private async open(): Promise<Binding | undefined> {
    const s = this.settings;
    const td = s.turnDetection;
    let live: LiveSession;
    try {
      let language: string | undefined;
      try {
        language = normalizeLanguage(s.language);
      } catch (err) {
        throw new ApiError(400, 'invalid_language', (err as Error).message, 'session.audio.input.transcription.language');
      }
      live = await this.ctx.live.open({
        interface: 'realtime',
        remote: this.remote,
        model: this.resolveModel(s.model),
        language,
        prompt: s.prompt,
        enrich: true,
        vad: td ? { threshold: td.threshold, speechPadMs: td.prefix_padding_ms, minSilenceMs: td.silence_duration_ms } : undefined,
      });
    } catch (err) {
      const api = toApiError(err);
      this.error(
        api.status >= 500 ? 'server_error' : 'invalid_request_error',
        api.code,
        `${api.message} (audio is dropped until the next session.update)`,
        api.param,
      );
      this.openFailed = true;
      return undefined;
    }
    if (this.closed) {
      live.close();
      return undefined;
    }
    const binding: Binding = { live, items: new Map(), offsetMs: this.appendedMs, settings: s };
    this.wire(binding);
    this.binding = binding;
    this.convert = new PcmToMono16k({ rate: INPUT_RATE, width: 2, channels: 1 });
    return binding;
  }

  private wire(b: Binding): void {
    const session = b.live;
    const serverVad = b.settings.turnDetection !== null;
    const ms = (sec: number) => Math.round(b.offsetMs + sec * 1000);
    session.on('speech_start', (e) => {
      if (serverVad) {
        const item = this.newItem();
        b.items.set(e.utteranceId, item);
        this.send('input_audio_buffer.speech_started', { audio_start_ms: ms(e.start), item_id: item.id });
      } else {
        b.items.set(e.utteranceId, this.openItem ?? null);
      }
      b.items.get(e.utteranceId)?.pending.add(e.utteranceId);
    });
    session.on('speech_end', (e) => {
      const item = b.items.get(e.utteranceId);
      if (!serverVad || !item) return;
      item.seconds = e.end - e.start;
      this.send('input_audio_buffer.speech_stopped', { audio_end_ms: ms(e.end), item_id: item.id });
      this.markCommitted(item);
    });
    session.on('partial', (e) => {
      const item = b.items.get(e.utteranceId);
      if (item) this.delta(item, item.text.partial(e.utteranceId, e.committed));
    });
    session.on('final', (e) => {
      const item = b.items.get(e.utteranceId);
      if (item) this.delta(item, item.text.final(e.utteranceId, e.text));
    });
    session.on('dropped', (e) => b.items.get(e.utteranceId)?.text.end(e.utteranceId));
    session.on('error', (e) => {
      const item = e.utteranceId !== undefined ? b.items.get(e.utteranceId) : undefined;
      if (e.stage === 'final' && item && !item.failed) {
        item.failed = true;
        this.send('conversation.item.input_audio_transcription.failed', {
          item_id: item.id,
          content_index: 0,
          error: { type: 'transcription_error', code: e.code, message: e.message, param: null },
        });
      } else if (e.fatal) {
        this.error('server_error', e.code, `transcription stopped: ${e.message}`);
      }
    });
    session.on('backpressure', (e) => {
      for (const u of e.droppedUtterances) this.settle(b, u, 'audio dropped: the server could not keep up with this stream');
    });
    session.on('utterance_done', (e) => this.settle(b, e.utteranceId));
  }

  /** An utterance's decode is over: its item may now be complete. */
  private settle(b: Binding, utteranceId: number, failure?: string): void {
    const item = b.items.get(utteranceId);
    b.items.delete(utteranceId);
    if (!item) return;
    item.pending.delete(utteranceId);
    if (failure && !item.failed) {
      item.failed = true;
      this.send('conversation.item.input_audio_transcription.failed', {
        item_id: item.id,
        content_index: 0,
        error: { type: 'transcription_error', code: 'overloaded', message: failure, param: null },
      });
    }
    this.maybeComplete(item);
  }

  // ---- items -------------------------------------------------------------------------------

  private newItem(): Item {
    return { id: itemId(), text: new AppendOnlyTranscript(), pending: new Set(), committed: false, finished: false, failed: false, seconds: 0 };
  }

  private markCommitted(item: Item): void {
    if (item.committed) return;
    item.committed = true;
    this.send('input_audio_buffer.committed', { previous_item_id: this.lastItemId, item_id: item.id });
    const conversationItem = {
      id: item.id,
      type: 'message',
      object: 'realtime.item',
      status: 'completed',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
    };
    if (this.legacy) this.send('conversation.item.created', { previous_item_id: this.lastItemId, item: conversationItem });
    else this.send('conversation.item.added', { previous_item_id: this.lastItemId, item: conversationItem });
    this.lastItemId = item.id;
  }

  private maybeComplete(item: Item): void {
    if (item.finished || !item.committed || item.pending.size > 0) return;
    item.finished = true;
    if (item.failed) return;
    this.send('conversation.item.input_audio_transcription.completed', {
      item_id: item.id,
      content_index: 0,
      transcript: item.text.value,
      usage: { type: 'duration', seconds: Math.round(item.seconds * 1000) / 1000 },
    });
  }

  private delta(item: Item, delta: string): void {
    if (delta) this.send('conversation.item.input_audio_transcription.delta', { item_id: item.id, content_index: 0, delta });
  }

  // ---- output ------------------------------------------------------------------------------

  private send(type: string, body: Record<string, unknown>): void {
    if (!this.closed) this.socket.send({ event_id: ev(), type, ...body });
  }

  private error(type: string, code: string, message: string, param?: string, eventId?: string): void {
    this.send('error', { error: { type, code, message, param: param ?? null, event_id: eventId ?? null } });
  }
}
