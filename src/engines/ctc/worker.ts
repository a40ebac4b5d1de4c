// The CTC worker process: one onnxruntime session over a wav2vec2-family model, speaking the
// engine pool's framed protocol on stdin/stdout. A native crash or hang in onnxruntime takes down
// this process only; the pool restarts it.
//   in:  {type:'transcribe', id, options:{chunk_seconds, stride_seconds}, bytes} + f32 samples; {type:'cancel', id}
//   out: {type:'ready', info}; {type:'result', id, ids, probs, frames}; {type:'error', id, code, message}
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { encodeFrame, FrameDecoder, type Frame } from '../pool/frames.js';
import { keptRange, normalize, planChunks } from './chunking.js';
import { readCtcSettings, receptiveField } from '../../models/ctc-settings.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string', default: '1' },
    device: { type: 'string', default: 'cpu' },
  },
});

function send(message: Record<string, unknown>): void {
  for (const part of encodeFrame(message)) process.stdout.write(part);
}

async function createSession(path: string, threads: number, device: string): Promise<{ session: ort.InferenceSession; device: 'cpu' | 'cuda'; note?: string }> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Inputs change length every call: the arena would keep the largest allocation forever.
    enableCpuMemArena: false,
  };
  if (device === 'cuda') {
    try {
      return { session: await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda', 'cpu'] }), device: 'cuda' };
    } catch (err) {
      // This onnxruntime-node build has no CUDA provider (or no GPU): say so, run on the CPU.
      return {
        session: await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] }),
        device: 'cpu',
        note: `CUDA execution provider unavailable (${(err as Error).message.split('\n')[0]}); running on CPU`,
      };
    }
  }
  return { session: await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] }), device: 'cpu' };
}

async function main(): Promise<void> {
  if (!args.model) throw new Error('--model <folder> is required');
  const settings = readCtcSettings(args.model);
  const { session, device, note } = await createSession(join(args.model, settings.onnx), Number(args.threads), args.device ?? 'cpu');
  const minSamples = receptiveField(settings.convKernels, settings.convStrides);
  const cancelled = new Set<string>();

  /** Logits of one chunk → per-frame argmax id and its softmax probability, for the kept frames. */
  async function runChunk(samples: Float32Array, keep: (frames: number) => [number, number], ids: number[], probs: number[]): Promise<void> {
    if (samples.length < minSamples) return;
    const input = settings.doNormalize ? normalize(samples) : samples;
    const out = await session.run({ [settings.input]: new ort.Tensor('float32', input, [1, input.length]) });
    const logits = out[settings.output]!;
    const [, frames, vocab] = logits.dims as number[];
    const data = logits.data as Float32Array;
    const [from, to] = keep(frames!);
    for (let f = from; f < to; f++) {
      const row = f * vocab!;
      let best = 0;
      for (let v = 1; v < vocab!; v++) if (data[row + v]! > data[row + best]!) best = v;
      let sum = 0;
      for (let v = 0; v < vocab!; v++) sum += Math.exp(data[row + v]! - data[row + best]!);
      ids.push(best);
      probs.push(1 / sum);
    }
    logits.dispose();
  }

  async function transcribe(frame: Frame): Promise<void> {
    const id = String(frame.id);
    const options = (frame.options ?? {}) as { chunk_seconds?: number; stride_seconds?: number };
    const payload = frame.payload ?? Buffer.alloc(0);
    if (payload.length % 4 !== 0) throw Object.assign(new Error('audio payload is not float32'), { code: 'bad_audio' });
    const audio = new Float32Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length));
    const started = performance.now();
    const chunks = planChunks(audio.length, {
      chunkSeconds: options.chunk_seconds ?? 0,
      strideSeconds: options.stride_seconds,
      sampleRate: settings.samplingRate,
      samplesPerFrame: settings.samplesPerFrame,
    });
    const ids: number[] = [];
    const probs: number[] = [];
    for (const chunk of chunks) {
      if (cancelled.delete(id)) throw Object.assign(new Error('transcription aborted'), { code: 'aborted' });
      await runChunk(audio.subarray(chunk.start, chunk.end), (frames) => keptRange(chunk, frames), ids, probs);
    }
    send({ type: 'result', id, ids, probs, chunks: chunks.length, processing_time: (performance.now() - started) / 1000 });
  }

  send({
    type: 'ready',
    info: {
      device,
      note,
      threads: Number(args.threads),
      inputs: session.inputNames,
      outputs: session.outputNames,
      onnxruntime: ort.env.versions?.common,
    },
  });

  // Jobs run one at a time in arrival order; cancel frames are read between chunks.
  let queue = Promise.resolve();
  const decoder = new FrameDecoder(true);
  process.stdin.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === 'cancel') {
        cancelled.add(String(frame.id));
      } else if (frame.type === 'transcribe') {
        queue = queue.then(() =>
          transcribe(frame).catch((err: Error & { code?: string }) => {
            cancelled.delete(String(frame.id));
            send({ type: 'error', id: frame.id, code: err.code ?? 'internal', message: err.message });
          }),
        );
      }
    }
  });
  process.stdin.on('end', () => {
    void queue.then(() => process.exit(0));
  });
}

main().catch((err: Error) => {
  send({ type: 'fatal', message: err.message });
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
