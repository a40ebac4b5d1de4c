// The sherpa-onnx-node recognizer config for each model kind. Pure: no native code is loaded here.
import type { RecognizerSpec } from '../../models/sherpa/kinds.js';

export { KIND_INFO, SHERPA_KINDS, isSherpaKind, type RecognizerSpec, type SherpaKind } from '../../models/sherpa/kinds.js';

type Dict = Record<string, unknown>;

/** The sherpa-onnx-node config for a spec: `{ modelConfig, ... }` for Offline- or OnlineRecognizer. */
export function recognizerConfig(spec: RecognizerSpec, threads: number, provider: 'cpu' | 'cuda'): Dict {
  const f = spec.files;
  const common = { tokens: f.tokens, numThreads: threads, provider, debug: 0 };
  const featConfig = { sampleRate: 16000, featureDim: 80 };
  switch (spec.kind) {
    case 'moonshine':
      return {
        featConfig,
        modelConfig: {
          ...common,
          moonshine: { preprocessor: f.preprocessor, encoder: f.encoder, uncachedDecoder: f.uncachedDecoder, cachedDecoder: f.cachedDecoder },
        },
      };
    case 'moonshine-v2':
      return { featConfig, modelConfig: { ...common, moonshine: { encoder: f.encoder, mergedDecoder: f.mergedDecoder } } };
    case 'sense-voice':
      return { featConfig, modelConfig: { ...common, senseVoice: { model: f.model, language: spec.language ?? '', useInverseTextNormalization: 1 } } };
    case 'paraformer':
      return { featConfig, modelConfig: { ...common, paraformer: { model: f.model } } };
    case 'nemo-ctc':
      return { featConfig, modelConfig: { ...common, nemoCtc: { model: f.model } } };
    case 'zipformer-ctc':
      return { featConfig, modelConfig: { ...common, zipformerCtc: { model: f.model } } };
    case 'fire-red':
      return { featConfig, modelConfig: { ...common, fireRedAsr: { encoder: f.encoder, decoder: f.decoder } } };
    case 'whisper-onnx':
      return { featConfig, modelConfig: { ...common, whisper: { encoder: f.encoder, decoder: f.decoder, language: spec.language ?? '', task: 'transcribe' } } };
    case 'transducer':
      return { featConfig, modelConfig: { ...common, transducer: { encoder: f.encoder, decoder: f.decoder, joiner: f.joiner } } };
    case 'online-transducer':
      return { featConfig, modelConfig: { ...common, transducer: { encoder: f.encoder, decoder: f.decoder, joiner: f.joiner } }, ...onlineEndpointing };
    case 'online-paraformer':
      return { featConfig, modelConfig: { ...common, paraformer: { encoder: f.encoder, decoder: f.decoder } }, ...onlineEndpointing };
    case 'online-zipformer2-ctc':
      return { featConfig, modelConfig: { ...common, zipformer2Ctc: { model: f.model } }, ...onlineEndpointing };
  }
}

// sherpa-onnx's endpoint rules: an utterance ends after 2.4 s of trailing silence with nothing
// decoded, 1.2 s after some text, or at 20 s whatever happens (its documented defaults).
const onlineEndpointing = {
  decodingMethod: 'greedy_search',
  enableEndpoint: 1,
  rule1MinTrailingSilence: 2.4,
  rule2MinTrailingSilence: 1.2,
  rule3MinUtteranceLength: 20,
};
