// What an installed model is, shared by the model store (below) and the engines (above): the
// manifest names the engine kind that runs the model, so the engine registry can build it by kind.

/**
 * Engine families. Open on purpose: a new family registers itself (src/engines/registry.ts)
 * without editing this type; the named ones are those Earshot ships or is building.
 */
export type EngineKind = 'whisper' | 'ct2' | 'sherpa' | 'ctc' | (string & {});

/** On-disk formats; as open as EngineKind (a family may bring its own). */
export type ModelFormat = 'ggml' | 'onnx-ctc' | 'sherpa-onnx' | (string & {});

export interface ModelManifest {
  id: string;
  /** where it came from, as the user wrote it */
  source: string;
  format: ModelFormat;
  /** the engine family that runs it (the registry's key) */
  engine: EngineKind;
  /** main file, relative to the model folder */
  file: string;
  sha256: string;
  size: number;
  /** '*' for multilingual Whisper */
  languages: string[] | '*';
  /** e.g. f16, q8_0, q5_0 */
  quantization?: string;
  /** free-form facts from the importer (architecture, vocab size, converted-from) */
  details?: Record<string, unknown>;
  created: string;
}

export interface InstalledModel extends ModelManifest {
  /** the model's folder */
  dir: string;
  /** absolute path of the main file */
  path: string;
}

/** Finds or fetches a model; the model manager (pull) plugs in here, the engine manager calls it. */
/** `caller`: an API caller named the source (the caller-source policy applies to the pull) */
export type ModelResolver = (source: string, opts?: { caller?: boolean }) => Promise<InstalledModel>;
