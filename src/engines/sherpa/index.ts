// The sherpa-onnx engine family: its factory for the engine registry.
import { sherpaDetails } from '../../models/sherpa/validate.js';
import type { EngineFactory } from '../registry.js';
import { SherpaEngine } from './engine.js';

export const createSherpaEngine: EngineFactory = (model, { config, device }) =>
  new SherpaEngine({
    modelId: model.id,
    modelDir: model.dir,
    details: sherpaDetails(model.details, model.id),
    languages: model.languages === '*' ? undefined : model.languages,
    threads: config.model.threads,
    processes: config.model.processes,
    device,
    maxQueue: config.limits.maxQueue,
    jobTimeoutPerAudioSecond: config.limits.jobTimeoutPerAudioSecond,
    minJobTimeoutMs: config.limits.jobTimeoutFloorSeconds * 1000,
  });

export { SherpaEngine } from './engine.js';
