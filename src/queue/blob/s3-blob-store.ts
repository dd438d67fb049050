/**
 * A blob store in an S3-compatible bucket, for queue nodes on several hosts that share no folder.
 * Every key lives under an optional prefix of the bucket (`s3://bucket/prefix/<key>`).
 *
 * A single PUT is atomic in S3: the object appears whole when the upload completes, or not at all,
 * so no staging is needed. Reading means downloading into a local scratch folder (workers and the
 * HTTP layer need a file); the download is written under a temporary name and renamed when complete,
 * so a half-downloaded file is never handed out.
 *
 * Credentials come from the options or from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, a profile, an instance role); they never appear in a description or error.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { PortoonError } from '../../core/errors.js';
import type { BlobStore, LocalBlob } from './blob-store.js';
import { assertBlobKey, assertBlobPrefix, assertExtension, shown } from './keys.js';

/** Where `check()` writes its probes, under the store's prefix. */
const HEALTH = '.health';

export interface S3BlobStoreOptions {
  bucket: string;
  /** A folder of the bucket holding every key, e.g. `portoon/jobs` (a trailing "/" is optional). */
  prefix?: string;
  /** An S3-compatible server (MinIO, Ceph, …), e.g. `http://127.0.0.1:9000`; default AWS S3. */
  endpoint?: string;
  /** Default AWS_REGION, else `us-east-1`. */
  region?: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`; most self-hosted servers need it. */
  forcePathStyle?: boolean;
  /** Default: the AWS SDK's credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The local folder of `scratchPath()`; default a private temporary folder removed by `close()`. */
  scratchDir?: string;
}

/** Bucket names: S3's rules, plus the upper case and "_" that old us-east-1 buckets and some servers allow. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** @throws PortoonError E_BAD_OPTION when `bucket` cannot be a bucket's name. */
export function assertBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket)) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Invalid S3 bucket name "${shown(bucket)}": use 3 to 255 letters, digits, ".", "-" or "_", starting and ending with a letter or digit.`,
    );
  }
}

/**
 * An S3 endpoint: an http(s) URL without credentials, query or fragment.
 * @throws PortoonError E_BAD_OPTION.
 */
export function parseEndpoint(endpoint: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Invalid S3 endpoint "${shown(redacted(endpoint))}": use an http(s) URL such as http://127.0.0.1:9000.`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Invalid S3 endpoint "${shown(redacted(endpoint))}": credentials are never taken from a URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead.`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new PortoonError('E_BAD_OPTION', `Invalid S3 endpoint "${shown(endpoint)}": it cannot have a query or fragment.`);
  }
  return url;
}

