// Byte-level tar and zip writers for tests: they write exactly the entries asked for, including
// the hostile ones real tools refuse to produce (../ paths, absolute paths, links out, devices,
// lying sizes), so the extractor can be tested against them.
import { deflateRawSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  /** '0' file, '2' symlink, '1' hard link, '3' char device, '5' directory */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  body?: Buffer;
  /** declared size when it should differ from body (a zero-filled body of this size is written) */
  size?: number;
  linkname?: string;
  mode?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

export function tarHeader(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.from(e.name, 'utf8');
  if (name.length > 100) throw new Error('tar builder: name too long');
  name.copy(h, 0);
  h.write(octal(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(e.type ?? '0', 156, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

/** Yields the archive in pieces so large zero-filled bodies never sit in memory at once. */
export function* tarChunks(entries: TarEntry[]): Generator<Buffer> {
  for (const e of entries) {
    const size = e.body ? e.body.length : (e.size ?? 0);
    yield tarHeader(e, size);
    if (e.body) yield e.body;
    else {
      const block = Buffer.alloc(1024 * 1024);
      for (let left = size; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
    }
    const pad = (512 - (size % 512)) % 512;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(1024);
}

export function tarBuffer(entries: TarEntry[]): Buffer {
  return Buffer.concat([...tarChunks(entries)]);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  body?: Buffer;
  /** unix mode incl. type bits, e.g. 0o120777 for a symlink, 0o100644 for a file */
  mode?: number;
  deflate?: boolean;
  /** lie about the uncompressed size in the headers */
  declaredSize?: number;
}

export function zipBuffer(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    const data = e.deflate ? deflateRawSync(body, { level: 9 }) : body;
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(body);
    const size = e.declaredSize ?? body.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    const mode = e.mode ?? (e.name.endsWith('/') ? 0o040755 : 0o100644);
    central.writeUInt32LE(((mode & 0xffff) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
