// Real audio for tests, read through the same decoder the server uses.
import { readFileSync } from 'node:fs';
import { decodeFile } from '../../src/audio/decode.js';
import { encodeWav } from '../../src/audio/pcm.js';

export async function loadClip(path: string): Promise<Float32Array> {
  return (await decodeFile(path)).samples;
}

export function wavBytes(samples: Float32Array): Buffer {
  return encodeWav(samples);
}

export function fileBlob(path: string, type = 'audio/wav'): Blob {
  return new Blob([readFileSync(path)], { type });
}

/** POST multipart to a server; fields are strings, file goes in `fileField`. */
export async function postForm(
  url: string,
  parts: { fileField?: string; file?: Blob; filename?: string; fields?: Record<string, string | string[]>; headers?: Record<string, string> },
): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(parts.fields ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
  }
  if (parts.file) form.append(parts.fileField ?? 'file', parts.file, parts.filename ?? 'audio.wav');
  return fetch(url, { method: 'POST', body: form, headers: parts.headers });
}
