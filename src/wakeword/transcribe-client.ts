// Sends one utterance to an Earshot (or seed-compatible) server: POST {server}/transcribe, multipart field "audio".
import { encodeWavS16 as encodeWav } from '../audio/wav.js';

export interface TranscribeRequest {
  server: string;
  audio: Int16Array;
  language?: string;
  apiKey?: string;
  signal?: AbortSignal;
  /** Give up on one attempt after this long (ms); a whisper job on a CPU can take a while. */
  timeoutMs?: number;
}

export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
}

export interface TranscribeResult {
  text: string;
  language?: string;
  segments: TranscriptSegment[];
  /** The whole JSON answer, for --json output. */
  body: Record<string, unknown>;
}

export class TranscribeError extends Error {
  constructor(
    message: string,
    /** Worth sending again later: the server was unreachable, overloaded or restarting. */
    readonly retryable: boolean,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TranscribeError';
  }
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export function transcribeUrl(server: string): string {
  return new URL('transcribe', server.endsWith('/') ? server : `${server}/`).toString();
}

export async function transcribe(request: TranscribeRequest): Promise<TranscribeResult> {
  const form = new FormData();
  form.append('audio', new Blob([encodeWav(request.audio)], { type: 'audio/wav' }), 'utterance.wav');
  if (request.language) form.append('language', request.language);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.apiKey) headers.authorization = `Bearer ${request.apiKey}`;
  const signals = [AbortSignal.timeout(request.timeoutMs ?? 120_000), ...(request.signal ? [request.signal] : [])];
  const url = transcribeUrl(request.server);

  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: form, headers, signal: AbortSignal.any(signals) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new TranscribeError(`server unreachable at ${url} (${reason})`, !request.signal?.aborted);
  }

  const raw = await response.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // not JSON: reported below with the status
  }
  const error = body?.error as { code?: string; message?: string } | string | undefined;
  if (!response.ok || !body || body.success === false) {
    const code = typeof error === 'object' ? error?.code : undefined;
    const message = typeof error === 'object' ? error?.message : typeof error === 'string' ? error : raw.slice(0, 200);
    const hint = response.status === 401 || response.status === 403 ? ' (check --api-key)' : '';
    throw new TranscribeError(
      `server answered ${response.status}${code ? ` ${code}` : ''}: ${message || response.statusText}${hint}`,
      RETRYABLE_STATUS.has(response.status),
      response.status,
      code,
    );
  }
  const segments = Array.isArray(body.segments)
    ? (body.segments as Record<string, unknown>[]).map((s) => ({ start: Number(s.start), end: Number(s.end), text: String(s.text ?? '') }))
    : [];
  return {
    text: String(body.text ?? '').trim(),
    language: typeof body.language === 'string' ? body.language : undefined,
    segments,
    body,
  };
}
