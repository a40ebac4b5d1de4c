// The ONNX graph of a Hugging Face CTC model of the wav2vec2 family (Wav2Vec2ForCTC, HubertForCTC),
// built from config.json and the checkpoint's tensors: the same computation as transformers'
// modeling code in eval mode (dropout off), for one unpadded utterance.
//   conv feature encoder (group norm in layer 0, or layer norm in every layer) → feature projection
//   → positional conv embedding (weight norm folded here) → transformer (pre-norm when
//   do_stable_layer_norm, post-norm otherwise) → CTC head (lm_head) → logits [batch, frames, vocab]
import { DataType, type OnnxInitializer, type OnnxModel, type OnnxNode } from './onnx-writer.js';
import { elementCount, readAll, type SourceTensor } from './tensor-source.js';

/** The config.json fields the graph depends on. */
export interface Wav2Vec2Config {
  model_type?: string;
  architectures?: string[];
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act?: string;
  feat_extract_activation?: string;
  feat_extract_norm?: 'group' | 'layer';
  do_stable_layer_norm?: boolean;
  conv_dim: number[];
  conv_kernel: number[];
  conv_stride: number[];
  conv_bias?: boolean;
  num_conv_pos_embeddings: number;
  num_conv_pos_embedding_groups: number;
  layer_norm_eps?: number;
  vocab_size: number;
  add_adapter?: boolean;
  feat_proj_layer_norm?: boolean;
}

/** The architectures whose CTC graph this file builds; anything else gets a clear refusal. */
export const SUPPORTED_ARCHITECTURES: Record<string, { prefix: string; modelType: string }> = {
  Wav2Vec2ForCTC: { prefix: 'wav2vec2', modelType: 'wav2vec2' },
  HubertForCTC: { prefix: 'hubert', modelType: 'hubert' },
};

export interface TensorLookup {
  has(name: string): boolean;
  require(name: string): SourceTensor;
}

export interface GraphOptions {
  /** int8 dynamic quantisation of the transformer's and the head's matrix weights */
  quantize?: 'int8';
}

export function checkSupported(config: Wav2Vec2Config, origin: string): { architecture: string; prefix: string } {
  const architecture = config.architectures?.[0];
  const known = architecture ? SUPPORTED_ARCHITECTURES[architecture] : undefined;
  if (!architecture || !known) {
    throw new Error(
      `${origin}: architecture ${architecture ?? `(none; model_type "${config.model_type ?? '?'}")`} is not supported for conversion; ` +
        `supported: ${Object.keys(SUPPORTED_ARCHITECTURES).join(', ')} (or a folder that already holds model.onnx / onnx/model.onnx)`,
    );
  }
  const bad = (why: string) => new Error(`${origin}: ${architecture} with ${why} is not supported`);
  for (const [key, act] of [
    ['hidden_act', config.hidden_act],
    ['feat_extract_activation', config.feat_extract_activation],
  ] as const) {
    if (act !== undefined && act !== 'gelu') throw bad(`${key} "${act}" (only "gelu")`);
  }
  if (config.add_adapter) throw bad('an adapter (add_adapter: true)');
  if (config.feat_extract_norm !== undefined && config.feat_extract_norm !== 'group' && config.feat_extract_norm !== 'layer') {
    throw bad(`feat_extract_norm "${config.feat_extract_norm}"`);
  }
  if (config.conv_dim.length !== config.conv_kernel.length || config.conv_dim.length !== config.conv_stride.length) {
    throw bad('conv_dim, conv_kernel and conv_stride of different lengths');
  }
  if (config.hidden_size % config.num_attention_heads !== 0) throw bad('hidden_size not divisible by num_attention_heads');
  return { architecture, prefix: known.prefix };
}

/** Samples per output frame: the product of the conv strides (320 = 20 ms at 16 kHz for wav2vec2). */
export function inputsToLogitsRatio(config: Pick<Wav2Vec2Config, 'conv_stride'>): number {
  return config.conv_stride.reduce((a, b) => a * b, 1);
}

