// Reader for Hugging Face safetensors files (single file or sharded with model.safetensors.index.json).
// Layout: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {...}}, then the data; offsets are relative to the end of the header.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BinaryFile, TruncatedFileError } from './binary-file.js';
import { bytesPerElement, elementCount, fileTensor, type SourceTensor, type StorageDtype } from './tensor-source.js';

const DTYPES: Record<string, StorageDtype> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
};

/** Headers larger than this are certainly not a real safetensors header. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export class SafetensorsModel {
  constructor(
    private readonly files: BinaryFile[],
    readonly tensors: Map<string, SourceTensor>,
    readonly metadata: Record<string, string>,
  ) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  require(name: string): SourceTensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`safetensors: missing tensor "${name}"`);
    return tensor;
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }
}

/**
 * Opens `model.safetensors` (or the shards listed by `model.safetensors.index.json`) in `dir`,
 * or a single .safetensors file when `path` is a file.
 */
export async function readSafetensors(path: string): Promise<SafetensorsModel> {
  const shardPaths = await resolveShards(path);
  const files: BinaryFile[] = [];
  const tensors = new Map<string, SourceTensor>();
  const metadata: Record<string, string> = {};
  try {
    for (const shard of shardPaths) {
      const file = await BinaryFile.open(shard);
      files.push(file);
      const header = await readHeader(file);
      for (const [name, entry] of Object.entries(header.tensors)) {
        if (tensors.has(name)) throw new Error(`${shard}: tensor "${name}" appears in more than one shard`);
        tensors.set(name, toTensor(file, header.dataStart, name, entry));
      }
      Object.assign(metadata, header.metadata);
    }
  } catch (err) {
    await Promise.all(files.map((file) => file.close()));
    if (err instanceof TruncatedFileError) throw new Error(`safetensors file is truncated or corrupt: ${err.message}`);
    throw err;
  }
  return new SafetensorsModel(files, tensors, metadata);
}

async function resolveShards(path: string): Promise<string[]> {
  if (path.endsWith('.safetensors')) return [path];
  const index = join(path, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const parsed = JSON.parse(await readFile(index, 'utf8')) as { weight_map?: Record<string, string> };
    if (!parsed.weight_map) throw new Error(`${index}: no weight_map`);
    const shards = [...new Set(Object.values(parsed.weight_map))].sort();
    return shards.map((shard) => join(dirname(index), shard));
  }
  const single = join(path, 'model.safetensors');
  if (existsSync(single)) return [single];
  throw new Error(`${path}: no model.safetensors or model.safetensors.index.json`);
}

async function readHeader(file: BinaryFile): Promise<{ dataStart: number; tensors: Record<string, HeaderEntry>; metadata: Record<string, string> }> {
  const cursor = file.cursor(0);
  const length = Number(await cursor.u64('header length'));
  if (length < 2 || length > MAX_HEADER_BYTES) {
    throw new Error(`${file.path}: not a safetensors file (header length ${length})`);
  }
  const text = (await cursor.bytes(length, 'JSON header')).toString('utf8');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${file.path}: not a safetensors file (header is not JSON)`);
  }
  const { __metadata__: metadata = {}, ...tensors } = parsed;
  return {
    dataStart: 8 + length,
    tensors: tensors as Record<string, HeaderEntry>,
    metadata: metadata as Record<string, string>,
  };
}

function toTensor(file: BinaryFile, dataStart: number, name: string, entry: HeaderEntry): SourceTensor {
  const dtype = DTYPES[entry.dtype];
  if (!dtype) throw new Error(`${file.path}: tensor "${name}" has unsupported dtype ${entry.dtype}`);
  const [begin, end] = entry.data_offsets;
  const expected = elementCount(entry.shape) * bytesPerElement(dtype);
  if (end - begin !== expected) {
    throw new Error(`${file.path}: tensor "${name}" [${entry.shape}] ${entry.dtype} spans ${end - begin} bytes, expected ${expected}`);
  }
  if (dataStart + end > file.size) {
    throw new Error(`${file.path} is truncated: tensor "${name}" ends at byte ${dataStart + end} but the file has ${file.size}`);
  }
  return fileTensor(file, name, entry.shape, dtype, dataStart + begin);
}
