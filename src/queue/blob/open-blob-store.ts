/**
 * The blob store a user's setting names (e.g. `--blob-store` or PORTOON_BLOB_STORE): a folder path,
 * a `file://` URL, or an `s3://` URL. One parser, so every entry point accepts the same forms and
 * refuses the others with the same message. Credentials are never read from the setting: a URL ends
 * up in logs, process lists and health reports; keys belong in the environment.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortoonError } from '../../core/errors.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';
import { assertBlobPrefix, shown } from './keys.js';
import { assertBucketName, parseEndpoint, redacted, S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js';

const FORMS =
  'Use a folder path (/srv/portoon/blobs or ./blobs), file:///srv/portoon/blobs, or ' +
  's3://bucket/optional/prefix with optional ?endpoint=http://127.0.0.1:9000&region=us-east-1&pathStyle=true.';

const S3_PARAMETERS = new Set(['endpoint', 'region', 'pathStyle']);
const REGION = /^[a-z0-9-]{1,64}$/;

export interface OpenBlobStoreOptions {
  /** Local folder for an S3 store's scratch files; default a private temporary folder. */
  scratchDir?: string;
}

/** What a setting names, before anything is opened. */
export type BlobStoreLocation = { kind: 'fs'; dir: string } | { kind: 's3'; options: S3BlobStoreOptions };

/**
 * @param location the setting: a folder path (absolute, or relative to the working folder),
 *   `file:///abs/path`, or `s3://bucket/optional/prefix?endpoint=…&region=…&pathStyle=true|false`.
 * @throws PortoonError E_BAD_OPTION naming the setting (credentials masked) and the accepted forms.
 */
export function openBlobStore(location: string, options: OpenBlobStoreOptions = {}): BlobStore {
  const parsed = parseBlobStoreLocation(location);
  if (parsed.kind === 'fs') return new FsBlobStore(parsed.dir);
  return new S3BlobStore(options.scratchDir === undefined ? parsed.options : { ...parsed.options, scratchDir: options.scratchDir });
}

/**
 * Parses a setting without touching any store. An s3: URL gets its defaults filled in: region from
 * AWS_REGION, else us-east-1; path-style requests when an endpoint is given (self-hosted servers
 * rarely have a DNS name per bucket), virtual-host style for AWS itself.
 * @throws PortoonError E_BAD_OPTION as openBlobStore.
 */
export function parseBlobStoreLocation(location: string): BlobStoreLocation {
  const bad = (why: string): PortoonError =>
    new PortoonError('E_BAD_OPTION', `Invalid job file store "${shown(redacted(String(location)), 200)}": ${why}. ${FORMS}`, {
      details: { store: shown(redacted(String(location)), 200) },
    });
  if (typeof location !== 'string' || location.trim() === '') throw bad('it is empty');
  if (location.includes('\0')) throw bad('it contains a NUL character');

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(location)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive (C:\blobs), i.e. a path.
  if (scheme === undefined || scheme.length === 1) return { kind: 'fs', dir: resolve(location) };
  if (scheme === 'file') return { kind: 'fs', dir: fileFolder(location, bad) };
  if (scheme === 's3') return { kind: 's3', options: s3Options(location, bad) };
  throw bad(`"${shown(scheme)}:" is not a supported kind of store`);
}

function fileFolder(location: string, bad: (why: string) => PortoonError): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw bad('it is not a valid file: URL');
  }
  if (url.search !== '' || url.hash !== '') throw bad('a file: URL cannot have a query or fragment');
  let folder: string;
  try {
    folder = fileURLToPath(url);
  } catch (error) {
    throw bad(`it is not a local file: URL (${(error as Error).message.replace(/\.$/, '')})`);
  }
  if (!isAbsolute(folder)) throw bad('a file: URL needs an absolute path');
  return folder;
}

function s3Options(location: string, bad: (why: string) => PortoonError): S3BlobStoreOptions {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw bad('it is not a valid s3: URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw bad('credentials are never taken from the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment instead');
  }
  if (!/^s3:\/\//i.test(location) || url.hostname === '') throw bad('it names no bucket (s3://bucket/…)');
  if (url.port !== '') throw bad('an s3: URL has no port; give the server as ?endpoint=http://host:port');
  if (url.hash !== '') throw bad('an s3: URL cannot have a fragment');

  // The prefix as written: URL parsing would quietly drop a "../" that the key rules refuse.
  const rest = location.slice('s3://'.length).split(/[?#]/, 1)[0]!;
  const slash = rest.indexOf('/');
  let prefix = slash === -1 ? '' : rest.slice(slash + 1);
  try {
    prefix = decodeURIComponent(prefix);
  } catch {
    throw bad('its path has an invalid %-escape');
  }
  const bucket = url.hostname;
  try {
    assertBucketName(bucket);
    assertBlobPrefix(prefix);
  } catch (error) {
    throw bad((error as Error).message.replace(/\.$/, ''));
  }

  const result: S3BlobStoreOptions = { bucket };
  if (prefix !== '') result.prefix = prefix;
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    if (!S3_PARAMETERS.has(name)) throw bad(`"${shown(name)}" is not a parameter of an s3: URL (only endpoint, region, pathStyle)`);
    if (seen.has(name)) throw bad(`the parameter "${name}" is given twice`);
    seen.add(name);
    if (name === 'endpoint') {
      try {
        parseEndpoint(value);
      } catch (error) {
        throw bad((error as Error).message.replace(/\.$/, ''));
      }
      result.endpoint = value;
    } else if (name === 'region') {
      if (!REGION.test(value)) throw bad(`"${shown(value)}" is not a region name such as us-east-1`);
      result.region = value;
    } else {
      if (value !== 'true' && value !== 'false') throw bad('pathStyle is true or false');
      result.forcePathStyle = value === 'true';
    }
  }
  result.region ??= process.env.AWS_REGION || 'us-east-1';
  result.forcePathStyle ??= result.endpoint !== undefined;
  return result;
}
