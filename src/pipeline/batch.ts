// One transcription path for every batch interface (seed REST, OpenAI, CLI): lease an engine,
// decode only the speech (the VAD first, as faster-whisper's vad_filter), filter hallucinations,
// publish the result.
import type { SkipSilence } from '../config/schema.js';
import type { EngineManager, EngineOverride } from '../engines/manager.js';
import { SAMPLE_RATE, type Engine, type Segment, type Transcript, type TranscribeOptions } from '../engines/types.js';
import type { DroppedSegment, HallucinationFilter } from './filter/index.js';
import { SpeechMap, speechWindows, type SpeechTimeline } from './vad/index.js';
import type { CreatedVad } from './vad/index.js';

export interface BatchRequest {
  audio: Float32Array;
  model?: string;
  allowLoad?: boolean;
  /** the request's engine for a Whisper model (whisper.cpp or CTranslate2); undefined = config model.engine */
  engine?: EngineOverride;
  /** an API caller named `model` (the caller-source policy applies) */
  caller?: boolean;
  options: TranscribeOptions;
}

export interface BatchResult {
  transcript: Transcript;
  dropped: DroppedSegment[];
  /** seconds of audio the engine decoded (less than the audio when silence was skipped) */
  decodedSeconds: number;
}

/** The same hallucination filter as streaming; the VAD tells it where the audio has no speech. */
export interface BatchPost {
  filter?: HallucinationFilter;
  vad?: CreatedVad;
  /** config batch.skipSilence: which audio is decoded from the speech the VAD hears only */
  skipSilence?: SkipSilence;
}

/** One Whisper window: under skipSilence 'long' audio up to this long is decoded whole; live decodes up to it go without timestamp tokens. */
export const ONE_WINDOW_SECONDS = 30;

/** Whether batch audio this long is decoded from its speech only, under the config's policy. */
export function skipsSilence(policy: SkipSilence | undefined, seconds: number): boolean {
  if (policy === 'always') return true;
  if (policy === 'long') return seconds > ONE_WINDOW_SECONDS;
  return false;
}

export async function transcribeBatch(engines: EngineManager, req: BatchRequest, post: BatchPost = {}): Promise<BatchResult> {
  const speech = post.vad && skipsSilence(post.skipSilence, req.audio.length / SAMPLE_RATE) ? await SpeechMap.compute(req.audio, post.vad.create()) : undefined;
  const { transcript, decodedSeconds } = await engines.withEngine(
    { model: req.model, language: req.options.language, use: 'batch', allowLoad: req.allowLoad, engine: req.engine, caller: req.caller },
    (engine) =>
      speech
        ? transcribeSpeechOnly(engine, req.audio, speech, req.options)
        : engine.transcribe(req.audio, req.options).then((t) => ({ transcript: t, decodedSeconds: t.duration })),
  );
  if (!post.filter) return { transcript, dropped: [], decodedSeconds };
  const result = await post.filter.filter(transcript, { audio: req.audio, vad: post.vad?.create(), language: outputLanguage(req.options) });
  return { transcript: result.transcript, dropped: result.dropped, decodedSeconds };
}

/**
 * Decodes only what the VAD heard as speech: as separate windows of up to 30 s where the engine
 * decodes windows (batched, CTranslate2), else the speech regions joined into one shorter audio.
 */
export function transcribeSpeechOnly(
  engine: Engine,
  audio: Float32Array,
  speech: SpeechMap,
  options: TranscribeOptions,
): Promise<{ transcript: Transcript; decodedSeconds: number }> {
  if (engine.info.windows) return transcribeWindows(engine, audio, speechWindows(speech, audio.length), options);
  return transcribeWindowByWindow(engine, audio, speechWindows(speech, audio.length), options);
}

