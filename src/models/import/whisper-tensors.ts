// Maps CTranslate2 and Hugging Face Whisper weights onto the tensor names and shapes that
// whisper.cpp's loader (whisper_model_load) asks for, which are OpenAI's PyTorch names:
//   encoder.positional_embedding, encoder.conv{1,2}.{weight,bias}, encoder.blocks.N.{attn,attn_ln,mlp.0,mlp.2,mlp_ln}.*,
//   encoder.ln_post.*, decoder.positional_embedding, decoder.token_embedding.weight,
//   decoder.blocks.N.{attn,attn_ln,cross_attn,cross_attn_ln,mlp.0,mlp.2,mlp_ln}.*, decoder.ln.*
// Attention keys have no bias in Whisper (and a key bias would not change attention anyway: it
// adds the same q·b to every score of a query, which softmax ignores). The conv biases are [n, 1].
import type { Ct2Model } from './ct2-reader.js';
import type { SafetensorsModel } from './safetensors-reader.js';
import { reshape, sliceRows, type SourceTensor } from './tensor-source.js';

export interface WhisperHparams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
}

export interface WhisperTensor {
  /** whisper.cpp name */
  name: string;
  /** values in PyTorch (row-major, outermost first) shape */
  source: SourceTensor;
}

export interface WhisperWeights {
  hparams: WhisperHparams;
  tensors: WhisperTensor[];
}

const ATTENTION_PARTS = ['query.weight', 'query.bias', 'key.weight', 'value.weight', 'value.bias', 'out.weight', 'out.bias'];

/** Every tensor whisper.cpp expects, in OpenAI's state_dict order, with its PyTorch shape. */
export function expectedWhisperTensors(h: WhisperHparams): Array<{ name: string; shape: number[] }> {
  const out: Array<{ name: string; shape: number[] }> = [];
  const add = (name: string, ...shape: number[]) => out.push({ name, shape });
  const block = (prefix: string, d: number, cross: boolean) => {
    const attention = (kind: string) => {
      for (const part of ATTENTION_PARTS) add(`${prefix}.${kind}.${part}`, ...(part.endsWith('weight') ? [d, d] : [d]));
      add(`${prefix}.${kind}_ln.weight`, d);
      add(`${prefix}.${kind}_ln.bias`, d);
    };
    attention('attn');
    if (cross) attention('cross_attn');
    add(`${prefix}.mlp.0.weight`, 4 * d, d);
    add(`${prefix}.mlp.0.bias`, 4 * d);
    add(`${prefix}.mlp.2.weight`, d, 4 * d);
    add(`${prefix}.mlp.2.bias`, d);
    add(`${prefix}.mlp_ln.weight`, d);
    add(`${prefix}.mlp_ln.bias`, d);
  };
  const a = h.nAudioState;
  add('encoder.positional_embedding', h.nAudioCtx, a);
  add('encoder.conv1.weight', a, h.nMels, 3);
  add('encoder.conv1.bias', a, 1);
  add('encoder.conv2.weight', a, a, 3);
  add('encoder.conv2.bias', a, 1);
  for (let i = 0; i < h.nAudioLayer; i++) block(`encoder.blocks.${i}`, a, false);
  add('encoder.ln_post.weight', a);
  add('encoder.ln_post.bias', a);
  const t = h.nTextState;
  add('decoder.positional_embedding', h.nTextCtx, t);
  add('decoder.token_embedding.weight', h.nVocab, t);
  for (let i = 0; i < h.nTextLayer; i++) block(`decoder.blocks.${i}`, t, true);
  add('decoder.ln.weight', t);
  add('decoder.ln.bias', t);
  return out;
}

/** Checks names and shapes against what whisper.cpp will ask for, and returns them in its order. */
export function checkWhisperTensors(h: WhisperHparams, tensors: Map<string, SourceTensor>, origin: string): WhisperTensor[] {
  if (h.nAudioState !== h.nTextState) {
    throw new Error(`${origin}: encoder width ${h.nAudioState} differs from decoder width ${h.nTextState}; whisper.cpp needs them equal`);
  }
  const ordered: WhisperTensor[] = [];
  for (const { name, shape } of expectedWhisperTensors(h)) {
    const source = tensors.get(name);
    if (!source) throw new Error(`${origin}: no weights found for whisper.cpp tensor "${name}"`);
    if (source.shape.length !== shape.length || source.shape.some((n, i) => n !== shape[i])) {
      throw new Error(`${origin}: "${name}" (from ${source.name}) has shape [${source.shape}], whisper.cpp expects [${shape}]`);
    }
    ordered.push({ name, source });
  }
  return ordered;
}

// ---------------------------------------------------------------------------------------------
// CTranslate2 (faster-whisper) layout: encoder/layer_N/self_attention/linear_0 is Q,K,V fused along
// the output rows (with a zero block for the absent key bias); decoder/layer_N/attention (cross)
// has linear_0 = Q and linear_1 = K,V fused; layer norms are gamma/beta.

