// TLS: HTTPS and WSS on the API port from PEM files (--tls-cert/--tls-key, EARSHOT_TLS_CERT/_KEY).
// SIGHUP re-reads both files and swaps the secure context in place: new connections get the new
// certificate, connections already open (live sessions included) keep theirs and are not dropped.
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.js';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** The PEM pair, or undefined when TLS is off. Throws a message naming the file when one cannot be read or used. */
export function readTls(tls: Config['server']['tls']): TlsFiles | undefined {
  if (!tls.cert || !tls.key) return undefined;
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const files = { cert: read(tls.cert, 'certificate'), key: read(tls.key, 'key') };
  try {
    // fails here, with a clear message, on a key that does not match the certificate or bad PEM
    createSecureContext(files);
  } catch (err) {
    throw new Error(`TLS certificate ${tls.cert} / key ${tls.key} unusable: ${(err as Error).message}`);
  }
  return files;
}

/** Re-reads the PEM files into a running HTTPS server. A bad pair is reported and the old one kept. */
export function reloadTls(server: unknown, tls: Config['server']['tls']): { ok: true } | { ok: false; error: string } {
  try {
    const files = readTls(tls);
    if (!files) return { ok: false, error: 'TLS is not configured' };
    (server as HttpsServer).setSecureContext(files);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