/** `text` with any `user:password@` of a URL in it masked, for messages. */
export function redacted(text: string): string {
  return text.replace(/\/\/[^/?#@]*@/g, '//***@');
}

export class S3BlobStore implements BlobStore {
  readonly description: string;
  readonly bucket: string;
  /** Empty, or ends with "/". */
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #scratchDir: string;
  readonly #ownsScratch: boolean;
  readonly #secret: string | undefined;

  constructor(options: S3BlobStoreOptions) {
    assertBucketName(options.bucket);
    const prefix = options.prefix ?? '';
    assertBlobPrefix(prefix);
    this.bucket = options.bucket;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const endpoint = options.endpoint === undefined ? undefined : parseEndpoint(options.endpoint);
    this.description = `s3://${this.bucket}/${this.prefix}${endpoint === undefined ? '' : ` at ${endpoint.origin}${endpoint.pathname.replace(/\/$/, '')}`}`;
    this.#secret = options.credentials?.secretAccessKey;

    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
      // Since 2025 the SDK adds CRC32 checksums to every upload (a streamed file goes out as an
      // aws-chunked body with a checksum trailer) and asks for them on downloads. S3-compatible servers
      // differ on these newer headers (s3rver refuses such a streamed upload with InvalidArgument), so
      // they are sent only where an operation requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // An unreachable host fails within seconds instead of hanging; a stalled transfer is abandoned.
      requestHandler: { connectionTimeout: 5_000, socketTimeout: 60_000 },
    };
    if (endpoint !== undefined) config.endpoint = endpoint.href;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    this.#client = new S3Client(config);

    if (options.scratchDir === undefined) {
      this.#scratchDir = mkdtempSync(join(tmpdir(), 'portoon-s3-scratch-'));
      this.#ownsScratch = true;
    } else {
      this.#scratchDir = options.scratchDir;
      this.#ownsScratch = false;
    }
  }

  scratchPath(extension = ''): string {
    assertExtension(extension);
    try {
      mkdirSync(this.#scratchDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new PortoonError(
        'E_BLOB_STORE',
        `The scratch folder ${this.#scratchDir} of ${this.description} cannot be created: ${reasonOf(error)}`,
        {
          cause: error,
        },
      );
    }
    return join(this.#scratchDir, `${randomUUID()}${extension}`);
  }

  async putFile(key: string, file: string, options: { move?: boolean } = {}): Promise<number> {
    const name = this.#name(key);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      throw this.#error(`cannot store ${key}: the local file cannot be read`, error);
    }
    const body = createReadStream(file);
    try {
      // A stream with its length: uploaded as it is read, never held in memory whole.
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: name, Body: body, ContentLength: size }));
    } catch (error) {
      throw this.#error(`cannot store ${key}`, error);
    } finally {
      body.destroy();
    }
    if (options.move === true) await rm(file, { force: true });
    return size;
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<number> {
    const name = this.#name(key);
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: name, Body: bytes, ContentLength: bytes.byteLength }));
    } catch (error) {
      throw this.#error(`cannot store ${key}`, error);
    }
    return bytes.byteLength;
  }

  async localCopy(key: string, scratchDir: string): Promise<LocalBlob | undefined> {
    const name = this.#name(key);
    const id = randomUUID();
    const path = join(scratchDir, `${id}${safeExtension(key)}`);
    const partial = join(scratchDir, `.${id}.part`);
    try {
      await mkdir(scratchDir, { recursive: true, mode: 0o700 });
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
      if (response.Body === undefined) throw new Error('the server answered without a body');
      await pipeline(response.Body as Readable, createWriteStream(partial, { mode: 0o600 }));
      const written = (await stat(partial)).size;
      if (response.ContentLength !== undefined && written !== response.ContentLength) {
        throw new Error(`the download ended after ${written} of ${response.ContentLength} bytes`);
      }
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true }).catch(() => undefined);
      if (isMissingKey(error)) return undefined;
      throw this.#error(`cannot read ${key}`, error);
    }
    return { path, release: () => rm(path, { force: true }) };
  }

  /** Note: a HEAD answer has no body, so a missing bucket looks like a missing key here (undefined); `check()` tells them apart. */
  async size(key: string): Promise<number | undefined> {
    const name = this.#name(key);
    try {
      const response = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name }));
      return response.ContentLength ?? 0;
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw this.#error(`cannot read ${key}`, error);
    }
  }

  async delete(key: string): Promise<void> {
    const name = this.#name(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: name }));
    } catch (error) {
      if (!isMissingKey(error)) throw this.#error(`cannot delete ${key}`, error);
    }
  }

  /**
   * Objects under the prefix whose names are not valid keys (put there by something else) are left
   * out: the caller could not name them, let alone delete them. The probe folder `.health/` is listed
   * only when asked for by prefix, like a folder store's own folders.
   */
  async listOlderThan(prefix: string, before: number): Promise<string[]> {
    assertBlobPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
      } catch (error) {
        throw this.#error('cannot be listed', error);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.LastModified === undefined || object.LastModified.getTime() >= before) continue;
        const key = object.Key.slice(this.prefix.length);
        if (!isKey(key) || (key.startsWith(`${HEALTH}/`) && !prefix.startsWith(`${HEALTH}/`))) continue;
        keys.push(key);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys.sort();
  }

  async check(): Promise<void> {
    const name = `${this.prefix}${HEALTH}/${randomUUID()}`;
    const probe = `portoon probe ${new Date().toISOString()}`;
    let written = false;
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: name, Body: probe }));
      written = true;
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
      const back = await response.Body?.transformToString();
      if (back !== probe) throw new Error('the probe object read back differs from what was written');
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: name }));
      written = false;
    } catch (error) {
      throw this.#error('cannot be written', error);
    } finally {
      // A probe that was stored but could not be checked is removed if the store allows it.
      if (written) await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: name })).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
    if (this.#ownsScratch) await rm(this.#scratchDir, { recursive: true, force: true });
  }

  /** The object name of a key. */
  #name(key: string): string {
    assertBlobKey(key);
    return `${this.prefix}${key}`;
  }

  #error(what: string, cause: unknown): PortoonError {
    let reason = reasonOf(cause);
    if (this.#secret !== undefined && this.#secret !== '') reason = reason.split(this.#secret).join('***');
    return new PortoonError('E_BLOB_STORE', `The job file store ${this.description} ${what}: ${reason}`, {
      cause,
      details: { store: this.description },
    });
  }
}

function isKey(key: string): boolean {
  try {
    assertBlobKey(key);
    return true;
  } catch {
    return false;
  }
}

/** A missing object (not a missing bucket, which is a broken store). */
function isMissingKey(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  if (error.name === 'NoSuchKey' || error.name === 'NotFound') return true;
  return error.$metadata.httpStatusCode === 404 && error.name !== 'NoSuchBucket';
}

/** What went wrong, in words: the S3 error code and HTTP status, or the network error. */
function reasonOf(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    const message = error.message === '' || error.message === 'UnknownError' ? '' : `: ${error.message}`;
    return `${error.name}${status === undefined ? '' : ` (HTTP ${status})`}${message}`;
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error.message !== '') return error.message;
    // Node reports a refused connection to every address of a host as an AggregateError without a message.
    if (code !== undefined) return code;
    if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0]);
    return error.name;
  }
  return String(error);
}

/** The key's extension when it is a plain one (".png"), so a downloaded file keeps its type. */
function safeExtension(key: string): string {
  const extension = extname(key);
  return /^\.[A-Za-z0-9]{1,16}$/.test(extension) ? extension : '';
}
