// One Wyoming client connection: frames in, events handled strictly in order, frames out.
// A frame that cannot be read (bad JSON, a length over the limits, a frame left unfinished) gets an
// `error` event and the connection closed: a byte stream cannot be resynchronised. Other connections
// are never affected. Unknown event types are ignored, as the protocol asks.
import type { Socket } from 'node:net';
import { checkPcmFormat, PcmToMono16k, samePcmFormat, type PcmFormat } from '../../audio/pcm-stream.js';
import { toApiError } from '../../server/errors.js';
import type { AppContext } from '../../server/context.js';
import { normalizeLanguage } from '../../util/languages.js';
import { AsrStream } from './asr.js';
import { DEFAULT_LIMITS, encodeEvent, WyomingDecoder, WyomingFrameError, type WyomingEvent } from './framing.js';
import { ASR_PROGRAM, buildInfo, type OfferedWakeword } from './info.js';
import { pickWakewords, WakeStream, type WakeSettings } from './wake.js';

export interface ConnectionOptions {
  ctx: AppContext;
  wakewords: OfferedWakeword[];
  /** custom wake-word model files by name */
  wakewordPaths: Map<string, string>;
  wake: WakeSettings;
  frameTimeoutMs: number;
}

type Request = { kind: 'asr'; model?: string; language?: string } | { kind: 'wake'; names?: string[] };

type Stream =
  /** release: the live-session slot it holds (per-key limits) */
  | { kind: 'asr'; asr: AsrStream; convert: PcmToMono16k; release?: () => void }
  | { kind: 'wake'; wake: WakeStream; convert: PcmToMono16k; detected: boolean }
  /** a stream whose request failed (error already sent): its audio is dropped until audio-stop */
  | { kind: 'refused' };

