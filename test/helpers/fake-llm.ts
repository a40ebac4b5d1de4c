// A local stand-in for an OpenAI-compatible LLM server (vLLM's, which llama.cpp and Ollama mirror):
// GET /v1/models, POST /v1/chat/completions and POST /v1/completions with the real response shapes
// (id, object, created, model, choices[].message | text, finish_reason, usage), OpenAI error bodies
// {error: {message, type, param, code}}, Bearer auth, and FastAPI's {"detail": "Not Found"} for
// unknown paths. Each generation request is answered from a per-test script: a model's text (good
// JSON, fenced, with prose, invalid, cut off at max_tokens), optionally late; an HTTP error; a
// connection dropped mid-response; or no answer at all. A real LLM cannot run on the test machines.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeScript =
  /** the model's generated text, delivered as message.content (chat) or text (completions) */
  | { kind: 'answer'; content: string; finishReason?: 'stop' | 'length'; delayMs?: number }
  /** an HTTP error with an OpenAI error body */
  | { kind: 'error'; status: number; message: string; type?: string; param?: string | null; code?: string | number | null; delayMs?: number }
  /** the socket is destroyed: before anything is sent, or after the headers and half the body */
  | { kind: 'drop'; when: 'before-response' | 'mid-body'; content?: string }
  /** accepts the request and never answers (until the client gives up or the server closes) */
  | { kind: 'hang' }
  /** a 200 whose body is not JSON (a proxy's HTML page, say) */
  | { kind: 'html'; body: string };

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
  /** the utterance text the client asked about: the last user message, or the prompt's Sentence:/문장: line */
  text: string | undefined;
}

export type FakeResponder = (req: FakeRequest) => FakeScript;

export interface FakeLlmOptions {
  models?: string[];
  /** when set, requests must carry "Authorization: Bearer <apiKey>" */
  apiKey?: string;
  /** owned_by in the model list (vllm, llamacpp, library…) */
  ownedBy?: string;
}

function openAiError(res: ServerResponse, status: number, message: string, type: string, param: string | null, code: string | number | null): void {
  send(res, status, { error: { message, type, param, code } });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    date: new Date().toUTCString(),
    server: 'uvicorn',
  });
  res.end(text);
}

/** Rough token count (≈ 4 characters a token), as usage needs some number. */
function tokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}

function promptTextOf(body: Record<string, unknown>): string {
  if (Array.isArray(body.messages)) return body.messages.map((m: { content?: unknown }) => String(m.content ?? '')).join('\n');
  return String(body.prompt ?? '');
}

function utteranceOf(path: string, body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return undefined;
  if (path.endsWith('/chat/completions') && Array.isArray(body.messages)) {
    const users = (body.messages as Array<{ role?: string; content?: unknown }>).filter((m) => m.role === 'user');
    const last = users[users.length - 1]?.content;
    return typeof last === 'string' ? last : undefined;
  }
  if (typeof body.prompt === 'string') {
    const m = /(?:Sentence|문장): (.*)\n/u.exec(body.prompt);
    return m?.[1];
  }
  return undefined;
}

