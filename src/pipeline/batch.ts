// One transcription path for every batch interface (seed REST, OpenAI, CLI): lease an engine,
// transcribe, filter hallucinations, publish the result.
import type { EngineManager } from '../engines/manager.js';
import type { Transcript, TranscribeOptions } from '../engines/types.js';
import type { TranscriptFilter } from '../server/context.js';

export interface BatchRequest {
  audio: Float32Array;
  model?: string;
  allowLoad?: boolean;
  options: TranscribeOptions;
}

export interface BatchResult {
  transcript: Transcript;
  dropped: Array<{ segmentId: number; rule: string; text: string }>;
}

export async function transcribeBatch(engines: EngineManager, req: BatchRequest, filter?: TranscriptFilter): Promise<BatchResult> {
  return engines.withEngine({ model: req.model, language: req.options.language, allowLoad: req.allowLoad }, async (engine) => {
    const transcript = await engine.transcribe(req.audio, req.options);
    if (!filter) return { transcript, dropped: [] };
    return filter(transcript, req.audio);
  });
}