function f32Bytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** torch weight_norm(dim=2): w[o,i,k] = g[k] · v[o,i,k] / ‖v[:,:,k]‖. */
export function foldWeightNorm(g: Float32Array, v: Float32Array, kernel: number): Float32Array {
  const norms = new Float64Array(kernel);
  for (let j = 0; j < v.length; j++) norms[j % kernel] += v[j]! * v[j]!;
  const out = new Float32Array(v.length);
  for (let j = 0; j < v.length; j++) {
    const k = j % kernel;
    out[j] = (g[k]! * v[j]!) / Math.sqrt(norms[k]!);
  }
  return out;
}

/** Per-output-column symmetric int8 quantisation of a [rows=in, cols=out] matrix. */
export function quantizeColumns(w: Float32Array, rows: number, cols: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scales[c] = Math.max(scales[c]!, Math.abs(w[r * cols + c]!));
  for (let c = 0; c < cols; c++) scales[c] = scales[c]! / 127 || 1;
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(w[r * cols + c]! / scales[c]!);
  return { q, scales };
}

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  node(op: string, inputs: string[], attributes?: OnnxNode['attributes'], outputs = 1, domain?: string): string[] {
    const id = this.counter++;
    const names = Array.from({ length: outputs }, (_, i) => `${op.toLowerCase()}_${id}${outputs > 1 ? `_${i}` : ''}`);
    this.nodes.push({ op, inputs, outputs: names, name: `${op}_${id}`, attributes, domain });
    return names;
  }

  one(op: string, inputs: string[], attributes?: OnnxNode['attributes']): string {
    return this.node(op, inputs, attributes)[0]!;
  }

  weight(name: string, dims: number[], data: () => Promise<Buffer>, type: OnnxInitializer['type'] = DataType.FLOAT): string {
    this.initializers.push({ name, dims, type, data });
    return name;
  }

  /** A float scalar or an int64 vector, stored once inside the graph. */
  scalar(value: number): string {
    return this.constant(`f:${value}`, () => ({ dims: [], type: DataType.FLOAT, bytes: f32Bytes(Float32Array.of(value)) }));
  }

  int64s(values: number[]): string {
    return this.constant(`i:${values.join(',')}`, () => ({
      dims: [values.length],
      type: DataType.INT64,
      bytes: Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer),
    }));
  }

  private constant(key: string, make: () => { dims: number[]; type: OnnxInitializer['type']; bytes: Buffer }): string {
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `const_${this.constants.size}`;
    const { dims, type, bytes } = make();
    this.initializers.push({ name, dims, type, inline: true, data: async () => bytes });
    this.constants.set(key, name);
    return name;
  }
}