export class FakeLlm {
  readonly requests: FakeRequest[] = [];
  private readonly queue: FakeScript[] = [];
  private responder: FakeResponder = () => ({ kind: 'answer', content: '{"keywords":[],"categories":[]}' });
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly created = Math.floor(Date.now() / 1000);

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly options: Required<Pick<FakeLlmOptions, 'models' | 'ownedBy'>> & FakeLlmOptions,
  ) {}

  static async start(options: FakeLlmOptions = {}): Promise<FakeLlm> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeLlm(server, `http://127.0.0.1:${port}`, { models: ['Qwen/Qwen2.5-7B-Instruct'], ownedBy: 'vllm', ...options });
    server.on('connection', (s) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  /** The base URL a client is configured with. */
  get url(): string {
    return `${this.origin}/v1`;
  }

  /** Generation requests only (not /v1/models). */
  get generations(): FakeRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  /** Queues answers for the next generation requests, one each, in order. */
  script(...scripts: FakeScript[]): this {
    this.queue.push(...scripts);
    return this;
  }

  /** How generation requests are answered once the script queue is empty. */
  respondWith(responder: FakeResponder): this {
    this.responder = responder;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    let body: Record<string, unknown> | undefined;
    let badJson = false;
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        badJson = true;
      }
    }
    const record: FakeRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, text: utteranceOf(path, body) };
    this.requests.push(record);

    if (this.options.apiKey && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      const given = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      return openAiError(res, 401, `Incorrect API key provided: ${given.slice(0, 3)}***.`, 'invalid_request_error', null, 'invalid_api_key');
    }

    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, {
        object: 'list',
        data: this.options.models.map((id) => ({
          id,
          object: 'model',
          created: this.created,
          owned_by: this.options.ownedBy,
          root: id,
          parent: null,
          max_model_len: 4096,
        })),
      });
    }

    const chat = path === '/v1/chat/completions';
    if (req.method !== 'POST' || (!chat && path !== '/v1/completions')) return send(res, 404, { detail: 'Not Found' });
    if (badJson || !body) return openAiError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null, null);
    if (typeof body.model !== 'string') return openAiError(res, 400, 'you must provide a model parameter', 'invalid_request_error', null, null);
    if (!this.options.models.includes(body.model)) {
      return openAiError(res, 404, `The model \`${body.model}\` does not exist.`, 'NotFoundError', 'model', 404);
    }
    if (chat && !Array.isArray(body.messages)) return openAiError(res, 400, "'messages' is a required property", 'invalid_request_error', 'messages', null);
    if (!chat && typeof body.prompt !== 'string') return openAiError(res, 400, "'prompt' is a required property", 'invalid_request_error', 'prompt', null);
    if (body.stream === true) return openAiError(res, 400, 'streaming is not scripted in this fake', 'invalid_request_error', 'stream', null);

    const script = this.queue.shift() ?? this.responder(record);
    const model = body.model;
    const answer = (content: string, finishReason: string) => {
      const promptTokens = tokens(promptTextOf(body!));
      const completionTokens = tokens(content);
      const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(16).toString('hex')}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = {
        prompt_tokens: promptTokens,
        total_tokens: promptTokens + completionTokens,
        completion_tokens: completionTokens,
        prompt_tokens_details: null,
      };
      return chat
        ? {
            id,
            object: 'chat.completion',
            created,
            model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', reasoning_content: null, content, tool_calls: [] },
                logprobs: null,
                finish_reason: finishReason,
                stop_reason: null,
              },
            ],
            usage,
            prompt_logprobs: null,
          }
        : {
            id,
            object: 'text_completion',
            created,
            model,
            choices: [{ index: 0, text: content, logprobs: null, finish_reason: finishReason, stop_reason: null, prompt_logprobs: null }],
            usage,
          };
    };

    switch (script.kind) {
      case 'answer': {
        const respond = () => {
          if (!res.destroyed) send(res, 200, answer(script.content, script.finishReason ?? 'stop'));
        };
        if (script.delayMs) this.later(script.delayMs, respond);
        else respond();
        return;
      }
      case 'error': {
        const respond = () => {
          if (!res.destroyed)
            openAiError(res, script.status, script.message, script.type ?? 'BadRequestError', script.param ?? null, script.code ?? script.status);
        };
        if (script.delayMs) this.later(script.delayMs, respond);
        else respond();
        return;
      }
      case 'drop': {
        if (script.when === 'before-response') {
          req.socket.destroy();
          return;
        }
        const text = JSON.stringify(answer(script.content ?? '{"keywords":[{"text":"서울","category":"place"}],"categories":["place"]}', 'stop'));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), server: 'uvicorn' });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        // flush what was written, then cut the connection
        setImmediate(() => req.socket.destroy());
        return;
      }
      case 'hang':
        return;
      case 'html': {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(script.body) });
        res.end(script.body);
        return;
      }
    }
  }
}

/**
 * A responder that answers like an instruction-tuned model: the terms of `lexicon` that occur in the
 * utterance, as the JSON the prompt asks for (optionally wrapped the way chatty models wrap it).
 */
export function keywordModel(lexicon: Record<string, string>, wrap: (json: string) => string = (j) => j): FakeResponder {
  return (req) => {
    const text = req.text ?? '';
    const keywords = Object.entries(lexicon)
      .filter(([term]) => text.includes(term))
      .map(([term, category]) => ({ text: term, category }));
    const categories = [...new Set(keywords.map((k) => k.category))];
    return { kind: 'answer', content: wrap(JSON.stringify({ keywords, categories })) };
  };
}

/** A base URL where nothing listens: connecting is refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}
