// The CTC engine family (wav2vec2, HuBERT on onnxruntime): its factory for the engine registry.
import type { EngineFactory } from '../registry.js';
import { CtcEngine } from './engine.js';

export const createCtcEngine: EngineFactory = (model, { config, device }) =>
  new CtcEngine({
    modelId: model.id,
    modelDir: model.dir,
    threads: config.model.threads,
    processes: config.model.processes,
    device,
    languages: model.languages === '*' ? [] : model.languages,
    chunkSeconds: config.ctc.chunkSeconds,
    strideSeconds: config.ctc.strideSeconds,
    maxQueue: config.limits.maxQueue,
    jobTimeoutPerAudioSecond: config.limits.jobTimeoutPerAudioSecond,
    minJobTimeoutMs: config.limits.jobTimeoutFloorSeconds * 1000,
  });

export { CtcEngine } from './engine.js';
