// Random-access reads from a (possibly multi-GB) model file, plus a little-endian cursor for headers.
// Only the bytes asked for are held in memory, so big models are never loaded whole.
import { open, type FileHandle } from 'node:fs/promises';

export class TruncatedFileError extends Error {}

export class BinaryFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<BinaryFile> {
    const handle = await open(path, 'r');
    try {
      const info = await handle.stat();
      return new BinaryFile(path, handle, info.size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Reads exactly `length` bytes at `position`; a short file is reported as truncated. */
  async read(position: number, length: number, what = 'data'): Promise<Buffer> {
    if (position + length > this.size) {
      throw new TruncatedFileError(`${this.path} is truncated: ${what} needs bytes ${position}..${position + length} but the file has ${this.size}`);
    }
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) throw new TruncatedFileError(`${this.path} ended early while reading ${what}`);
      done += bytesRead;
    }
    return buffer;
  }

  cursor(position = 0): FileCursor {
    return new FileCursor(this, position);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Sequential little-endian reader over a BinaryFile, buffered in windows. */
export class FileCursor {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly file: BinaryFile,
    public position: number,
  ) {}

  private async ensure(length: number, what: string): Promise<Buffer> {
    const offset = this.position - this.windowStart;
    if (offset < 0 || offset + length > this.window.length) {
      const size = Math.min(Math.max(length, 1 << 16), this.file.size - this.position);
      this.window = await this.file.read(this.position, Math.max(size, length), what);
      this.windowStart = this.position;
    }
    const start = this.position - this.windowStart;
    this.position += length;
    return this.window.subarray(start, start + length);
  }

  async u8(what = 'u8'): Promise<number> {
    return (await this.ensure(1, what))[0];
  }
  async u16(what = 'u16'): Promise<number> {
    return (await this.ensure(2, what)).readUInt16LE(0);
  }
  async u32(what = 'u32'): Promise<number> {
    return (await this.ensure(4, what)).readUInt32LE(0);
  }
  async i32(what = 'i32'): Promise<number> {
    return (await this.ensure(4, what)).readInt32LE(0);
  }
  async u64(what = 'u64'): Promise<bigint> {
    return (await this.ensure(8, what)).readBigUInt64LE(0);
  }
  async bytes(length: number, what = 'bytes'): Promise<Buffer> {
    return Buffer.from(await this.ensure(length, what));
  }
  /** Moves past `length` bytes without reading them (checked against the file size). */
  skip(length: number, what = 'data'): void {
    if (this.position + length > this.file.size) {
      throw new TruncatedFileError(
        `${this.file.path} is truncated: ${what} needs bytes ${this.position}..${this.position + length} but the file has ${this.file.size}`,
      );
    }
    this.position += length;
  }
}
