// A wake-word head: [1, frames, 96] embeddings in, one score per class out. Shapes come from the model itself.
import { EMBEDDING_DIM } from './features.js';
import { floatTensor, openSession, runSingle, tensorShape, type Session } from './onnx.js';
import type { WakewordModelRef } from './wakeword-models.js';

export class WakewordClassifier {
  private constructor(
    private readonly session: Session,
    readonly name: string,
    /** Embedding frames the head looks at (16 for most openWakeWord models, 22 for weather, 34 for timer). */
    readonly frames: number,
    /** Label of each output column; null for a background column that is not reported. */
    readonly labels: (string | null)[],
  ) {}

  static async load(ref: WakewordModelRef): Promise<WakewordClassifier> {
    const session = await openSession(ref.path);
    const [, frames, dim] = tensorShape(session.inputMetadata[0]);
    if (!frames || (dim !== undefined && dim !== EMBEDDING_DIM)) {
      await session.release();
      throw new Error(`${ref.path}: expected an input of shape [1, frames, ${EMBEDDING_DIM}], got ${JSON.stringify(session.inputMetadata[0])}`);
    }
    const outputs = tensorShape(session.outputMetadata[0])[1] ?? 1;
    return new WakewordClassifier(session, ref.name, frames, outputLabels(ref.name, outputs, session.outputNames[0]));
  }

  async score(embeddings: Float32Array): Promise<Map<string, number>> {
    const data = await runSingle(this.session, floatTensor(embeddings, [1, this.frames, EMBEDDING_DIM]));
    const scores = new Map<string, number>();
    this.labels.forEach((label, i) => {
      if (label !== null) scores.set(label, data[i]);
    });
    return scores;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Single-output models report under the model's name. Multi-class models (openWakeWord's timer) carry their
 * class map as JSON in the output name; columns it leaves out are background. Otherwise columns are numbered.
 */
function outputLabels(name: string, outputs: number, outputName: string): (string | null)[] {
  if (outputs === 1) return [name];
  try {
    const map = JSON.parse(outputName) as Record<string, string>;
    return Array.from({ length: outputs }, (_, i) => map[String(i)] ?? null);
  } catch {
    return Array.from({ length: outputs }, (_, i) => `${name}:${i}`);
  }
}
