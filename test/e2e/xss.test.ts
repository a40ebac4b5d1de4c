// Transcript text and keywords come from speech and from an LLM: nobody controls them, so the dashboard
// must render them as text. Real headless Chromium against a real server: history entries holding HTML
// and script (written through the real history store the server reads), and live monitor events with
// the same payloads (injected into the page's /api/monitor socket, in the feed's own message shapes —
// a model's output cannot be chosen). No script may run; the markup must show literally.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import type { Browser } from 'playwright-core';
import { HISTORY_FILE } from '../../src/app/services.js';
import type { MonitorFinal, MonitorKeywords, MonitorSnapshotSession } from '../../src/app/wire-types.js';
import { SqliteHistoryStore } from '../../src/history/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { isolatedHome, launchChromium, requireBuiltDashboard, speechWav } from './browser.js';

declare const window: { __xss?: unknown[] };
declare const document: { querySelectorAll(s: string): { length: number }; body: { textContent: string | null } };

/** Each payload, if it ran, would push to window.__xss. */
const PAYLOADS = [
  '<img src=x onerror="(window.__xss=window.__xss||[]).push(1)">',
  '<script>(window.__xss=window.__xss||[]).push(2)</script>',
  '<svg onload="(window.__xss=window.__xss||[]).push(3)"></svg>',
  '"><iframe src="javascript:parent.__xss=[4]"></iframe>',
];
const KEYWORD = '<b onmouseover="(window.__xss=window.__xss||[]).push(5)">kw</b>';
const CATEGORY = '<img src=y onerror="(window.__xss=window.__xss||[]).push(6)">';

describe('dashboard renders hostile transcript text as text (real Chromium)', { timeout: 300_000 }, () => {
  let dir: string;
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    requireBuiltDashboard();
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-xss-'));
    const home = await isolatedHome(dir);
    const history = new SqliteHistoryStore(join(home, HISTORY_FILE));
    for (const [i, text] of PAYLOADS.entries()) {
      await history.add({ kind: 'batch', source: 'rest', text: `entry ${i} ${text}`, keywords: [{ text: KEYWORD, category: CATEGORY }], duration: 1 });
    }
    await history.close();
    server = await startServer({ model: 'tiny.en', env: { EARSHOT_HOME: home } });
    const wav = join(dir, 'silence.wav');
    await speechWav(wav, []);
    browser = await launchChromium(wav);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('history: HTML in text, keywords and categories shows literally; nothing runs', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${server.url}/#/history`);
    await page.waitForSelector('.history-entry', { timeout: 30_000 });
    await page.waitForFunction((n) => document.querySelectorAll('.history-entry').length >= n, PAYLOADS.length);
    const text = await page.evaluate(() => document.body.textContent ?? '');
    for (const p of PAYLOADS) assert.ok(text.includes(p), `shown literally: ${p}`);
    assert.ok(text.includes(KEYWORD), 'keyword shown literally');
    // hover every chip: an injected handler would fire now
    for (const chip of await page.locator('.history-entry .chips *').all()) await chip.hover().catch(() => undefined);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('.history-entry img, .history-entry script, .history-entry svg, .history-entry iframe, .history-entry b').count(), 0);
    assert.deepEqual(dialogs, []);
    await page.close();
  });

  it('live monitor: HTML in finals and keywords shows literally; nothing runs', async () => {
    const page = await browser.newPage();
    const session: MonitorSnapshotSession = {
      id: 'sess-xss',
      node: 'test',
      state: 'started',
      started: new Date().toISOString(),
      ended: null,
      model: PAYLOADS[1]!,
      language: 'en',
      remote: PAYLOADS[2]!,
      utterances: [],
    };
    const final = (i: number, text: string): MonitorFinal => ({
      session_id: session.id,
      utterance_id: i,
      text,
      start: i,
      end: i + 1,
      language: 'en',
      model: 'tiny.en',
      engine: 'whisper',
      segments: [{ start: i, end: i + 1, text } as never],
      words: [],
      processing_time: 0.1,
    });
    const keywords: MonitorKeywords = {
      session_id: session.id,
      utterance_id: 0,
      status: 'ok',
      keywords: [{ text: KEYWORD, category: CATEGORY, score: 1 }],
      categories: [CATEGORY],
      source: 'llm',
      model: null,
      latency_ms: 1,
      fallback_reason: null,
    };
    // the page's monitor socket answers with the feed's own messages, carrying the payloads
    await page.routeWebSocket(/\/api\/monitor/, (ws) => {
      ws.send(JSON.stringify({ type: 'snapshot', sessions: [session], transcriptions: [], status: null }));
      for (const [i, p] of PAYLOADS.entries()) ws.send(JSON.stringify({ type: 'final', ...final(i, `live ${i} ${p}`) }));
      ws.send(JSON.stringify({ type: 'keywords', ...keywords }));
    });
    await page.goto(`${server.url}/#/live`);
    await page.waitForFunction((p) => document.body.textContent ?? ''.includes(p), `live ${PAYLOADS.length - 1} ${PAYLOADS[PAYLOADS.length - 1]}`, {
      timeout: 30_000,
    });
    const text = await page.evaluate(() => document.body.textContent ?? '');
    for (const [i, p] of PAYLOADS.entries()) assert.ok(text.includes(`live ${i} ${p}`), `shown literally: ${p}`);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('main img, main script, main svg:not([aria-hidden]), main iframe, main b').count(), 0);
    await page.close();
  });
});
