// Shapes shared by the enrichment layer: what callers send, what they get back.

export { DEFAULT_CATEGORIES } from '../../config/enrichment.js';

export type EnrichLanguage = 'ko' | 'en';

export interface EnrichRequest {
  text: string;
  /** ISO 639-1; anything but 'ko'/'en' is guessed from the script of the text */
  language?: string;
  utteranceId?: string;
  /** keywords are scored across a session by the built-in extractor */
  sessionId?: string;
  /** aborting rejects the promise with an AbortError and cancels the LLM call */
  signal?: AbortSignal;
}

export interface Keyword {
  text: string;
  category: string;
  /** relative weight within this result, higher first; the LLM's order when it produced them */
  score: number;
}

export type EnrichmentSource = 'llm' | 'builtin' | 'none';

/** Why the LLM's answer is not the one returned. */
export type FallbackReason = 'not_configured' | 'breaker_open' | 'overloaded' | 'timeout' | 'network_error' | 'http_error' | 'invalid_output';

export interface EnrichmentResult {
  /** 'unavailable': the LLM failed and fallback is disabled; keywords are empty */
  status: 'ok' | 'unavailable';
  keywords: Keyword[];
  /** the distinct categories of `keywords`, in the configured order */
  categories: string[];
  source: EnrichmentSource;
  language: EnrichLanguage;
  /** the LLM model that answered (source 'llm') */
  model?: string;
  /** time spent producing this result, queueing included */
  latencyMs: number;
  /** set whenever an LLM is configured but did not produce this result */
  fallbackReason?: FallbackReason;
  /** a short description of the LLM failure, for logs and the dashboard */
  error?: string;
  utteranceId?: string;
  sessionId?: string;
}

export type StructuredOutputMode =
  /** OpenAI `response_format: {type: 'json_schema'}` (vLLM, llama.cpp, Ollama, OpenAI) */
  | 'json_schema'
  /** OpenAI `response_format: {type: 'json_object'}` (JSON, no schema) */
  | 'json_object'
  /** vLLM before 0.12: top-level `guided_json` */
  | 'guided_json'
  /** vLLM 0.10 and later: `structured_outputs: {json}` */
  | 'structured_outputs'
  | 'none';

export type LlmMode = 'chat' | 'completions';
