// The batch transcription service, one path for /transcribe, the OpenAI routes and the CLI:
// engine → hallucination filter → publish → keywords once (when the server allows enrichment and
// either the client asked for them or a subscriber such as the history wants them).
import { randomUUID } from 'node:crypto';
import type { SkipSilence } from '../config/schema.js';
import type { EngineManager, EngineOverride } from '../engines/manager.js';
import type { TranscribeOptions, Transcript } from '../engines/types.js';
import { transcribeBatch } from '../pipeline/batch.js';
import type { Enricher } from '../pipeline/enrich/index.js';
import type { DroppedSegment, HallucinationFilter } from '../pipeline/filter/index.js';
import type { CreatedVad } from '../pipeline/vad/index.js';
import { keywordsOf, type AppEvents, type BatchSource, type Keywords } from './events.js';

export interface TranscriptionRequest {
  source: BatchSource;
  /** 16 kHz mono */
  audio: Float32Array;
  /** a model id or source; undefined = the language route or the default */
  model?: string;
  /** whether the request may load a model that is not loaded yet */
  allowLoad?: boolean;
  /** run a Whisper model on this engine instead of the configured one */
  engine?: EngineOverride;
  options: TranscribeOptions;
  /** the client wants keywords in the answer */
  keywords?: boolean;
}

export interface TranscriptionResult {
  transcriptionId: string;
  transcript: Transcript;
  /** what the hallucination filter removed */
  dropped: DroppedSegment[];
  /** present when the client asked and the server's enrichment is on */
  keywords?: Keywords;
}

export interface TranscriptionDeps {
  engines: EngineManager;
  events: AppEvents;
  filter?: HallucinationFilter;
  vad?: CreatedVad;
  /** which audio is decoded from the speech the VAD finds only (config batch.skipSilence) */
  skipSilence?: SkipSilence;
  enricher?: Enricher;
  log?: { warn(obj: unknown, msg?: string): void };
}

export class TranscriptionService {
  constructor(private readonly deps: TranscriptionDeps) {}

  /** Whether keywords can be had at all (an enricher exists and the config leaves it on). */
  get enrichmentEnabled(): boolean {
    return Boolean(this.deps.enricher?.config.enabled);
  }

  async transcribe(req: TranscriptionRequest): Promise<TranscriptionResult> {
    const { engines, events, filter, vad, enricher } = this.deps;
    const { transcript, dropped } = await transcribeBatch(
      engines,
      // every source but the CLI is a remote caller
      { audio: req.audio, model: req.model, allowLoad: req.allowLoad, engine: req.engine, caller: req.source !== 'cli', options: req.options },
      { filter, vad, skipSilence: this.deps.skipSilence },
    );
    const transcriptionId = randomUUID();
    events.emit('transcription.done', { transcriptionId, source: req.source, transcript, at: new Date().toISOString() });

    const text = transcript.text.trim();
    if (!enricher || !this.enrichmentEnabled || !text) return { transcriptionId, transcript, dropped };
    const enrich = () => enricher.enrich({ text, language: transcript.language }).then(keywordsOf);
    if (req.keywords) {
      const keywords = await enrich();
      events.emit('transcription.keywords', { transcriptionId, keywords });
      return { transcriptionId, transcript, dropped, keywords };
    }
    // Nobody waits for them, but a subscriber (the history) keeps them: extract off the request path.
    if (events.listenerCount('transcription.keywords') > 0) {
      enrich()
        .then((keywords) => events.emit('transcription.keywords', { transcriptionId, keywords }))
        .catch((err: unknown) => this.deps.log?.warn({ err }, 'keyword extraction failed'));
    }
    return { transcriptionId, transcript, dropped };
  }
}
