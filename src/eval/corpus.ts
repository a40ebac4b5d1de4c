// The real-speech test corpus: Debian's pocketsphinx-testdata clips with their reference transcripts.
import { pocketsphinxDataDir } from '../config/env.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Clip {
  id: string;
  path: string;
  reference: string;
  set: 'librivox' | 'cards';
}

export const POCKETSPHINX_DATA = pocketsphinxDataDir();

function parseTranscription(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^<s>(.*)<\/s>\s*\(([^)]+)\)\s*$/);
    if (m) out.set(m[2]!.trim(), m[1]!.trim().replace(/\s+/g, ' '));
  }
  return out;
}

/** librivox (5 clips) and cards (5 clips); throws with the install hint when the package is missing. */
export function pocketsphinxClips(): Clip[] {
  const libri = join(POCKETSPHINX_DATA, 'librivox');
  const cards = join(POCKETSPHINX_DATA, 'cards');
  if (!existsSync(join(libri, 'transcription'))) {
    throw new Error(`real speech corpus missing at ${POCKETSPHINX_DATA}: apt-get install pocketsphinx-testdata`);
  }
  const clips: Clip[] = [];
  for (const [id, reference] of parseTranscription(join(libri, 'transcription'))) {
    clips.push({ id, path: join(libri, `${id}.wav`), reference, set: 'librivox' });
  }
  for (const [id, reference] of parseTranscription(join(cards, 'cards.transcription'))) {
    clips.push({ id: `cards-${id}`, path: join(cards, `${id}.wav`), reference, set: 'cards' });
  }
  return clips;
}
