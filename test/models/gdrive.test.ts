// gdrive:// and Drive share links against a local server speaking Drive's download protocol,
// including the confirmation page for files Drive does not virus-scan, with the real test models.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { pullModel, resolveSource, ModelSourceError } from '../../src/models/pull.js';
import { confirmationUrl } from '../../src/models/sources/gdrive.js';
import { startDriveServer, type DriveServer } from '../helpers/gdrive-server.js';
import { fixtureGgml, fileDigest, tempStore, leftovers, modelDirs, rejectsWith } from './fixtures.js';

const ID = {
  small: '1smallGgmlTinyEn_0123456789',
  archive: '1LargeTarGz-abcdefghijklmnop',
  legacy: '1LegacyConfirmLink_987654321',
  private: '1PrivateFile_aaaaaaaaaaaaaaa',
  quota: '1QuotaExceeded_bbbbbbbbbbbbb',
};
let drive: DriveServer;
let env: NodeJS.ProcessEnv;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(os.tmpdir(), 'earshot-gdrive-files-'));
  // A model archive as a user makes one (seed 003: tar -czf of the model folder), with real tar.
  const folder = join(scratch, 'whisper-tiny-en');
  spawnSync('mkdir', ['-p', folder]);
  copyFileSync(fixtureGgml('tiny.en'), join(folder, 'ggml-tiny.en.bin'));
  const archive = join(scratch, 'whisper-tiny-en.tar.gz');
  const tar = spawnSync('tar', ['-czf', archive, '-C', scratch, 'whisper-tiny-en']);
  assert.equal(tar.status, 0, tar.stderr.toString());
  drive = await startDriveServer({
    [ID.small]: { path: fixtureGgml('tiny.en'), name: 'ggml-tiny.en.bin', mode: 'direct' },
    [ID.archive]: { path: archive, name: 'whisper-tiny-en.tar.gz', mode: 'confirm', dropAfter: 5_000_000 },
    [ID.legacy]: { path: fixtureGgml('tiny.en'), name: 'ggml-tiny.en.bin', mode: 'legacy' },
    [ID.private]: { path: fixtureGgml('tiny.en'), name: 'ggml-tiny.en.bin', mode: 'private' },
    [ID.quota]: { path: fixtureGgml('tiny.en'), name: 'ggml-tiny.en.bin', mode: 'quota' },
  });
  env = { EARSHOT_GDRIVE_ENDPOINT: drive.url };
});

