// Where uploaded job audio waits for the node that runs the job. A cluster needs a store every node
// reaches: S3 or anything speaking its API (MinIO, R2, moto). A single node keeps it in its home folder.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { mapS3Error, s3Client } from '../models/sources/s3.js';
import { JobSourceError } from './errors.js';

export interface AudioStore {
  /** 'local' stores are reachable from this node only */
  readonly shared: boolean;
  put(key: string, body: Buffer, contentType?: string): Promise<void>;
  open(key: string, signal?: AbortSignal): Promise<Readable>;
  remove(key: string): Promise<void>;
}

const safeKey = (key: string) => {
  if (!/^[A-Za-z0-9._/-]+$/.test(key) || key.split('/').includes('..')) throw new Error(`bad job audio key ${key}`);
  return key;
};

export class LocalAudioStore implements AudioStore {
  readonly shared = false;
  constructor(private readonly dir: string) {}

  async put(key: string, body: Buffer): Promise<void> {
    const path = join(this.dir, safeKey(key));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, body);
  }

  async open(key: string): Promise<Readable> {
    const path = join(this.dir, safeKey(key));
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(new JobSourceError('audio_missing', `the job's uploaded audio is gone (${(err as Error).message})`)));
    });
    return stream;
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.dir, safeKey(key)), { force: true });
  }
}

export interface S3StoreOptions {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
}

export class S3AudioStore implements AudioStore {
  readonly shared = true;
  private readonly client: S3Client;

  constructor(private readonly opts: S3StoreOptions) {
    this.client = s3Client({ bucket: opts.bucket, key: opts.prefix, region: opts.region, endpoint: opts.endpoint });
  }

  private loc(key: string) {
    return { bucket: this.opts.bucket, key: this.opts.prefix + safeKey(key), region: this.opts.region, endpoint: this.opts.endpoint };
  }

  async put(key: string, body: Buffer, contentType?: string): Promise<void> {
    const loc = this.loc(key);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentLength: body.length, ContentType: contentType }));
    } catch (err) {
      const mapped = mapS3Error(err, loc);
      throw new JobSourceError('storage_unavailable', `cannot store the upload: ${mapped.message}`, { cause: err });
    }
  }

  async open(key: string, signal?: AbortSignal): Promise<Readable> {
    const loc = this.loc(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal });
      if (!res.Body) throw new JobSourceError('audio_missing', `s3://${loc.bucket}/${loc.key}: empty response`);
      return res.Body as Readable;
    } catch (err) {
      if (err instanceof JobSourceError) throw err;
      const mapped = mapS3Error(err, loc, signal);
      throw new JobSourceError(mapped.code === 'not_found' ? 'audio_missing' : 'storage_unavailable', `the job's uploaded audio: ${mapped.message}`, {
        cause: err,
      });
    }
  }

  async remove(key: string): Promise<void> {
    const loc = this.loc(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key })).catch(() => {});
  }
}
