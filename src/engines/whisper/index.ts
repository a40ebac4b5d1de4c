// The Whisper engine family: its factory for the engine registry. A ggml model runs on whisper.cpp;
// when it also keeps CTranslate2 weights, config model.engine picks whisper.cpp, CTranslate2, or
// (auto) the faster of the two on this machine, measured once and kept in the store (../select.ts).
import { createCt2Engine } from '../ct2/engine.js';
import { ct2RuntimeReady, ensureCt2Runtime } from '../ct2/runtime.js';
import type { EngineFactory } from '../registry.js';
import { ProbeCache, probeCachePath, selectEngine } from '../select.js';
import { ct2WeightsOf } from '../../models/ct2-weights.js';
import { WhisperEngine } from './engine.js';

export const createWhisperEngine: EngineFactory = (model, { config, device, home }) => {
  const common = {
    modelId: model.id,
    threads: config.model.threads,
    parallel: config.model.parallel,
    processes: config.model.processes,
    device,
    maxQueue: config.limits.maxQueue,
    jobTimeoutPerAudioSecond: config.limits.jobTimeoutPerAudioSecond,
    minJobTimeoutMs: config.limits.jobTimeoutFloorSeconds * 1000,
    languages: model.languages,
  };
  const ct2 = config.ct2;
  return selectEngine({
    choice: config.model.engine,
    model,
    device,
    threads: config.model.threads,
    cache: new ProbeCache(probeCachePath(home)),
    ct2Available: () => Boolean(ct2.python) || ct2.install || ct2RuntimeReady(home),
    createWhisper: () => new WhisperEngine({ ...common, modelPath: model.path }),
    createCt2: async () => {
      const python = await ensureCt2Runtime({ home, python: ct2.python, install: ct2.install });
      return createCt2Engine({ ...common, modelDir: ct2WeightsOf(model.dir)!, python, computeType: ct2.computeType });
    },
  });
};

export { WhisperEngine } from './engine.js';
