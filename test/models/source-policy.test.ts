// What an API caller may make the server fetch (src/models/sources/policy.ts): no local paths, no
// private/loopback/link-local/metadata addresses — by literal, by DNS answer (checked at connect time)
// or through a redirect — unless the operator allows it. Real HTTP servers on loopback stand in for
// "internal" services; the Hub/mirror host the operator configured stays trusted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ModelSourceError } from '../../src/models/sources/errors.js';
import { httpOpener } from '../../src/models/sources/download.js';
import { callerSourcePolicy, checkCallerSource, isPrivateAddress, type SourcePolicy } from '../../src/models/sources/policy.js';

const strict: SourcePolicy = callerSourcePolicy({ allowPrivateSources: false, allowedHosts: [], endpoints: [] });
const forbidden = (err: unknown) => err instanceof ModelSourceError && err.code === 'forbidden_source';

describe('caller source policy', () => {
  it('classifies addresses: private, loopback, link-local, metadata, mapped IPv6 — and public ones', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '[::1]',
    ]) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1']) assert.equal(isPrivateAddress(a), false, a);
    assert.equal(isPrivateAddress('not-an-ip'), true, 'anything not an address is refused');
  });

  it('refuses local paths, traversal and file:// from callers before touching the filesystem', () => {
    for (const spec of [
      '../../etc/passwd',
      '/etc/passwd',
      './model.bin',
      '~/models/x.bin',
      'file:///etc/passwd',
      '%2e%2e/%2e%2e/etc/passwd',
      '..',
      'a/../../b',
      '\u0000',
      'C:\\Windows\\x',
    ]) {
      assert.throws(() => checkCallerSource(spec, strict), forbidden, spec);
    }
    for (const spec of ['base', 'tiny.en', 'my-import_2', 'hf://owner/repo', 'https://example.com/m.bin', 's3://bucket/key.bin', 'pypi:pkg==1.0']) {
      assert.doesNotThrow(() => checkCallerSource(spec, strict), spec);
    }
    const open = callerSourcePolicy({ allowPrivateSources: true, allowedHosts: [], endpoints: [] });
    assert.doesNotThrow(() => checkCallerSource('/srv/models/x.bin', open), 'the operator may allow it');
  });

  it('refuses URLs to private literals and localhost, in every spelling', () => {
    for (const spec of [
      'http://127.0.0.1:6379/',
      'http://localhost/x.bin',
      'http://LOCALHOST./x.bin',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://0x7f000001/x',
      'http://2130706433/x',
      'http://017700000001/x',
      'https://10.0.0.5/model.bin',
    ]) {
      assert.throws(() => checkCallerSource(spec, strict), forbidden, spec);
    }
    const mirror = callerSourcePolicy({ allowPrivateSources: false, allowedHosts: ['10.0.0.5'], endpoints: ['http://127.0.0.1:9999'] });
    assert.doesNotThrow(() => checkCallerSource('https://10.0.0.5/model.bin', mirror), 'allowedHosts');
    assert.doesNotThrow(() => checkCallerSource('http://127.0.0.1:9999/x.bin', mirror), 'the configured Hub endpoint');
  });
});

describe('caller pulls over HTTP: every hop checked at connect time', () => {
  let internal: Server;
  let trusted: Server;
  let internalHits = 0;
  let internalPort = 0;
  let trustedPort = 0;

  before(async () => {
    internal = createServer((_req, res) => {
      internalHits++;
      res.end('secret');
    });
    // the operator's mirror: redirects wherever the test says
    trusted = createServer((req, res) => {
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
      if (to) {
        res.writeHead(302, { location: to });
        return res.end();
      }
      res.end('model bytes');
    });
    await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => trusted.listen(0, '127.0.0.1', r));
    internalPort = (internal.address() as AddressInfo).port;
    trustedPort = (trusted.address() as AddressInfo).port;
  });
  after(() => {
    internal.close();
    trusted.close();
  });

  const policy = () => callerSourcePolicy({ allowPrivateSources: false, allowedHosts: [], endpoints: [`http://localhost:${trustedPort}`] });
  const open = (url: string, p: SourcePolicy = policy()) => httpOpener({ url, authHint: () => 'auth', describe: url, policy: p })(0, undefined);

  it('the trusted mirror serves; a redirect from it to loopback, metadata or another scheme is refused, nothing is fetched', async () => {
    const ok = await open(`http://localhost:${trustedPort}/model.bin`);
    ok.body.destroy();
    for (const target of [
      `http://127.0.0.1:${internalPort}/`,
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
      `http://[::1]:${internalPort}/`,
    ]) {
      await assert.rejects(open(`http://localhost:${trustedPort}/r?to=${encodeURIComponent(target)}`), forbidden, target);
    }
    assert.equal(internalHits, 0);
  });

  it('a DNS name that resolves to a private address is refused when the socket connects (rebinding-safe)', async () => {
    const name = os.hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    assert.ok(
      addresses.length > 0 && addresses.every((a) => isPrivateAddress(a.address)),
      `${name} should resolve to this machine: ${JSON.stringify(addresses)}`,
    );
    await assert.rejects(open(`http://${name}:${internalPort}/x.bin`), forbidden);
    assert.equal(internalHits, 0);
  });

  it('without a policy (the operator, the CLI) and with allowPrivateSources the same URLs are fetched', async () => {
    const direct = await httpOpener({ url: `http://127.0.0.1:${internalPort}/x`, authHint: () => 'auth', describe: 'x' })(0, undefined);
    direct.body.destroy();
    const allowed = await open(`http://127.0.0.1:${internalPort}/x`, callerSourcePolicy({ allowPrivateSources: true, allowedHosts: [], endpoints: [] }));
    allowed.body.destroy();
    assert.equal(internalHits, 2);
  });
});
