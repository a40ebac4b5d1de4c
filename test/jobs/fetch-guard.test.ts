// The SSRF guard for client-given URLs (job sources, webhooks): literal private addresses are refused
// before anything is queued, and a name that resolves to one is refused at connect time by the guarded
// DNS lookup — the address checked is the address connected to. With the guard off, the same request
// goes through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { checkUrl, guardedRequest, isPrivateAddress } from '../../src/jobs/fetch.js';

test('private, loopback, link-local and reserved addresses are recognised; public ones are not', () => {
  for (const a of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '224.0.0.1',
  ]) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '151.101.1.69', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
});

test('checkUrl refuses other schemes, credentials and literal private hosts unless allowed', () => {
  assert.throws(() => checkUrl('file:///etc/passwd', false, 'url'), /http/);
  assert.throws(() => checkUrl('http://user:pw@example.com/a.wav', false, 'url'), /credentials/);
  assert.throws(() => checkUrl('not a url', false, 'url'), /not a valid URL/);
  for (const u of [
    'http://127.0.0.1/a.wav',
    'http://localhost:8000/a',
    'http://[::1]/a',
    'http://169.254.169.254/latest/meta-data',
    'http://[::ffff:7f00:1]/',
  ]) {
    assert.throws(
      () => checkUrl(u, false, 'url'),
      (e: Error & { code?: string }) => e.code === 'forbidden_url',
      u,
    );
    assert.doesNotThrow(() => checkUrl(u, true, 'url'));
  }
  assert.equal(checkUrl('https://example.com/a.wav', false, 'url').host, 'example.com');
});

test('a host name that resolves to a private address is refused at connect; allowed when configured', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  const { port } = server.address() as AddressInfo;
  // this machine's own name: /etc/hosts or the resolver gives a loopback or private address here and on CI
  const name = os.hostname();
  const { address } = await lookup(name);
  assert.equal(isPrivateAddress(address), true, `${name} resolves to ${address}`);
  try {
    await assert.rejects(guardedRequest(`http://${name}:${port}/`, { allowPrivate: false, timeoutMs: 5000 }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'forbidden_url');
      assert.match(e.message, /private/);
      return true;
    });
    const res = await guardedRequest(`http://${name}:${port}/`, { allowPrivate: true, timeoutMs: 5000 });
    assert.equal(res.statusCode, 200);
    res.resume();
  } finally {
    await new Promise((r) => server.close(r));
  }
});
