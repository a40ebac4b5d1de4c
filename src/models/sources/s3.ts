// S3 (and S3-compatible stores: MinIO, R2, moto) through the AWS SDK v3 and its standard
// credential chain (env, profile, SSO, instance role ...). HeadObject pins the version (ETag,
// size, published sha256); ranged GETs with If-Match resume a partial download of that version.
import { GetObjectCommand, HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { ModelSourceError, abortError } from './errors.js';
import type { ExpectedDigests, Opener, OpenResult } from './download.js';
import type { S3Location } from './resolve.js';

export function s3Client(loc: S3Location): S3Client {
  const config: S3ClientConfig = {
    region: loc.region,
    // We verify digests ourselves; the newer default checksum headers upset some S3-compatible stores.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (loc.endpoint) {
    config.endpoint = loc.endpoint;
    config.forcePathStyle = true;
  }
  return new S3Client(config);
}

export interface S3ObjectInfo {
  size: number;
  etag?: string;
  expected: ExpectedDigests;
}

const where = (loc: S3Location) => `s3://${loc.bucket}/${loc.key}${loc.endpoint ? ` at ${loc.endpoint}` : ''}`;

export function mapS3Error(err: unknown, loc: S3Location, signal?: AbortSignal): ModelSourceError {
  if (err instanceof ModelSourceError) return err;
  if (signal?.aborted) return abortError(signal);
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
    return new ModelSourceError('unauthorized', `no AWS credentials for ${where(loc)}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)`, {
      cause: err,
    });
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new ModelSourceError('not_found', `${where(loc)}: ${name === 'NoSuchBucket' ? 'no such bucket' : 'no such object'}`, { cause: err });
  }
  if (name === 'NoSuchBucket') return new ModelSourceError('not_found', `${where(loc)}: no such bucket`, { cause: err });
  if (status === 401 || status === 403 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/.test(name)) {
    return new ModelSourceError(
      'unauthorized',
      `${where(loc)}: access denied (${name || status}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy`,
      { cause: err },
    );
  }
  return new ModelSourceError('network', `${where(loc)}: ${name || 'error'}: ${e.message ?? String(err)}`, { cause: err });
}

export async function headS3Object(client: S3Client, loc: S3Location, signal?: AbortSignal): Promise<S3ObjectInfo> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key, ChecksumMode: 'ENABLED' }), { abortSignal: signal });
    const expected: ExpectedDigests = { size: head.ContentLength ?? 0 };
    const metaSha = head.Metadata?.sha256;
    if (metaSha && /^[0-9a-f]{64}$/i.test(metaSha)) expected.sha256 = metaSha.toLowerCase();
    else if (head.ChecksumSHA256 && !head.ChecksumSHA256.includes('-') && head.ChecksumType !== 'COMPOSITE') {
      expected.sha256 = Buffer.from(head.ChecksumSHA256, 'base64').toString('hex');
    }
    const info: S3ObjectInfo = { size: head.ContentLength ?? 0, expected };
    if (head.ETag) info.etag = head.ETag;
    return info;
  } catch (err) {
    throw mapS3Error(err, loc, signal);
  }
}

/** Opener for resumableDownload: ranged GETs guarded by If-Match on the ETag. */
export function s3Opener(client: S3Client, loc: S3Location, info: S3ObjectInfo): Opener {
  const get = async (from: number, etag: string | undefined, signal?: AbortSignal): Promise<OpenResult> => {
    const ranged = from > 0 && from < info.size;
    const matchEtag = etag ?? info.etag;
    try {
      const res = await client.send(
        new GetObjectCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          ...(ranged ? { Range: `bytes=${from}-` } : {}),
          ...(matchEtag ? { IfMatch: matchEtag } : {}),
        }),
        { abortSignal: signal },
      );
      if (!res.Body) throw new ModelSourceError('network', `${where(loc)}: empty response`);
      let start = 0;
      const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.ContentRange ?? '');
      if (range) start = Number(range[1]);
      const result: OpenResult = { start, total: range ? Number(range[2]) : (res.ContentLength ?? info.size), body: res.Body as Readable };
      if (res.ETag) result.etag = res.ETag;
      return result;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) {
        // The partial belongs to an older version of the object: start over on the current one
        // (the version HeadObject just described, so the expected digests still apply).
        if (matchEtag !== info.etag) return get(0, info.etag, signal);
        throw new ModelSourceError('network', `${where(loc)} changed while downloading; run the pull again`, { cause: err });
      }
      throw mapS3Error(err, loc, signal);
    }
  };
  return get;
}
