// A /ws client for tests: collects messages, waits for a type, paces audio like a microphone.
import WebSocket, { type ClientOptions } from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';

export interface Msg {
  type: string;
  [k: string]: unknown;
}

export interface LiveClient {
  ws: WebSocket;
  messages: Msg[];
  next(type: string, timeoutMs?: number): Promise<Msg>;
  closed: Promise<{ code: number; reason: string }>;
}

export function connectLive(url: string, options?: ClientOptions): Promise<LiveClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const messages: Msg[] = [];
    const waiters: Array<{ type: string; resolve: (m: Msg) => void }> = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Msg;
      messages.push(msg);
      for (const w of waiters.filter((x) => x.type === msg.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        closed,
        next: (type, timeoutMs = 60_000) => {
          const seen = messages.find((m) => m.type === type && !(m as { __taken?: boolean }).__taken);
          if (seen) {
            (seen as { __taken?: boolean }).__taken = true;
            return Promise.resolve(seen);
          }
          return new Promise<Msg>((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`no ${type} message in ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))}`)), timeoutMs);
            waiters.push({
              type,
              resolve: (m) => {
                clearTimeout(timer);
                (m as { __taken?: boolean }).__taken = true;
                res(m);
              },
            });
          });
        },
      }),
    );
  });
}

/** Sends 16 kHz audio in 100 ms frames at `speed` × real time (Infinity = at once). */
export async function sendAudio(ws: WebSocket, audio: Float32Array, speed = Infinity): Promise<void> {
  const frame = 1600;
  const t0 = Date.now();
  for (let i = 0; i < audio.length; i += frame) {
    ws.send(float32ToS16le(audio.subarray(i, i + frame)));
    if (Number.isFinite(speed)) {
      const wait = t0 + ((i + frame) / 16000 / speed) * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** At least `seconds` of real speech as a WAV: the LibriVox clips end to end, repeated. */
export async function longSpeechWav(seconds: number): Promise<Buffer> {
  const { pocketsphinxClips } = await import('../../src/eval/corpus.js');
  const { loadClip, wavBytes } = await import('./audio.js');
  const clips = await Promise.all(
    pocketsphinxClips()
      .filter((c) => c.set === 'librivox')
      .map((c) => loadClip(c.path)),
  );
  const parts: Float32Array[] = [];
  let total = 0;
  while (total < seconds * 16000) {
    for (const clip of clips) {
      parts.push(clip);
      total += clip.length;
    }
  }
  const all = new Float32Array(total);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return wavBytes(all);
}
