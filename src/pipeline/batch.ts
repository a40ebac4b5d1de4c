// One transcription path for every batch interface (seed REST, OpenAI, CLI): lease an engine,
// transcribe, filter hallucinations, publish the result.
import type { EngineManager } from '../engines/manager.js';
import type { Transcript, TranscribeOptions } from '../engines/types.js';
import type { DroppedSegment, HallucinationFilter } from './filter/index.js';
import type { CreatedVad } from './vad/index.js';

export interface BatchRequest {
  audio: Float32Array;
  model?: string;
  allowLoad?: boolean;
  options: TranscribeOptions;
}

export interface BatchResult {
  transcript: Transcript;
  dropped: DroppedSegment[];
}

/** The same hallucination filter as streaming; the VAD tells it where the audio has no speech. */
export interface BatchPost {
  filter?: HallucinationFilter;
  vad?: CreatedVad;
}

export async function transcribeBatch(engines: EngineManager, req: BatchRequest, post: BatchPost = {}): Promise<BatchResult> {
  const transcript = await engines.withEngine({ model: req.model, language: req.options.language, allowLoad: req.allowLoad }, (engine) =>
    engine.transcribe(req.audio, req.options),
  );
  if (!post.filter) return { transcript, dropped: [] };
  const result = await post.filter.filter(transcript, { audio: req.audio, vad: post.vad?.create(), language: outputLanguage(req.options) });
  return { transcript: result.transcript, dropped: result.dropped };
}

/** The language of the text the filter judges: translations come out in English. */
export function outputLanguage(options: Pick<TranscribeOptions, 'task' | 'language'>): string | undefined {
  return options.task === 'translate' ? 'en' : options.language;
}