after(async () => {
  await drive?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('gdrive://ID and every Drive link form name the same file; other links stay plain URLs', () => {
  const id = '1AbC_dEf-GhIjKlMnOpQrStUvWxYz012';
  for (const spec of [
    `gdrive://${id}`,
    `https://drive.google.com/file/d/${id}/view?usp=sharing`,
    `https://drive.google.com/file/d/${id}/view`,
    `https://drive.google.com/file/u/1/d/${id}/edit`,
    `https://drive.google.com/open?id=${id}`,
    `https://drive.google.com/uc?id=${id}&export=download`,
    `https://docs.google.com/uc?export=download&id=${id}`,
    `https://drive.usercontent.google.com/download?id=${id}&export=download&confirm=t`,
  ]) {
    const source = resolveSource(spec, { env });
    assert.equal(source.kind, 'gdrive', spec);
    assert.equal(source.kind === 'gdrive' && source.drive.fileId, id, spec);
    assert.equal(source.kind === 'gdrive' && source.drive.endpoint, drive.url, spec);
  }
  const real = resolveSource(`gdrive://${id}`, { env: {} });
  assert.equal(real.kind === 'gdrive' && real.drive.endpoint, 'https://drive.usercontent.google.com', 'Drive itself unless a test says otherwise');
  assert.equal(resolveSource('https://example.com/drive.google.com/model.bin', { env }).kind, 'url');
  for (const bad of ['gdrive://', 'gdrive://short', 'gdrive://has space in it', 'https://drive.google.com/drive/my-drive']) {
    assert.throws(
      () => resolveSource(bad, { env }),
      (e: unknown) => e instanceof ModelSourceError && e.code === 'bad_source',
      bad,
    );
  }
});

test('a small file comes straight back: installed, digest intact, no confirmation', async () => {
  const t = await tempStore();
  try {
    const before = drive.requests.length;
    const model = await pullModel(`https://drive.google.com/file/d/${ID.small}/view?usp=sharing`, { store: t.store, env, id: 'tiny-drive' });
    assert.equal(model.id, 'tiny-drive');
    assert.equal(model.format, 'ggml');
    assert.equal(model.sha256, fileDigest(fixtureGgml('tiny.en')));
    const seen = drive.requests.slice(before);
    assert.deepEqual(
      seen.map((r) => r.answer),
      ['file'],
    );
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('a large archive goes through the confirmation form, resumes after a cut with a fresh token, and unpacks', async () => {
  const t = await tempStore();
  try {
    const before = drive.requests.length;
    const model = await pullModel(`gdrive://${ID.archive}`, { store: t.store, env });
    assert.equal(model.id, `gdrive-${ID.archive}`);
    assert.equal(model.format, 'ggml');
    assert.equal(model.sha256, fileDigest(fixtureGgml('tiny.en')), 'the ggml file inside the archive, unchanged');
    const seen = drive.requests.slice(before);
    // page → confirmed download cut at 5 MB → (retry) page → confirmed download from 5 MB on.
    assert.deepEqual(
      seen.map((r) => r.answer),
      ['page', 'file', 'page', 'partial'],
    );
    const [, firstFile, , resumed] = seen;
    assert.equal(firstFile.query.confirm, 't');
    assert.equal(firstFile.query.id, ID.archive);
    assert.ok(drive.issued.includes(firstFile.query.uuid), 'the uuid the page handed out');
    assert.notEqual(resumed.query.uuid, firstFile.query.uuid, 'each attempt confirms with its own token');
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(resumed.range ?? '')?.[1]);
    assert.ok(resumedFrom > 0 && resumedFrom <= 5_000_000, `resumed from what arrived before the cut (${resumed.range})`);
    assert.deepEqual(leftovers(t.home), [], 'no partial or staging files left');
    assert.deepEqual(modelDirs(t.home), [`gdrive-${ID.archive}`]);
  } finally {
    await t.cleanup();
  }
});

test('the older confirmation page (a link with a confirm token) is followed too', async () => {
  const t = await tempStore();
  try {
    const before = drive.requests.length;
    const model = await pullModel(`https://drive.google.com/uc?id=${ID.legacy}&export=download`, { store: t.store, env, id: 'tiny-legacy' });
    assert.equal(model.sha256, fileDigest(fixtureGgml('tiny.en')));
    const seen = drive.requests.slice(before);
    assert.deepEqual(
      seen.map((r) => r.answer),
      ['page', 'file'],
    );
    assert.equal(seen[1].query.confirm, drive.issued.at(-1));
  } finally {
    await t.cleanup();
  }
});

test('files Drive will not give: not shared, over quota, missing — each a clear error, nothing installed', async () => {
  const t = await tempStore();
  try {
    await rejectsWith(pullModel(`gdrive://${ID.private}`, { store: t.store, env }), 'unauthorized', /not shared publicly.*anyone with the link/);
    await rejectsWith(pullModel(`gdrive://${ID.quota}`, { store: t.store, env }), 'network', /quota.*exceeded/i);
    await rejectsWith(pullModel('gdrive://1NoSuchFile_zzzzzzzzzzzzzzz', { store: t.store, env }), 'not_found', /HTTP 404/);
    assert.deepEqual(modelDirs(t.home), []);
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('confirmation pages: form fields and entities decoded, relative actions resolved, pages without a form refused', () => {
  const page = 'https://drive.usercontent.google.com/download?id=X&export=download';
  assert.equal(
    confirmationUrl(
      `<form id="download-form" action="https://drive.usercontent.google.com/download" method="get"><input type="submit" value="Download anyway"/><input type="hidden" name="id" value="AbC"><input type="hidden" name="export" value="download"><input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="u&amp;1"></form>`,
      page,
    ),
    'https://drive.usercontent.google.com/download?id=AbC&export=download&confirm=t&uuid=u%261',
  );
  assert.equal(
    confirmationUrl(
      `<a id="uc-download-link" href="/uc?export=download&amp;confirm=Xy_Z&amp;id=AbC">Download anyway</a>`,
      'https://drive.google.com/uc?id=AbC',
    ),
    'https://drive.google.com/uc?export=download&confirm=Xy_Z&id=AbC',
  );
  assert.equal(
    confirmationUrl(`<form id='download-form' action='/download'><input type='hidden' name='id' value='Q'></form>`, page),
    'https://drive.usercontent.google.com/download?id=Q',
  );
  assert.equal(confirmationUrl('<form id="download-form" action="/download" method="post"></form>', page), undefined);
  assert.equal(confirmationUrl('<form id="download-form" action="javascript:alert(1)"></form>', page), undefined);
  assert.equal(confirmationUrl('<html><title>Google Drive - Quota exceeded</title></html>', page), undefined);
});
