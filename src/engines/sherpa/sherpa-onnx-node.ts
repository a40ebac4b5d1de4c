// Types for the parts of sherpa-onnx-node (1.13.8, plain CommonJS without typings) the worker uses.

export interface Waveform {
  samples: Float32Array;
  sampleRate: number;
}

export interface RecognizerResult {
  text: string;
  tokens?: string[];
  lang?: string;
  timestamps?: number[];
}

export interface OfflineStream {
  acceptWaveform(wave: Waveform): void;
}

export interface OfflineRecognizer {
  createStream(): OfflineStream;
  decodeAsync(stream: OfflineStream): Promise<RecognizerResult>;
}

export interface OnlineStream {
  acceptWaveform(wave: Waveform): void;
  inputFinished(): void;
}

export interface OnlineRecognizer {
  createStream(): OnlineStream;
  isReady(stream: OnlineStream): boolean;
  decode(stream: OnlineStream): void;
  isEndpoint(stream: OnlineStream): boolean;
  reset(stream: OnlineStream): void;
  getResult(stream: OnlineStream): RecognizerResult;
}

export interface SherpaModule {
  OfflineRecognizer: new (config: Record<string, unknown>) => OfflineRecognizer;
  OnlineRecognizer: new (config: Record<string, unknown>) => OnlineRecognizer;
  version?: string;
  onnxruntimeVersion?: string;
}