/** Engines without batched windows (whisper.cpp): one job per window, its times shifted to the window's place. */
export async function transcribeWindowByWindow(
  engine: Engine,
  audio: Float32Array,
  windows: Array<{ start: number; end: number }>,
  options: TranscribeOptions,
): Promise<{ transcript: Transcript; decodedSeconds: number }> {
  if (windows.length === 0) return { transcript: emptyTranscript(engine, audio, options), decodedSeconds: 0 };
  const segments: Segment[] = [];
  let first: Transcript | undefined;
  let processing = 0;
  for (const w of windows) {
    const at = w.start;
    const shift = (s: Segment): Segment => ({
      ...s,
      id: segments.length,
      start: s.start + at,
      end: s.end + at,
      seek: s.seek + Math.round(at * 100),
      ...(s.words ? { words: s.words.map((x) => ({ ...x, start: x.start + at, end: x.end + at })) } : {}),
    });
    const onSegment = options.onSegment;
    const t = await engine.transcribe(audio.subarray(Math.round(w.start * SAMPLE_RATE), Math.round(w.end * SAMPLE_RATE)), {
      ...options,
      // every window after the first in the language the first one found
      language: first && (!options.language || options.language === 'auto') ? first.language : options.language,
      onSegment: onSegment ? (s) => onSegment(shift(s)) : undefined,
    });
    first ??= t;
    processing += t.processingTime;
    for (const s of t.segments) segments.push(shift(s));
  }
  const text = segments
    .map((s) => s.text)
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  const transcript: Transcript = { ...first!, text, segments, duration: audio.length / SAMPLE_RATE, processingTime: processing };
  return { transcript, decodedSeconds: windows.reduce((sum, w) => sum + (w.end - w.start), 0) };
}

export async function transcribeWindows(
  engine: Engine,
  audio: Float32Array,
  windows: Array<{ start: number; end: number }>,
  options: TranscribeOptions,
): Promise<{ transcript: Transcript; decodedSeconds: number }> {
  if (windows.length === 0) return { transcript: emptyTranscript(engine, audio, options), decodedSeconds: 0 };
  const transcript = await engine.transcribe(audio, { ...options, windows });
  return { transcript, decodedSeconds: windows.reduce((sum, w) => sum + (w.end - w.start), 0) };
}

/** Nothing anyone said: no decode at all (Whisper would only invent text over it). */
function emptyTranscript(engine: Engine, audio: Float32Array, options: TranscribeOptions): Transcript {
  // With no speech to detect a language from, report the requested one, else English.
  const language = options.language && options.language !== 'auto' ? options.language : 'en';
  return {
    text: '',
    language,
    duration: audio.length / SAMPLE_RATE,
    segments: [],
    task: options.task ?? 'transcribe',
    model: engine.info.modelId,
    engine: engine.info.kind,
    processingTime: 0,
  };
}

/** Decodes the speech regions joined together, then puts every time back on the original timeline. */
export async function transcribeSpeech(
  engine: Engine,
  audio: Float32Array,
  speech: SpeechTimeline,
  options: TranscribeOptions,
): Promise<{ transcript: Transcript; decodedSeconds: number }> {
  const duration = audio.length / SAMPLE_RATE;
  if (speech.length === 0) return { transcript: emptyTranscript(engine, audio, options), decodedSeconds: 0 };
  // Each word, and a segment without words, is placed in the region its start lies in (Whisper's end
  // times are looser: a last word's end often runs past the joint); a segment with words spans its
  // first word's start to its last word's end.
  const place = (start: number, end: number) => {
    const k = speech.regionAt(start);
    const from = speech.toOriginal(start, false, k);
    return { start: from, end: Math.max(speech.toOriginal(end, true, k), from) };
  };
  const remap = (s: Segment): Segment => {
    const words = s.words?.map((w) => ({ ...w, ...place(w.start, w.end) }));
    const span = words?.length ? { start: words[0]!.start, end: Math.max(words.at(-1)!.end, words[0]!.start) } : place(s.start, s.end);
    const out: Segment = { ...s, ...span, seek: Math.round(speech.toOriginal(s.seek / 100) * 100) };
    if (words) out.words = words;
    return out;
  };
  const onSegment = options.onSegment;
  const t = await engine.transcribe(speech.join(audio), { ...options, onSegment: onSegment ? (s) => onSegment(remap(s)) : undefined });
  return { transcript: { ...t, duration, segments: t.segments.map(remap) }, decodedSeconds: speech.length / SAMPLE_RATE };
}

/** The language of the text the filter judges: translations come out in English. */
export function outputLanguage(options: Pick<TranscribeOptions, 'task' | 'language'>): string | undefined {
  return options.task === 'translate' ? 'en' : options.language;
}
