// Every engine family this build ships, registered by the kind its model manifests name.
// A new family: a folder under src/engines/ exporting an EngineFactory, and one line here.
import { registerEngine } from './registry.js';
import { createCtcEngine } from './ctc/index.js';
import { createSherpaEngine } from './sherpa/index.js';
import { createWhisperEngine } from './whisper/index.js';

registerEngine('whisper', createWhisperEngine);
registerEngine('sherpa', createSherpaEngine);
registerEngine('ctc', createCtcEngine);

export { createEngine, engineKindOf, registerEngine, registeredEngineKinds, type EngineContext, type EngineFactory } from './registry.js';
