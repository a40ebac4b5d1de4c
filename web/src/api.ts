// Talking to the Earshot server from the page: the API key (kept in localStorage when the server
// wants one), JSON helpers, WebSocket URLs (browsers cannot set headers there: ?api_key=).
const KEY_STORAGE = 'earshot.apiKey';

export class AuthError extends Error {
  constructor() {
    super('this server needs an API key');
    this.name = 'AuthError';
  }
}

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

type AuthListener = () => void;
const authListeners = new Set<AuthListener>();

/** Called when a request was refused for want of a (valid) key. */
export function onAuthRequired(fn: AuthListener): void {
  authListeners.add(fn);
}

export function apiKey(): string | null {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // private mode: the key lives for this page only
  }
  memoryKey = key;
}

let memoryKey: string | null = null;

function currentKey(): string | null {
  return apiKey() ?? memoryKey;
}

export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = currentKey();
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    // a refusal of a request sent before the user entered a new key says nothing about the new key
    if (currentKey() === key) for (const fn of authListeners) fn();
    throw new AuthError();
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      if (body.error?.message) message = body.error.message;
      if (body.error?.code) code = body.error.code;
    } catch {
      // not JSON
    }
    throw new ApiRequestError(res.status, code, message);
  }
  return res;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await api(path, init)).json()) as T;
}

export function wsUrl(path: string, params: Record<string, string> = {}): string {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = currentKey();
  if (key) url.searchParams.set('api_key', key);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** Saves a response body as a file (named `fileName`, else as the server says). */
export async function download(res: Response, fileName?: string): Promise<void> {
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = fileName ?? /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'download';
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
