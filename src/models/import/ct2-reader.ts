// Reader for CTranslate2's model.bin. Layout (little-endian), as written by CTranslate2's
// model_spec serializer, binary version 4..6:
//   u32 binary_version
//   string spec_name, u32 spec_revision          (strings: u16 length incl. NUL, bytes, NUL)
//   u32 n_variables, then per variable:
//     string name, u8 rank, u32 dims[rank], u8 dtype_id, u32 n_bytes, n_bytes of data
//   u32 n_aliases, then per alias: string alias, string target
// dtype ids: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16.
// Quantized weights ("x/weight" int8/int16) come with "x/weight_scale" (one per row for int8,
// one scalar for int16); the real value is stored / scale.
import { BinaryFile, TruncatedFileError } from './binary-file.js';
import { bytesPerElement, decodeToFloat32, elementCount, fileTensor, readAll, scaledTensor, type SourceTensor, type StorageDtype } from './tensor-source.js';

const DTYPES: StorageDtype[] = ['float32', 'int8', 'int16', 'int32', 'float16', 'bfloat16'];
const MIN_VERSION = 4;
const MAX_VERSION = 6;

export interface Ct2Variable {
  name: string;
  shape: number[];
  dtype: StorageDtype;
  /** file offset of the data */
  offset: number;
  byteLength: number;
}

export class Ct2Model {
  constructor(
    readonly file: BinaryFile,
    readonly binaryVersion: number,
    readonly specName: string,
    readonly revision: number,
    readonly variables: Map<string, Ct2Variable>,
    readonly aliases: Map<string, string>,
  ) {}

  /** The variable under `name`, following aliases. */
  variable(name: string): Ct2Variable | undefined {
    const target = this.aliases.get(name) ?? name;
    return this.variables.get(target);
  }

  has(name: string): boolean {
    return this.variable(name) !== undefined;
  }

  require(name: string): Ct2Variable {
    const variable = this.variable(name);
    if (!variable) throw new Error(`${this.file.path}: missing variable "${name}" (is this a complete ${this.specName}?)`);
    return variable;
  }

  /** A float view of a weight, dequantizing int8/int16 storage with its "_scale" sibling. */
  async tensor(name: string): Promise<SourceTensor> {
    const variable = this.require(name);
    const raw = fileTensor(this.file, name, variable.shape, variable.dtype, variable.offset);
    if (variable.dtype !== 'int8' && variable.dtype !== 'int16') return raw;
    const scaleVariable = this.variable(`${name}_scale`);
    if (!scaleVariable) throw new Error(`${this.file.path}: quantized variable "${name}" has no "${name}_scale"`);
    const scales = await readAll(fileTensor(this.file, `${name}_scale`, scaleVariable.shape, scaleVariable.dtype, scaleVariable.offset));
    return scaledTensor(raw, scales);
  }

  /** Reads a scalar (e.g. num_heads). */
  async scalar(name: string): Promise<number> {
    const variable = this.require(name);
    if (elementCount(variable.shape) !== 1) throw new Error(`${this.file.path}: "${name}" is not a scalar`);
    const bytes = await this.file.read(variable.offset, variable.byteLength, name);
    return decodeToFloat32(bytes, variable.dtype, 1)[0];
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Parses the header and variable index of a CTranslate2 model.bin (data is left on disk). */
export async function readCt2Model(path: string): Promise<Ct2Model> {
  const file = await BinaryFile.open(path);
  try {
    return await parse(file);
  } catch (err) {
    await file.close();
    if (err instanceof TruncatedFileError) {
      throw new Error(`CTranslate2 model ${path} is truncated or corrupt: ${err.message}`);
    }
    throw err;
  }
}

async function parse(file: BinaryFile): Promise<Ct2Model> {
  const cursor = file.cursor(0);
  const readString = async (what: string): Promise<string> => {
    const length = await cursor.u16(what);
    if (length === 0) throw new Error(`${file.path}: corrupt CTranslate2 model (empty ${what})`);
    const bytes = await cursor.bytes(length, what);
    if (bytes[length - 1] !== 0) throw new Error(`${file.path}: corrupt CTranslate2 model (${what} is not NUL-terminated)`);
    return bytes.subarray(0, length - 1).toString('utf8');
  };

  const version = await cursor.u32('binary version');
  if (version < MIN_VERSION || version > MAX_VERSION) {
    throw new Error(
      `${file.path}: unsupported CTranslate2 binary version ${version} (supported: ${MIN_VERSION}..${MAX_VERSION}); ` +
        'is this really a CTranslate2 model.bin?',
    );
  }
  const specName = await readString('spec name');
  const revision = await cursor.u32('spec revision');
  const count = await cursor.u32('variable count');
  const variables = new Map<string, Ct2Variable>();
  for (let i = 0; i < count; i++) {
    const name = await readString(`name of variable ${i}`);
    const rank = await cursor.u8(`rank of ${name}`);
    if (rank > 8) throw new Error(`${file.path}: corrupt CTranslate2 model (variable "${name}" has rank ${rank})`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(await cursor.u32(`shape of ${name}`));
    const dtypeId = await cursor.u8(`dtype of ${name}`);
    const dtype = DTYPES[dtypeId];
    if (!dtype) throw new Error(`${file.path}: variable "${name}" has unknown dtype id ${dtypeId}`);
    const byteLength = await cursor.u32(`size of ${name}`);
    if (byteLength !== elementCount(shape) * bytesPerElement(dtype)) {
      throw new Error(`${file.path}: corrupt CTranslate2 model (variable "${name}" [${shape}] ${dtype} says ${byteLength} bytes)`);
    }
    const offset = cursor.position;
    cursor.skip(byteLength, `data of variable "${name}"`);
    variables.set(name, { name, shape, dtype, offset, byteLength });
  }
  const aliases = new Map<string, string>();
  const aliasCount = await cursor.u32('alias count');
  for (let i = 0; i < aliasCount; i++) {
    const alias = await readString(`alias ${i}`);
    const target = await readString(`target of alias ${alias}`);
    aliases.set(alias, target);
  }
  if (cursor.position !== file.size) {
    throw new Error(`${file.path}: corrupt CTranslate2 model (${file.size - cursor.position} unexpected bytes after the aliases)`);
  }
  return new Ct2Model(file, version, specName, revision, variables, aliases);
}
