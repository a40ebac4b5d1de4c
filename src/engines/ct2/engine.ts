// The CTranslate2 engine: Whisper on CTranslate2 (faster-whisper's runtime: int8 VNNI kernels on x86,
// CUDA on a GPU) in Python worker processes that speak the whisper.cpp worker's protocol, so the
// same pool, queue, cancellation, watchdogs and crash restarts apply. CTranslate2 ships no C/C++
// headers on any registry, so its Python wheels are the way to run it.
import { isCt2Folder } from '../../models/ct2-weights.js';
import { EngineError } from '../types.js';
import { WhisperEngine, type WhisperEngineOptions } from '../whisper/engine.js';
import { CT2_WORKER_SCRIPT } from './runtime.js';

export interface Ct2EngineOptions extends Omit<WhisperEngineOptions, 'kind' | 'launch' | 'modelPath' | 'flashAttn' | 'dtw'> {
  /** the CTranslate2 folder */
  modelDir: string;
  /** the runtime's Python (ensureCt2Runtime) */
  python: string;
  /** CTranslate2 compute type; default int8 on a CPU, float16 on CUDA */
  computeType?: string;
}

export function createCt2Engine(o: Ct2EngineOptions): WhisperEngine {
  if (!isCt2Folder(o.modelDir))
    throw new EngineError('model_load_failed', `${o.modelDir} is not a CTranslate2 Whisper folder (model.bin, config.json, vocabulary)`);
  const { modelDir, python, computeType, ...rest } = o;
  const args = [
    CT2_WORKER_SCRIPT,
    '--model',
    modelDir,
    '--threads',
    String(o.threads),
    '--parallel',
    String(o.parallel),
    '--device',
    o.device,
    '--gpu-device',
    String(o.gpuDevice ?? 0),
    '--compute-type',
    computeType ?? 'default',
  ];
  return new WhisperEngine({ ...rest, modelPath: modelDir, kind: 'ct2', launch: () => ({ command: python, args: ['-u', ...args] }) });
}
