// One place that opens ONNX sessions the way an always-on CPU client wants them: one thread, no parallel executors.
import * as ort from 'onnxruntime-node';

export type Session = ort.InferenceSession;

export async function openSession(path: string): Promise<Session> {
  return ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

export function floatTensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function int64Scalar(value: number): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from([BigInt(value)]), []);
}

/** Static dimensions of a session's input/output, with symbolic ones as undefined. */
export function tensorShape(meta: ort.InferenceSession.ValueMetadata | undefined): (number | undefined)[] {
  if (!meta?.isTensor) return [];
  return meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : undefined));
}

export async function runSingle(session: Session, input: ort.Tensor): Promise<Float32Array> {
  const out = await session.run({ [session.inputNames[0]]: input });
  return out[session.outputNames[0]].data as Float32Array;
}
