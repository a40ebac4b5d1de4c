// The benchmark's audio: real speech with reference texts, decoded once (ffmpeg, 16 kHz mono float)
// and also written as raw float32 files, so Earshot and faster-whisper transcribe identical samples.
//   librivox + cards  — Debian pocketsphinx-testdata (src/eval/corpus.ts)
//   asterisk          — Debian asterisk-core-sounds-en prompts (8 kHz GSM telephone audio); their
//                       texts come from the core-sounds-en.txt the package ships
//   long              — one ~5 minute file: the clips above plus more prompts, joined by short silences
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeFile } from '../../src/audio/decode.js';
import { SAMPLE_RATE } from '../../src/engines/types.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';

export type ClipSet = 'librivox' | 'cards' | 'asterisk' | 'long';

export interface BenchClip {
  id: string;
  set: ClipSet;
  reference: string;
  samples: Float32Array;
  /** seconds */
  duration: number;
  /** the same samples as raw little-endian float32, for the Python side */
  pcmPath: string;
}

const ASTERISK_SOUNDS = process.env.EARSHOT_ASTERISK_SOUNDS ?? '/usr/share/asterisk/sounds/en';
const ASTERISK_TEXTS = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';

/** Longer prompts (12–26 s, one 30 s window each) scored one by one. */
export const ASTERISK_PROMPTS = ['basic-pbx-ivr-main', 'demo-echotest', 'conf-adminmenu-18', 'vm-options', 'dir-intro'];
/** More prompts that only go into the long file, to reach ~5 minutes without repeating speech. */
const LONG_EXTRA_PROMPTS = [
  'demo-instruct',
  'demo-congrats',
  'priv-callee-options',
  'screen-callee-options',
  'demo-abouttotry',
  'vm-msginstruct',
  'demo-moreinfo',
];

const GAP_SECONDS = 0.8;

/** prompt name → spoken text, from the package's own list ("name: text" lines). */
export function asteriskTexts(): Map<string, string> {
  if (!existsSync(ASTERISK_TEXTS))
    throw new Error(`asterisk prompt texts missing at ${ASTERISK_TEXTS}: apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-gsm`);
  const out = new Map<string, string>();
  for (const line of gunzipSync(readFileSync(ASTERISK_TEXTS)).toString('utf8').split('\n')) {
    const m = line.match(/^([A-Za-z0-9_/-]+):\s*(.+)$/);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

async function asteriskClip(name: string, texts: Map<string, string>, workDir: string): Promise<BenchClip> {
  const path = join(ASTERISK_SOUNDS, `${name}.gsm`);
  if (!existsSync(path)) throw new Error(`asterisk prompt missing at ${path}: apt-get install asterisk-core-sounds-en-gsm`);
  const reference = texts.get(name);
  if (!reference) throw new Error(`no text for asterisk prompt ${name} in ${ASTERISK_TEXTS}`);
  return clipFrom(`asterisk-${name}`, 'asterisk', reference, (await decodeFile(path)).samples, workDir);
}

function clipFrom(id: string, set: ClipSet, reference: string, samples: Float32Array, workDir: string): BenchClip {
  const pcmPath = join(workDir, `${id}.f32`);
  writeFileSync(pcmPath, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
  return { id, set, reference, samples, duration: samples.length / SAMPLE_RATE, pcmPath };
}

/** Joins clips with silence between them until at least `targetSeconds` of audio. */
export function joinClips(id: string, parts: BenchClip[], targetSeconds: number, workDir: string): BenchClip {
  const gap = new Float32Array(Math.round(GAP_SECONDS * SAMPLE_RATE));
  const pieces: Float32Array[] = [];
  const references: string[] = [];
  let seconds = 0;
  for (const part of parts) {
    if (seconds >= targetSeconds) break;
    if (pieces.length) pieces.push(gap);
    pieces.push(part.samples);
    references.push(part.reference);
    seconds += part.duration + (pieces.length > 1 ? GAP_SECONDS : 0);
  }
  const samples = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    samples.set(p, at);
    at += p.length;
  }
  return clipFrom(id, 'long', references.join(' '), samples, workDir);
}

export interface BenchCorpus {
  /** scored one by one */
  clips: BenchClip[];
  /** the long-form file */
  long: BenchClip;
}

export async function loadCorpus(workDir: string, quick: boolean): Promise<BenchCorpus> {
  const pocketsphinx: BenchClip[] = [];
  for (const c of pocketsphinxClips()) {
    pocketsphinx.push(clipFrom(c.id, c.set, c.reference, (await decodeFile(c.path)).samples, workDir));
  }
  const texts = asteriskTexts();
  if (quick) {
    // Tiny inputs, one 30 s window each: a short cards clip, and a "long" file of a cards clip and a prompt.
    const cards = pocketsphinx.filter((c) => c.set === 'cards');
    return { clips: [cards[0]!], long: joinClips('long-quick', [cards[1]!, await asteriskClip('vm-options', texts, workDir)], 5, workDir) };
  }
  const asterisk: BenchClip[] = [];
  for (const name of ASTERISK_PROMPTS) asterisk.push(await asteriskClip(name, texts, workDir));
  const extra: BenchClip[] = [];
  for (const name of LONG_EXTRA_PROMPTS) extra.push(await asteriskClip(name, texts, workDir));
  return { clips: [...pocketsphinx, ...asterisk], long: joinClips('long-5min', [...pocketsphinx, ...asterisk, ...extra], 295, workDir) };
}
