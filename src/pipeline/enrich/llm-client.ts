// A client for any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, hosted APIs) over plain
// fetch: lists models, picks one, and asks for keywords through /v1/chat/completions or /v1/completions.
import { z } from 'zod';
import type { LlmConfig } from '../../config/enrichment.js';
import { parseKeywordAnswer, InvalidOutputError, type RawKeyword } from './parse.js';
import { chatMessages, completionPrompt, COMPLETION_STOP, keywordJsonSchema } from './prompts.js';
import type { EnrichLanguage, LlmMode, StructuredOutputMode } from './types.js';
import { VERSION } from '../../version.js';

/** What went wrong, in the terms the enricher and breaker care about. */
export type LlmErrorKind = 'timeout' | 'network' | 'http' | 'protocol' | 'invalid_output';

export class LlmError extends Error {
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LlmError';
  }
}

export interface ExtractOptions {
  language: EnrichLanguage;
  categories: readonly string[];
  maxKeywords: number;
  signal?: AbortSignal;
}

export interface ExtractResult {
  keywords: RawKeyword[];
  model: string;
  /** request time, waiting for a concurrency slot excluded */
  latencyMs: number;
  /** the model's text, as received */
  output: string;
  finishReason: string | null;
  mode: LlmMode;
}

const modelList = z.object({ data: z.array(z.object({ id: z.string() }).loose()) }).loose();
const chatResponse = z
  .object({
    model: z.string().optional(),
    choices: z
      .array(
        z
          .object({
            message: z.object({ content: z.string().nullable().optional(), refusal: z.string().nullable().optional() }).loose(),
            finish_reason: z.string().nullable().optional(),
          })
          .loose(),
      )
      .min(1),
  })
  .loose();
const completionResponse = z
  .object({
    model: z.string().optional(),
    choices: z.array(z.object({ text: z.string(), finish_reason: z.string().nullable().optional() }).loose()).min(1),
  })
  .loose();

/** The message of an error body: OpenAI/vLLM `{error:{message}}`, old vLLM `{message}`, FastAPI `{detail}`, Ollama `{error: "..."}`. */
function errorMessage(body: string): string {
  try {
    const o = JSON.parse(body) as Record<string, unknown>;
    const e = o.error;
    if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
    if (typeof e === 'string') return e;
    if (typeof o.message === 'string') return o.message;
    if (typeof o.detail === 'string') return o.detail;
  } catch {
    // not JSON
  }
  return body.slice(0, 200).trim() || '(empty body)';
}

/** Node's fetch wraps socket errors; the code (ECONNREFUSED…) is what tells a user what to fix. */
function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  if (cause?.message) return cause.message;
  return (err as Error)?.message ?? String(err);
}

function isAbortError(err: unknown): boolean {
  return (err as { name?: string })?.name === 'AbortError' || (err as { name?: string })?.name === 'TimeoutError';
}

export class LlmClient {
  private autoModel: string | undefined;
  /** set when the server turned chat down for want of a chat template (a base model): seed 001's setup */
  private modeOverride: LlmMode | undefined;
  /** set when the server rejected the structured-output parameters and accepted the request without them */
  private structuredOverride: StructuredOutputMode | undefined;

  constructor(
    readonly config: LlmConfig,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  get mode(): LlmMode {
    return this.modeOverride ?? this.config.mode;
  }

  get structuredOutput(): StructuredOutputMode {
    return this.structuredOverride ?? this.config.structuredOutput;
  }

  /** The model in use: configured, or picked from /v1/models on first use. */
  get model(): string | undefined {
    return this.config.model ?? this.autoModel;
  }

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': `earshot/${VERSION}` };
    if (json) h['content-type'] = 'application/json';
    if (this.config.apiKey) h.authorization = `Bearer ${this.config.apiKey}`;
    return h;
  }