/** Builds the ONNX model; tensors are read only when the file is written. */
export function buildWav2Vec2Onnx(config: Wav2Vec2Config, tensors: TensorLookup, origin: string, opts: GraphOptions = {}): OnnxModel {
  const { prefix } = checkSupported(config, origin);
  const g = new GraphBuilder();
  const eps = config.layer_norm_eps ?? 1e-5;
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads;
  const headDim = hidden / heads;

  const tensor = (name: string, shape?: number[]): SourceTensor => {
    if (!tensors.has(name)) throw new Error(`${origin}: checkpoint lacks tensor "${name}" that ${config.architectures?.[0]} needs`);
    const t = tensors.require(name);
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new Error(`${origin}: tensor "${name}" has shape [${t.shape}], config.json implies [${shape}]`);
    }
    return t;
  };
  const copy = (name: string, shape: number[]): string => {
    const t = tensor(name, shape);
    return g.weight(name, shape, async () => f32Bytes(await readAll(t)));
  };

  const gelu = (x: string): string => {
    // 0.5·x·(1 + erf(x/√2)): torch's exact GELU; onnxruntime fuses this pattern into one Gelu kernel.
    const erf = g.one('Erf', [g.one('Div', [x, g.scalar(Math.SQRT2)])]);
    return g.one('Mul', [g.one('Mul', [x, g.one('Add', [erf, g.scalar(1)])]), g.scalar(0.5)]);
  };
  const layerNorm = (x: string, base: string, size: number, epsilon = eps): string =>
    g.one('LayerNormalization', [x, copy(`${base}.weight`, [size]), copy(`${base}.bias`, [size])], { axis: -1, epsilon: { float: epsilon } });

  /** x·Wᵀ + b with W [out, in] from PyTorch, stored transposed ([in, out]) for MatMul. */
  const linear = (x: string, base: string, inSize: number, outSize: number, quantizable = true): string => {
    const w = tensor(`${base}.weight`, [outSize, inSize]);
    const bias = copy(`${base}.bias`, [outSize]);
    if (opts.quantize === 'int8' && quantizable) {
      // onnxruntime's dynamic quantisation pattern: activations quantised per call to uint8,
      // weights int8 per output column; the fused kernel (MatMulIntegerToFloat) rescales.
      let cached: Promise<{ q: Int8Array; scales: Float32Array }> | undefined;
      const quantized = () => (cached ??= readAll(w).then((v) => quantizeColumns(transpose2d(v, outSize, inSize), inSize, outSize)));
      const qName = g.weight(`${base}.weight_quantized`, [inSize, outSize], async () => Buffer.from((await quantized()).q.buffer), DataType.INT8);
      const scaleName = g.weight(`${base}.weight_scale`, [outSize], async () => f32Bytes((await quantized()).scales));
      const zero = g.weight(`${base}.weight_zero_point`, [outSize], async () => Buffer.alloc(outSize), DataType.INT8);
      const [xq, xScale, xZero] = g.node('DynamicQuantizeLinear', [x], undefined, 3);
      const product = g.one('MatMulInteger', [xq!, qName, xZero!, zero]);
      const scaled = g.one('Mul', [g.one('Cast', [product], { to: DataType.FLOAT }), g.one('Mul', [xScale!, scaleName])]);
      return g.one('Add', [scaled, bias]);
    }
    const wName = g.weight(`${base}.weight_t`, [inSize, outSize], async () => f32Bytes(transpose2d(await readAll(w), outSize, inSize)));
    return g.one('Add', [g.one('MatMul', [x, wName]), bias]);
  };

  // --- conv feature encoder: [batch, samples] → [batch, channels, frames]
  let x = g.one('Unsqueeze', ['input_values', g.int64s([1])]);
  let channels = 1;
  const layerNormConv = config.feat_extract_norm === 'layer';
  for (let i = 0; i < config.conv_dim.length; i++) {
    const base = `${prefix}.feature_extractor.conv_layers.${i}`;
    const out = config.conv_dim[i]!;
    const kernel = config.conv_kernel[i]!;
    const inputs = [x, copy(`${base}.conv.weight`, [out, channels, kernel])];
    if (config.conv_bias) inputs.push(copy(`${base}.conv.bias`, [out]));
    x = g.one('Conv', inputs, { kernel_shape: [kernel], strides: [config.conv_stride[i]!], pads: [0, 0] });
    if (layerNormConv) {
      const t = g.one('Transpose', [x], { perm: [0, 2, 1] });
      x = g.one('Transpose', [layerNorm(t, `${base}.layer_norm`, out, 1e-5)], { perm: [0, 2, 1] });
    } else if (i === 0) {
      // GroupNorm with one group per channel is instance normalisation over time.
      x = g.one('InstanceNormalization', [x, copy(`${base}.layer_norm.weight`, [out]), copy(`${base}.layer_norm.bias`, [out])], {
        epsilon: { float: 1e-5 },
      });
    }
    x = gelu(x);
    channels = out;
  }
  x = g.one('Transpose', [x], { perm: [0, 2, 1] }); // [batch, frames, channels]

  // --- feature projection
  const projection = `${prefix}.feature_projection`;
  if (tensors.has(`${projection}.layer_norm.weight`) && config.feat_proj_layer_norm !== false) {
    x = layerNorm(x, `${projection}.layer_norm`, channels);
  }
  x = linear(x, `${projection}.projection`, channels, hidden, false);

  // --- positional conv embedding (weight norm folded into a plain weight)
  const posBase = `${prefix}.encoder.pos_conv_embed.conv`;
  const kernel = config.num_conv_pos_embeddings;
  const groups = config.num_conv_pos_embedding_groups;
  const vShape = [hidden, hidden / groups, kernel];
  const [gName, vName] = tensors.has(`${posBase}.parametrizations.weight.original0`)
    ? [`${posBase}.parametrizations.weight.original0`, `${posBase}.parametrizations.weight.original1`]
    : [`${posBase}.weight_g`, `${posBase}.weight_v`];
  const gT = tensor(gName, [1, 1, kernel]);
  const vT = tensor(vName, vShape);
  const posWeight = g.weight(`${posBase}.weight`, vShape, async () => f32Bytes(foldWeightNorm(await readAll(gT), await readAll(vT), kernel)));
  let pos = g.one('Conv', [g.one('Transpose', [x], { perm: [0, 2, 1] }), posWeight, copy(`${posBase}.bias`, [hidden])], {
    kernel_shape: [kernel],
    pads: [kernel / 2, kernel / 2].map(Math.floor),
    group: groups,
  });
  if (kernel % 2 === 0) pos = g.one('Slice', [pos, g.int64s([0]), g.int64s([-1]), g.int64s([2])]); // SamePad
  pos = g.one('Transpose', [gelu(pos)], { perm: [0, 2, 1] });
  x = g.one('Add', [x, pos]);

  const stable = Boolean(config.do_stable_layer_norm);
  const encoder = `${prefix}.encoder`;
  if (!stable) x = layerNorm(x, `${encoder}.layer_norm`, hidden);

  const attention = (h: string, base: string): string => {
    const split = g.int64s([0, -1, heads, headDim]);
    const q = g.one('Mul', [linear(h, `${base}.q_proj`, hidden, hidden), g.scalar(headDim ** -0.5)]);
    const k = linear(h, `${base}.k_proj`, hidden, hidden);
    const v = linear(h, `${base}.v_proj`, hidden, hidden);
    const qh = g.one('Transpose', [g.one('Reshape', [q, split])], { perm: [0, 2, 1, 3] });
    const kh = g.one('Transpose', [g.one('Reshape', [k, split])], { perm: [0, 2, 3, 1] });
    const vh = g.one('Transpose', [g.one('Reshape', [v, split])], { perm: [0, 2, 1, 3] });
    const probs = g.one('Softmax', [g.one('MatMul', [qh, kh])], { axis: -1 });
    const context = g.one('Transpose', [g.one('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
    return linear(g.one('Reshape', [context, g.int64s([0, -1, hidden])]), `${base}.out_proj`, hidden, hidden);
  };
  const feedForward = (h: string, base: string): string =>
    linear(gelu(linear(h, `${base}.intermediate_dense`, hidden, config.intermediate_size)), `${base}.output_dense`, config.intermediate_size, hidden);

  for (let i = 0; i < config.num_hidden_layers; i++) {
    const base = `${encoder}.layers.${i}`;
    if (stable) {
      x = g.one('Add', [x, attention(layerNorm(x, `${base}.layer_norm`, hidden), `${base}.attention`)]);
      x = g.one('Add', [x, feedForward(layerNorm(x, `${base}.final_layer_norm`, hidden), `${base}.feed_forward`)]);
    } else {
      x = layerNorm(g.one('Add', [x, attention(x, `${base}.attention`)]), `${base}.layer_norm`, hidden);
      x = layerNorm(g.one('Add', [x, feedForward(x, `${base}.feed_forward`)]), `${base}.final_layer_norm`, hidden);
    }
  }
  if (stable) x = layerNorm(x, `${encoder}.layer_norm`, hidden);

  // --- CTC head
  const logits = linear(x, 'lm_head', hidden, config.vocab_size, false);
  g.nodes.push({ op: 'Identity', inputs: [logits], outputs: ['logits'], name: 'logits' });

  return {
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: 'input_values', type: DataType.FLOAT, shape: ['batch', 'samples'] }],
    outputs: [{ name: 'logits', type: DataType.FLOAT, shape: ['batch', 'frames', config.vocab_size] }],
    opset: 17,
    producer: 'earshot',
    graphName: config.architectures?.[0] ?? 'ctc',
  };
}

/** Parameter count of the tensors the graph uses (for the manifest). */
export function parameterCount(tensors: Iterable<SourceTensor>): number {
  let n = 0;
  for (const t of tensors) n += elementCount(t.shape);
  return n;
}
