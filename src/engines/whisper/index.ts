// The whisper.cpp engine family: its factory for the engine registry.
import type { EngineFactory } from '../registry.js';
import { WhisperEngine } from './engine.js';

export const createWhisperEngine: EngineFactory = (model, { config, device }) =>
  new WhisperEngine({
    modelId: model.id,
    modelPath: model.path,
    threads: config.model.threads,
    parallel: config.model.parallel,
    processes: config.model.processes,
    device,
    maxQueue: config.limits.maxQueue,
    languages: model.languages,
  });

export { WhisperEngine } from './engine.js';