  /**
   * One HTTP exchange with errors classified. `deadline` is the call's timeout signal, told apart
   * from the caller's own abort: the first becomes LlmError('timeout'), the second is rethrown.
   */
  private async exchange(path: string, init: { method: string; body?: unknown }, signal: AbortSignal, deadline: AbortSignal): Promise<unknown> {
    const url = `${this.config.baseUrl}${path}`;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method: init.method,
        headers: this.headers(init.body !== undefined),
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal,
      });
      text = await res.text();
    } catch (err) {
      if (deadline.aborted) throw new LlmError('timeout', `no answer from ${url} within ${this.config.timeoutMs} ms`, undefined, { cause: err });
      if (isAbortError(err) && signal.aborted) throw signal.reason ?? err;
      throw new LlmError('network', `cannot reach ${url} (${describeNetworkError(err)})`, undefined, { cause: err });
    }
    if (!res.ok) throw new LlmError('http', `${url} answered ${res.status}: ${errorMessage(text)}`, res.status);
    try {
      return JSON.parse(text);
    } catch {
      throw new LlmError('protocol', `${url} answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`, res.status);
    }
  }

  /** A signal that fires on the caller's abort or after the configured timeout, whichever first. */
  private deadline(signal?: AbortSignal): { signal: AbortSignal; deadline: AbortSignal } {
    const deadline = AbortSignal.timeout(this.config.timeoutMs);
    return { signal: signal ? AbortSignal.any([signal, deadline]) : deadline, deadline };
  }

  async listModels(signal?: AbortSignal): Promise<string[]> {
    const d = this.deadline(signal);
    return this.listModelsWithin(d.signal, d.deadline);
  }

  private async listModelsWithin(signal: AbortSignal, deadline: AbortSignal): Promise<string[]> {
    const body = await this.exchange('/models', { method: 'GET' }, signal, deadline);
    const parsed = modelList.safeParse(body);
    if (!parsed.success) throw new LlmError('protocol', `${this.config.baseUrl}/models did not return a model list`);
    return parsed.data.data.map((m) => m.id);
  }

  private async resolveModel(signal: AbortSignal, deadline: AbortSignal): Promise<string> {
    if (this.config.model) return this.config.model;
    if (this.autoModel) return this.autoModel;
    const models = await this.listModelsWithin(signal, deadline);
    if (models.length === 0) throw new LlmError('protocol', `${this.config.baseUrl}/models lists no models`);
    this.autoModel = models[0];
    return this.autoModel;
  }

  /** The structured-output fields for a request body, in the dialect configured. */
  private structuredFields(mode: StructuredOutputMode, categories: readonly string[]): Record<string, unknown> {
    const schema = keywordJsonSchema(categories);
    switch (mode) {
      case 'json_schema':
        return { response_format: { type: 'json_schema', json_schema: { name: 'keywords', schema, strict: true } } };
      case 'json_object':
        return { response_format: { type: 'json_object' } };
      case 'guided_json':
        return { guided_json: schema };
      case 'structured_outputs':
        return { structured_outputs: { json: schema } };
      case 'none':
        return {};
    }
  }

  private requestBody(
    mode: LlmMode,
    model: string,
    text: string,
    opts: ExtractOptions,
    structured: StructuredOutputMode,
  ): { path: string; body: Record<string, unknown> } {
    const prompt = { language: opts.language, categories: opts.categories, maxKeywords: opts.maxKeywords };
    const common = {
      model,
      max_tokens: this.config.maxTokens,
      temperature: this.config.temperature,
      stream: false,
      ...this.structuredFields(structured, opts.categories),
    };
    if (mode === 'chat') return { path: '/chat/completions', body: { ...common, messages: chatMessages(text, prompt) } };
    return { path: '/completions', body: { ...common, prompt: completionPrompt(text, prompt), stop: COMPLETION_STOP } };
  }

  /** The generated text and finish reason out of a response body. */
  private answerOf(mode: LlmMode, body: unknown): { output: string; finishReason: string | null; model?: string } {
    if (mode === 'chat') {
      const parsed = chatResponse.safeParse(body);
      if (!parsed.success) throw new LlmError('protocol', 'chat completion response has no choices[].message');
      const choice = parsed.data.choices[0];
      const content = choice.message.content;
      if (content == null) {
        throw new LlmError('invalid_output', choice.message.refusal ? `model refused: ${choice.message.refusal}` : 'model returned no content');
      }
      return { output: content, finishReason: choice.finish_reason ?? null, model: parsed.data.model };
    }
    const parsed = completionResponse.safeParse(body);
    if (!parsed.success) throw new LlmError('protocol', 'completion response has no choices[].text');
    const choice = parsed.data.choices[0];
    return { output: choice.text, finishReason: choice.finish_reason ?? null, model: parsed.data.model };
  }

  /** Asks the model for the keywords of one utterance. */
  async extract(text: string, opts: ExtractOptions): Promise<ExtractResult> {
    const { signal, deadline } = this.deadline(opts.signal);
    const started = performance.now();
    const model = await this.resolveModel(signal, deadline);
    const body = await this.send(model, text, opts, signal, deadline);
    const mode = this.mode;
    const answer = this.answerOf(mode, body);
    const latencyMs = Math.round(performance.now() - started);
    let keywords: RawKeyword[];
    try {
      keywords = parseKeywordAnswer(answer.output, opts.categories);
    } catch (err) {
      if (err instanceof InvalidOutputError) {
        const why = answer.finishReason === 'length' ? `${err.message} (cut off at max_tokens ${this.config.maxTokens})` : err.message;
        throw new LlmError('invalid_output', `${why}: ${JSON.stringify(answer.output.slice(0, 120))}`);
      }
      throw err;
    }
    return { keywords, model: answer.model ?? model, latencyMs, output: answer.output, finishReason: answer.finishReason, mode };
  }

  /**
   * Sends the request, adapting once to two common refusals: a base model without a chat template
   * (switch to /v1/completions), and a server that rejects the structured-output fields (drop them).
   * Both adaptations stick for the life of the client.
   */
  private async send(model: string, text: string, opts: ExtractOptions, signal: AbortSignal, deadline: AbortSignal): Promise<unknown> {
    const attempt = (mode: LlmMode, structured: StructuredOutputMode) => {
      const { path, body } = this.requestBody(mode, model, text, opts, structured);
      return this.exchange(path, { method: 'POST', body }, signal, deadline);
    };
    try {
      return await attempt(this.mode, this.structuredOutput);
    } catch (err) {
      if (!(err instanceof LlmError) || err.kind !== 'http') throw err;
      if (err.status === 404 && !this.config.model) this.autoModel = undefined; // the listed model went away
      if (err.status === 400 && this.mode === 'chat' && /chat[ _-]?template/i.test(err.message)) {
        const body = await attempt('completions', this.structuredOutput);
        this.modeOverride = 'completions';
        return body;
      }
      if ((err.status === 400 || err.status === 422) && this.structuredOutput !== 'none') {
        const body = await attempt(this.mode, 'none');
        this.structuredOverride = 'none';
        return body;
      }
      throw err;
    }
  }
}
