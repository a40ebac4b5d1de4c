// Compiles native/worker.cpp with upstream whisper.cpp (from the pinned nodejs-whisper npm package).
// Runs at `npm install`. Environment:
//   EARSHOT_CUDA=1       CUDA backend (needs nvcc)
//   EARSHOT_PORTABLE=1   runtime-dispatch build for images: ggml's CPU backend built for every x86 level
//                        (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS), the best one loaded at run time;
//                        otherwise one static binary tuned for this CPU (GGML_NATIVE)
//   EARSHOT_CPU_VARIANTS with EARSHOT_PORTABLE=1: which of ggml's x86 CPU variants to build, comma- or
//                        ;-separated ggml names (x64,haswell,…) or "all"; default: native/CMakeLists.txt's list
//   EARSHOT_NATIVE_BUILD_DIR  build folder (default native/build); the benchmark builds variants side by side
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const buildDir = process.env.EARSHOT_NATIVE_BUILD_DIR || join(root, 'native', 'build');
const binary = join(buildDir, 'earshot-whisper-worker');

function fail(message) {
  console.error(`earshot: native build failed: ${message}`);
  process.exit(1);
}

let whisperDir;
try {
  whisperDir = join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp');
} catch {
  fail('the npm package nodejs-whisper (source of whisper.cpp) is not installed');
}
if (!existsSync(join(whisperDir, 'CMakeLists.txt'))) fail(`no whisper.cpp sources at ${whisperDir}`);

for (const tool of ['cmake', 'c++']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    fail(`"${tool}" not found: install build tools (Debian: apt-get install -y cmake build-essential)`);
  }
}

const cuda = process.env.EARSHOT_CUDA === '1';
const portable = process.env.EARSHOT_PORTABLE === '1';
const flags = [
  '-S',
  join(root, 'native'),
  '-B',
  buildDir,
  '-DCMAKE_BUILD_TYPE=Release',
  `-DWHISPER_CPP_DIR=${whisperDir}`,
  `-DGGML_CUDA=${cuda ? 'ON' : 'OFF'}`,
  `-DEARSHOT_DISPATCH=${portable ? 'ON' : 'OFF'}`,
  `-DGGML_NATIVE=${portable ? 'OFF' : 'ON'}`,
  // Also set in CMakeLists.txt, but a cache entry there does not reach build folders configured before it
  // was added (native/build of older checkouts kept LLAMAFILE off); on the command line it always holds.
  '-DGGML_LLAMAFILE=ON',
];
// Unset, the cache entry is dropped so CMakeLists.txt's default applies again (not a value left by an earlier run).
const variants = (process.env.EARSHOT_CPU_VARIANTS ?? '').split(/[,;\s]+/).filter(Boolean);
flags.push(portable && variants.length ? `-DEARSHOT_CPU_VARIANTS=${variants.join(';')}` : '-UEARSHOT_CPU_VARIANTS');
// Reconfigure only when the options changed; cmake's own cache makes rebuilds incremental.
const stamp = join(buildDir, 'earshot-flags.txt');
const wanted = flags.join('\n');
const current = existsSync(stamp) ? readFileSync(stamp, 'utf8') : '';
mkdirSync(buildDir, { recursive: true });
const run = (args) => {
  const r = spawnSync('cmake', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail(`cmake ${args[0]} exited with ${r.status}`);
};
if (current !== wanted || !existsSync(join(buildDir, 'CMakeCache.txt'))) {
  run(flags);
  (await import('node:fs')).writeFileSync(stamp, wanted);
}
const jobs = String(Math.max(1, (await import('node:os')).availableParallelism()));
run(['--build', buildDir, '--target', 'earshot-whisper-worker', '-j', jobs]);
if (!existsSync(binary)) fail(`build finished but ${binary} is missing`);
console.log(`earshot: built ${binary}${cuda ? ' (CUDA)' : ''}${portable ? ' (runtime CPU dispatch: keep the .so files beside it)' : ''}`);
