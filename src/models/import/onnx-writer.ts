// Writes an ONNX model: the graph as protobuf in model.onnx, the weights as external data in
// model.onnx.data (ONNX's own external-data layout, which onnxruntime reads by path).
//
// Hand-written rather than through a protobuf library: we only ever *encode* six ONNX messages,
// and weights must stream to disk tensor by tensor (a 1.2 GB model never sits in memory whole),
// which the generated-message libraries do not do. Field numbers are those of onnx/onnx.proto.
import { open, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

// ---- protobuf wire encoding -------------------------------------------------------------

class Proto {
  private readonly parts: Buffer[] = [];

  private raw(buf: Buffer): void {
    this.parts.push(buf);
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.raw(Buffer.from(bytes));
  }

  private key(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value, 0);
    this.raw(b);
    return this;
  }

  bytes(field: number, value: Buffer | string): this {
    const buf = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.key(field, 2);
    this.varint(buf.length);
    this.raw(buf);
    return this;
  }

  message(field: number, body: Proto): this {
    return this.bytes(field, body.toBuffer());
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---- the ONNX subset ---------------------------------------------------------------------

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type AttributeValue = number | number[] | string | { float: number } | { ints: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, AttributeValue>;
  domain?: string;
}

/** A weight: its bytes are produced when the file is written, one tensor at a time. */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  type: DataTypeCode;
  data: () => Promise<Buffer>;
  /** small constants (shapes, scalars) stay inside model.onnx */
  inline?: boolean;
}

export interface OnnxValueInfo {
  name: string;
  type: DataTypeCode;
  /** numbers are fixed sizes, strings symbolic dimensions */
  shape: Array<number | string>;
}

export interface OnnxModel {
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number;
  /** extra opset imports, e.g. com.microsoft for contrib ops */
  extraOpsets?: Record<string, number>;
  producer: string;
  graphName: string;
}

function attribute(name: string, value: AttributeValue): Proto {
  const a = new Proto().bytes(1, name);
  // AttributeType: FLOAT=1 INT=2 STRING=3 FLOATS=6 INTS=7
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; wrap floats as {float}`);
    a.int(3, value).int(20, 2);
  } else if (typeof value === 'string') {
    a.bytes(4, value).int(20, 3);
  } else if (Array.isArray(value)) {
    for (const v of value) a.int(8, v);
    a.int(20, 7);
  } else if ('float' in value) {
    a.float(2, value.float).int(20, 1);
  } else {
    for (const v of value.ints) a.int(8, v);
    a.int(20, 7);
  }
  return a;
}

function nodeProto(n: OnnxNode): Proto {
  const p = new Proto();
  for (const i of n.inputs) p.bytes(1, i);
  for (const o of n.outputs) p.bytes(2, o);
  p.bytes(3, n.name).bytes(4, n.op);
  if (n.domain) p.bytes(7, n.domain);
  for (const [k, v] of Object.entries(n.attributes ?? {})) p.message(5, attribute(k, v));
  return p;
}

function valueInfo(v: OnnxValueInfo): Proto {
  const shape = new Proto();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new Proto().int(1, d) : new Proto().bytes(2, d));
  const tensorType = new Proto().int(1, v.type).message(2, shape);
  return new Proto().bytes(1, v.name).message(2, new Proto().message(1, tensorType));
}

function tensorHeader(t: OnnxInitializer): Proto {
  const p = new Proto();
  for (const d of t.dims) p.int(1, d);
  return p.int(2, t.type).bytes(8, t.name);
}

export function byteSize(type: DataTypeCode): number {
  return type === DataType.INT64 ? 8 : type === DataType.UINT8 || type === DataType.INT8 ? 1 : 4;
}

/**
 * Writes `<onnxPath>` and `<onnxPath>.data`. Returns the bytes of weights written.
 * Large tensors start on 64-byte boundaries so onnxruntime may map them without copying.
 */
export async function writeOnnxModel(onnxPath: string, model: OnnxModel, onProgress?: (done: number, total: number) => void): Promise<number> {
  const dataPath = `${onnxPath}.data`;
  const dataName = basename(dataPath);
  const data = await open(dataPath, 'w');
  const graph = new Proto();
  let offset = 0;
  try {
    for (const n of model.nodes) graph.message(1, nodeProto(n));
    graph.bytes(2, model.graphName);
    const external = model.initializers.filter((t) => !t.inline);
    let done = 0;
    for (const t of model.initializers) {
      const bytes = await t.data();
      const expected = t.dims.reduce((a, b) => a * b, 1) * byteSize(t.type);
      if (bytes.length !== expected) throw new Error(`initializer ${t.name}: ${bytes.length} bytes for dims [${t.dims}]`);
      const tensor = tensorHeader(t);
      if (t.inline) {
        tensor.bytes(9, bytes);
      } else {
        const pad = (64 - (offset % 64)) % 64;
        if (pad) await data.write(Buffer.alloc(pad), 0, pad, offset);
        offset += pad;
        await data.write(bytes, 0, bytes.length, offset);
        const entry = (key: string, value: string) => new Proto().bytes(1, key).bytes(2, value);
        tensor.message(13, entry('location', dataName));
        tensor.message(13, entry('offset', String(offset)));
        tensor.message(13, entry('length', String(bytes.length)));
        tensor.int(14, 1); // data_location = EXTERNAL
        offset += bytes.length;
        onProgress?.(++done, external.length);
      }
      graph.message(5, tensor);
    }
    for (const i of model.inputs) graph.message(11, valueInfo(i));
    for (const o of model.outputs) graph.message(12, valueInfo(o));
  } finally {
    await data.close();
  }
  const root = new Proto().int(1, 8).bytes(2, model.producer).bytes(3, '1');
  root.message(7, graph);
  root.message(8, new Proto().bytes(1, '').int(2, model.opset));
  for (const [domain, version] of Object.entries(model.extraOpsets ?? {})) root.message(8, new Proto().bytes(1, domain).int(2, version));
  await writeFile(onnxPath, root.toBuffer());
  return offset;
}