export function handleConnection(socket: Socket, opts: ConnectionOptions): void {
  const { ctx } = opts;
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  const log = ctx.log.child({ wyoming: remote });
  const decoder = new WyomingDecoder(DEFAULT_LIMITS);
  let request: Request | undefined;
  let stream: Stream | undefined;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();
  let frameTimer: NodeJS.Timeout | undefined;
  /** the frame (count of frames read before it) the timer runs for */
  let frameTimerFor = -1;

  const send = (type: string, data?: Record<string, unknown>) => {
    if (!closed && socket.writable) socket.write(encodeEvent(type, data));
  };

  const cleanup = () => {
    if (closed) return;
    closed = true;
    clearTimeout(frameTimer);
    undrain?.();
    if (stream?.kind === 'asr') {
      stream.asr.close();
      stream.release?.();
    }
    if (stream?.kind === 'wake') void stream.wake.close();
    stream = undefined;
  };

  const fail = (code: string, text: string) => {
    log.info({ code }, `closing connection: ${text}`);
    send('error', { text, code });
    cleanup();
    socket.end();
    // a peer that never reads must not hold the socket open
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  // Shutdown: a transcription under way is finished for the audio received (its transcript is sent),
  // then the connection closes.
  const undrain = ctx.shutdown?.onDrain(async () => {
    await chain.catch(() => undefined);
    if (closed) return;
    await endStream(true).catch(() => undefined);
    cleanup();
    socket.end();
  });

  socket.on('close', cleanup);
  socket.on('error', (err) => {
    log.debug({ err }, 'socket error');
    cleanup();
  });
  socket.on('end', () => {
    if (decoder.midFrame) {
      if (!closed) log.info('peer disconnected in the middle of a frame');
      cleanup();
      socket.destroy();
      return;
    }
    // the peer is done sending (half-close): answer what it sent, then close
    void chain.then(() => {
      cleanup();
      socket.end();
    });
  });

  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    let events: WyomingEvent[];
    try {
      events = decoder.push(chunk);
    } catch (err) {
      if (err instanceof WyomingFrameError) return fail(err.code, err.message);
      throw err;
    }
    // a frame that has begun must arrive whole within the timeout (trickling bytes do not extend it)
    if (!decoder.midFrame) {
      clearTimeout(frameTimer);
      frameTimer = undefined;
    } else if (!frameTimer || frameTimerFor !== decoder.completed) {
      clearTimeout(frameTimer);
      frameTimerFor = decoder.completed;
      frameTimer = setTimeout(() => fail('frame-timeout', `frame not completed within ${opts.frameTimeoutMs} ms`), opts.frameTimeoutMs);
    }
    for (const event of events) {
      chain = chain
        .then(() => (closed ? undefined : handle(event)))
        .catch((err: unknown) => {
          log.error({ err }, 'wyoming event failed');
          send('error', { text: `internal error handling ${event.type}`, code: 'internal' });
        });
    }
  });

  const formatOf = (data: Record<string, unknown>, fallback?: PcmFormat): PcmFormat | string => {
    const f = { rate: data.rate ?? fallback?.rate, width: data.width ?? fallback?.width, channels: data.channels ?? fallback?.channels } as PcmFormat;
    return checkPcmFormat(f) ?? f;
  };

  async function startStream(format: PcmFormat): Promise<void> {
    const req = request ?? { kind: 'asr' };
    request = undefined;
    if (req.kind === 'wake') {
      const words = pickWakewords(req.names, opts.wakewords);
      if (words.length === 0) {
        send('error', { text: `none of the wake words ${JSON.stringify(req.names)} is offered; describe lists them`, code: 'unknown-wake-word' });
        stream = { kind: 'refused' };
        return;
      }
      const s: Stream = { kind: 'wake', convert: new PcmToMono16k(format), detected: false, wake: undefined as unknown as WakeStream };
      s.wake = await WakeStream.open(words, opts.wakewordPaths, opts.wake, (d) => {
        s.detected = true;
        send('detection', { name: d.name, timestamp: d.timestamp, speaker: null });
      });
      if (closed) return void s.wake.close();
      stream = s;
      return;
    }
    if (req.model !== undefined && req.model !== ASR_PROGRAM && !ctx.store.has(req.model)) {
      send('error', { text: `model "${req.model}" is not installed; describe lists the installed models`, code: 'unknown-model' });
      stream = { kind: 'refused' };
      return;
    }
    let language: string | undefined;
    try {
      language = normalizeLanguage(baseLanguage(req.language));
    } catch (err) {
      send('error', { text: (err as Error).message, code: 'unknown-language' });
      stream = { kind: 'refused' };
      return;
    }
    if (ctx.shutdown?.draining) {
      send('error', { text: 'the server is shutting down', code: 'shutting_down' });
      stream = { kind: 'refused' };
      return;
    }
    // Per-key limits as on /ws: Wyoming has no keys, so the client address is the identity.
    let release: (() => void) | undefined;
    if (ctx.limits && ctx.keys) {
      const admission = await ctx.limits.admitLive(ctx.keys.anonymous(socket.remoteAddress ?? '?'));
      if (!admission.ok) {
        send('error', { text: admission.message, code: admission.code });
        stream = { kind: 'refused' };
        return;
      }
      release = admission.release;
    }
    try {
      const live = await ctx.live.open({ interface: 'wyoming', remote, model: req.model === ASR_PROGRAM ? undefined : req.model, language, enrich: true });
      if (closed) {
        release?.();
        return live.close();
      }
      stream = { kind: 'asr', asr: new AsrStream(live, send), convert: new PcmToMono16k(format), release };
    } catch (err) {
      release?.();
      const api = toApiError(err);
      send('error', { text: api.message, code: api.code });
      stream = { kind: 'refused' };
    }
  }

  async function handle(event: WyomingEvent): Promise<void> {
    const data = event.data;
    switch (event.type) {
      case 'describe': {
        send('info', buildInfo(await ctx.store.list(), opts.wakewords));
        return;
      }
      case 'ping':
        send('pong', typeof data.text === 'string' ? { text: data.text } : {});
        return;
      case 'transcribe':
        request = {
          kind: 'asr',
          model: typeof data.name === 'string' && data.name !== '' ? data.name : undefined,
          language: typeof data.language === 'string' ? data.language : undefined,
        };
        return;
      case 'detect':
        request = { kind: 'wake', names: Array.isArray(data.names) ? data.names.filter((n): n is string => typeof n === 'string') : undefined };
        return;
      case 'audio-start': {
        await endStream(false);
        const format = formatOf(data);
        if (typeof format === 'string') return send('error', { text: `audio-start: ${format}`, code: 'bad-audio-format' });
        await startStream(format);
        return;
      }
      case 'audio-chunk': {
        if (!event.payload || event.payload.length === 0) return;
        if (!stream) {
          // audio without audio-start: start with the chunk's own format, as the reference servers do
          const format = formatOf(data);
          if (typeof format === 'string') return send('error', { text: `audio-chunk: ${format}`, code: 'bad-audio-format' });
          await startStream(format);
        }
        const s = stream;
        if (!s || s.kind === 'refused') return;
        const format = formatOf(data, s.convert.format);
        if (typeof format === 'string') return send('error', { text: `audio-chunk: ${format} — chunk dropped`, code: 'bad-audio-format' });
        // a chunk in another format than the stream's: convert it on its own terms
        if (!samePcmFormat(format, s.convert.format)) s.convert = new PcmToMono16k(format);
        const samples = s.convert.push(event.payload);
        if (s.kind === 'asr') s.asr.push(samples);
        else void s.wake.push(samples).catch((err: unknown) => log.error({ err }, 'wake-word scoring failed'));
        return;
      }
      case 'audio-stop':
        await endStream(true);
        return;
      default:
        log.debug({ type: event.type }, 'ignoring event');
    }
  }

  async function endStream(reply: boolean): Promise<void> {
    const s = stream;
    stream = undefined;
    if (!s) {
      // audio-stop with no audio: answer the pending request as the reference servers do
      if (!reply) return;
      if (request?.kind === 'wake') send('not-detected');
      if (request?.kind === 'asr') send('transcript', { text: '' });
      request = undefined;
      return;
    }
    if (s.kind === 'asr') {
      try {
        if (reply) await s.asr.finish();
        else s.asr.close();
      } finally {
        s.release?.();
      }
    } else if (s.kind === 'wake') {
      await s.wake.drain();
      if (reply && !s.detected) send('not-detected');
      await s.wake.close();
    }
  }
}

/** "en-US" → "en": Whisper knows languages, not regions. */
function baseLanguage(language: string | undefined): string | undefined {
  if (!language) return undefined;
  return language.split(/[-_]/)[0];
}