export async function whisperWeightsFromCt2(model: Ct2Model): Promise<WhisperWeights> {
  const origin = model.file.path;
  if (model.specName !== 'WhisperSpec') {
    throw new Error(`${origin}: CTranslate2 spec "${model.specName}" is not a Whisper model (expected WhisperSpec)`);
  }
  const conv1 = model.require('encoder/conv1/weight');
  const embeddings = model.require('decoder/embeddings/weight');
  const hparams: WhisperHparams = {
    nVocab: embeddings.shape[0],
    nAudioCtx: model.require('encoder/position_encodings/encodings').shape[0],
    nAudioState: conv1.shape[0],
    nAudioHead: await model.scalar('encoder/num_heads'),
    nAudioLayer: countLayers([...model.variables.keys()], /^encoder\/layer_(\d+)\//),
    nTextCtx: model.require('decoder/position_encodings/encodings').shape[0],
    nTextState: embeddings.shape[1],
    nTextHead: await model.scalar('decoder/num_heads'),
    nTextLayer: countLayers([...model.variables.keys()], /^decoder\/layer_(\d+)\//),
    nMels: conv1.shape[1],
  };
  const map = new Map<string, SourceTensor>();
  const put = (name: string, source: SourceTensor) => map.set(name, source);
  const linear = async (to: string, from: string) => {
    put(`${to}.weight`, await model.tensor(`${from}/weight`));
    put(`${to}.bias`, await model.tensor(`${from}/bias`));
  };
  const norm = async (to: string, from: string) => {
    put(`${to}.weight`, await model.tensor(`${from}/gamma`));
    put(`${to}.bias`, await model.tensor(`${from}/beta`));
  };
  // Splits a fused linear layer into consecutive row blocks of `d` output features.
  const split = async (from: string, d: number, targets: Array<string | null>) => {
    const weight = await model.tensor(`${from}/weight`);
    const bias = await model.tensor(`${from}/bias`);
    if (weight.shape[0] !== d * targets.length) {
      throw new Error(`${origin}: fused layer ${from} has ${weight.shape[0]} rows, expected ${d * targets.length}`);
    }
    targets.forEach((to, i) => {
      if (!to) return;
      put(`${to}.weight`, sliceRows(weight, i * d, d));
      if (!to.endsWith('.key')) put(`${to}.bias`, sliceRows(bias, i * d, d));
    });
  };

  const a = hparams.nAudioState;
  put('encoder.positional_embedding', await model.tensor('encoder/position_encodings/encodings'));
  for (const conv of ['conv1', 'conv2']) {
    put(`encoder.${conv}.weight`, await model.tensor(`encoder/${conv}/weight`));
    const bias = await model.tensor(`encoder/${conv}/bias`);
    put(`encoder.${conv}.bias`, reshape(bias, [bias.shape[0], 1]));
  }
  for (let i = 0; i < hparams.nAudioLayer; i++) {
    const to = `encoder.blocks.${i}`;
    const from = `encoder/layer_${i}`;
    await split(`${from}/self_attention/linear_0`, a, [`${to}.attn.query`, `${to}.attn.key`, `${to}.attn.value`]);
    await linear(`${to}.attn.out`, `${from}/self_attention/linear_1`);
    await norm(`${to}.attn_ln`, `${from}/self_attention/layer_norm`);
    await linear(`${to}.mlp.0`, `${from}/ffn/linear_0`);
    await linear(`${to}.mlp.2`, `${from}/ffn/linear_1`);
    await norm(`${to}.mlp_ln`, `${from}/ffn/layer_norm`);
  }
  await norm('encoder.ln_post', 'encoder/layer_norm');

  const t = hparams.nTextState;
  put('decoder.positional_embedding', await model.tensor('decoder/position_encodings/encodings'));
  put('decoder.token_embedding.weight', await model.tensor('decoder/embeddings/weight'));
  for (let i = 0; i < hparams.nTextLayer; i++) {
    const to = `decoder.blocks.${i}`;
    const from = `decoder/layer_${i}`;
    await split(`${from}/self_attention/linear_0`, t, [`${to}.attn.query`, `${to}.attn.key`, `${to}.attn.value`]);
    await linear(`${to}.attn.out`, `${from}/self_attention/linear_1`);
    await norm(`${to}.attn_ln`, `${from}/self_attention/layer_norm`);
    await linear(`${to}.cross_attn.query`, `${from}/attention/linear_0`);
    await split(`${from}/attention/linear_1`, t, [`${to}.cross_attn.key`, `${to}.cross_attn.value`]);
    await linear(`${to}.cross_attn.out`, `${from}/attention/linear_2`);
    await norm(`${to}.cross_attn_ln`, `${from}/attention/layer_norm`);
    await linear(`${to}.mlp.0`, `${from}/ffn/linear_0`);
    await linear(`${to}.mlp.2`, `${from}/ffn/linear_1`);
    await norm(`${to}.mlp_ln`, `${from}/ffn/layer_norm`);
  }
  await norm('decoder.ln', 'decoder/layer_norm');
  return { hparams, tensors: checkWhisperTensors(hparams, map, origin) };
}

// ---------------------------------------------------------------------------------------------
// Hugging Face transformers layout (WhisperForConditionalGeneration / WhisperModel):
// model.encoder.layers.N.self_attn.{q,k,v,out}_proj, fc1/fc2, *_layer_norm, embed_positions, ...

/** The parts of a transformers WhisperConfig that fix the tensor shapes. */
export interface HfWhisperConfig {
  vocab_size: number;
  num_mel_bins: number;
  d_model: number;
  encoder_layers: number;
  encoder_attention_heads: number;
  decoder_layers: number;
  decoder_attention_heads: number;
  max_source_positions: number;
  max_target_positions: number;
  model_type?: string;
}

const HF_BLOCK_PARTS: Record<string, string> = {
  'self_attn.q_proj': 'attn.query',
  'self_attn.k_proj': 'attn.key',
  'self_attn.v_proj': 'attn.value',
  'self_attn.out_proj': 'attn.out',
  self_attn_layer_norm: 'attn_ln',
  'encoder_attn.q_proj': 'cross_attn.query',
  'encoder_attn.k_proj': 'cross_attn.key',
  'encoder_attn.v_proj': 'cross_attn.value',
  'encoder_attn.out_proj': 'cross_attn.out',
  encoder_attn_layer_norm: 'cross_attn_ln',
  fc1: 'mlp.0',
  fc2: 'mlp.2',
  final_layer_norm: 'mlp_ln',
};

const HF_TOP_LEVEL: Record<string, string> = {
  'encoder.conv1.weight': 'encoder.conv1.weight',
  'encoder.conv1.bias': 'encoder.conv1.bias',
  'encoder.conv2.weight': 'encoder.conv2.weight',
  'encoder.conv2.bias': 'encoder.conv2.bias',
  'encoder.embed_positions.weight': 'encoder.positional_embedding',
  'encoder.layer_norm.weight': 'encoder.ln_post.weight',
  'encoder.layer_norm.bias': 'encoder.ln_post.bias',
  'decoder.embed_tokens.weight': 'decoder.token_embedding.weight',
  'decoder.embed_positions.weight': 'decoder.positional_embedding',
  'decoder.layer_norm.weight': 'decoder.ln.weight',
  'decoder.layer_norm.bias': 'decoder.ln.bias',
};

/** whisper.cpp name for a transformers name (without the "model." prefix), or undefined to ignore it. */
export function hfToWhisperName(name: string): string | undefined {
  if (name in HF_TOP_LEVEL) return HF_TOP_LEVEL[name];
  const match = /^(encoder|decoder)\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (!match) return undefined;
  const [, side, layer, part, kind] = match;
  const mapped = HF_BLOCK_PARTS[part];
  return mapped ? `${side}.blocks.${layer}.${mapped}.${kind}` : undefined;
}

export function whisperWeightsFromHf(config: HfWhisperConfig, model: SafetensorsModel, origin: string): WhisperWeights {
  for (const key of [
    'vocab_size',
    'num_mel_bins',
    'd_model',
    'encoder_layers',
    'encoder_attention_heads',
    'decoder_layers',
    'decoder_attention_heads',
    'max_source_positions',
    'max_target_positions',
  ] as const) {
    if (typeof config[key] !== 'number') throw new Error(`${origin}: config.json has no numeric "${key}"; is this a Whisper model?`);
  }
  const hparams: WhisperHparams = {
    nVocab: config.vocab_size,
    nAudioCtx: config.max_source_positions,
    nAudioState: config.d_model,
    nAudioHead: config.encoder_attention_heads,
    nAudioLayer: config.encoder_layers,
    nTextCtx: config.max_target_positions,
    nTextState: config.d_model,
    nTextHead: config.decoder_attention_heads,
    nTextLayer: config.decoder_layers,
    nMels: config.num_mel_bins,
  };
  const map = new Map<string, SourceTensor>();
  for (const [fullName, source] of model.tensors) {
    const name = fullName.startsWith('model.') ? fullName.slice('model.'.length) : fullName;
    const ours = hfToWhisperName(name);
    if (!ours) continue; // proj_out.weight is tied to the token embedding; whisper.cpp reuses that
    map.set(ours, ours === 'encoder.conv1.bias' || ours === 'encoder.conv2.bias' ? reshape(source, [source.shape[0], 1]) : source);
  }
  return { hparams, tensors: checkWhisperTensors(hparams, map, origin) };
}

function countLayers(names: string[], pattern: RegExp): number {
  let count = 0;
  for (const name of names) {
    const match = pattern.exec(name);
    if (match) count = Math.max(count, Number(match[1]) + 1);
  }
  return count;
}
