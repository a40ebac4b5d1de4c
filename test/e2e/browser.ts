// Real headless Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by
// playwright-core, with a fake microphone that plays (and loops) a real speech recording.
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodeWav, resampleLinear } from '../../src/audio/pcm.js';
import type { Clip } from '../../src/eval/corpus.js';
import { defaultHome } from '../../src/models/store.js';
import { loadClip } from '../helpers/audio.js';
import { ROOT } from '../helpers/server.js';

export const CHROMIUM = process.env.EARSHOT_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** The fake microphone's rate: what a real one delivers, so the page's resampler is exercised. */
const MIC_RATE = 48000;

export function requireBuiltDashboard(): void {
  if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
    throw new Error('web/dist/index.html missing: run "npm run build:web" (npm install does it too)');
  }
}

/**
 * A WAV for --use-file-for-fake-audio-capture: the clips with silence around them. Chromium loops it;
 * a long trailing silence keeps the next pass from piling more speech on a slow CPU.
 */
export async function speechWav(path: string, clips: Clip[], opts: { gapSeconds?: number; tailSeconds?: number } = {}): Promise<void> {
  const gapSeconds = opts.gapSeconds ?? 1.5;
  const parts: Float32Array[] = [new Float32Array(16000)];
  for (const clip of clips) {
    parts.push(await loadClip(clip.path));
    parts.push(new Float32Array(Math.round(16000 * gapSeconds)));
  }
  parts.push(new Float32Array(Math.round(16000 * (opts.tailSeconds ?? 2))));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Float32Array(total);
  let offset = 0;
  for (const p of parts) {
    joined.set(p, offset);
    offset += p.length;
  }
  await writeFile(path, encodeWav(resampleLinear(joined, 16000, MIC_RATE), MIC_RATE));
}

export async function launchChromium(fakeAudio: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set EARSHOT_CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${fakeAudio}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/**
 * An EARSHOT_HOME of its own (history starts empty) that still sees the test models of the
 * default store, through a link to its models folder.
 */
export async function isolatedHome(dir: string): Promise<string> {
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const models = join(defaultHome(), 'models');
  if (!existsSync(models)) throw new Error(`no models under ${models}: run "npm run fetch:test-models"`);
  await symlink(models, join(home, 'models'), 'dir');
  return home;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Collects page errors and console errors so a failing test can show them. */
export function watchConsole(page: Page, into: string[]): void {
  page.on('pageerror', (err) => into.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') into.push(`console: ${msg.text()}`);
  });
}
