// HTTPS and WSS on one port with a certificate from a test CA made by openssl: the official OpenAI
// SDK (custom CA through an undici agent) and a WebSocket client; SIGHUP swaps the certificate for new
// connections while an open live session carries on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { loadClip } from '../helpers/audio.js';
import { connectLive, sendAudio } from '../helpers/live.js';
import { startServer, type TestServer } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'earshot-tls-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A CA and a server certificate for 127.0.0.1/localhost signed by it, with the given CN. */
function issue(cn: string, name: string): { cert: string; key: string } {
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** The CN of the certificate a fresh TLS connection is served. */
function servedCn(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(Array.isArray(cn) ? cn[0] : cn));
    });
    socket.once('error', reject);
  });
}

describe('TLS: HTTPS and WSS on the API port', () => {
  let server: TestServer;
  let ca: Buffer;
  let live: string;
  before(async () => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Earshot Test CA');
    ca = readFileSync(join(dir, 'ca.pem'));
    const first = issue('earshot-first', 'server');
    // the live path for SIGHUP: the server reads these paths again, we overwrite them with a new pair
    live = join(dir, 'live');
    writeFileSync(`${live}.pem`, readFileSync(first.cert));
    writeFileSync(`${live}.key`, readFileSync(first.key));
    server = await startServer({ args: ['--tls-cert', `${live}.pem`], env: { EARSHOT_TLS_KEY: `${live}.key`, EARSHOT_LOG_LEVEL: 'info' }, tlsCa: ca });
  });
  after(async () => server?.stop());

  it('the OpenAI SDK transcribes over HTTPS with the test CA; plain HTTP and an untrusted client are refused', async () => {
    const dispatcher = new Agent({ connect: { ca } });
    const client = new OpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: 'unused',
      maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher } as never,
    });
    const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
    const out = await client.audio.transcriptions.create({ file: createReadStream(clip.path), model: 'whisper-1', language: 'en' });
    const c = werCount(clip.reference, out.text);
    assert.ok(c.errors / c.words <= 0.1, out.text);
    await assert.rejects(fetch(`${server.url}/health`), 'the default trust store does not know the test CA');
    await assert.rejects(fetch(server.url.replace('https', 'http') + '/health'), 'no plain HTTP on the TLS port');
  });

  it('streams over WSS, and SIGHUP serves a new certificate to new connections without dropping the open session', async () => {
    assert.equal(await servedCn(server.port, ca), 'earshot-first');
    const clip = pocketsphinxClips().find((c) => c.id.endsWith('0920'))!;
    const audio = await loadClip(clip.path);
    const c = await connectLive(`${server.url.replace('https', 'wss')}/ws`, { ca });
    c.ws.send(JSON.stringify({ type: 'config', language: 'en', partials: false, enrich: false }));
    await c.next('ready');
    await sendAudio(c.ws, new Float32Array(8000));
    await sendAudio(c.ws, audio.subarray(0, audio.length >> 1));

    // renew the certificate in place and tell the server
    const second = issue('earshot-second', 'renewed');
    writeFileSync(`${live}.pem`, readFileSync(second.cert));
    writeFileSync(`${live}.key`, readFileSync(second.key));
    server.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while ((await servedCn(server.port, ca)) !== 'earshot-second') assert.ok(Date.now() < deadline, 'certificate not reloaded');

    // the session opened before the reload goes on to its final
    await sendAudio(c.ws, audio.subarray(audio.length >> 1));
    await sendAudio(c.ws, new Float32Array(32000));
    c.ws.send(JSON.stringify({ type: 'stop' }));
    const final = await c.next('final', 120_000);
    const w = werCount(clip.reference, String(final.text));
    assert.ok(w.errors / w.words <= 0.2, String(final.text));
    await c.next('done');
    assert.equal((await c.closed).code, 1000);
    assert.match(server.output(), /SIGHUP: TLS certificate reloaded/);
  });

  it('a broken certificate on SIGHUP is reported and the working one kept', async () => {
    writeFileSync(`${live}.pem`, 'not a certificate');
    server.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!/SIGHUP: TLS reload failed/.test(server.output())) {
      assert.ok(Date.now() < deadline, 'no report of the failed reload');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await servedCn(server.port, ca), 'earshot-second');
  });
});
