/**
 * The blob store contract, run against both stores: a folder (FsBlobStore) and an S3 bucket served
 * by a real S3-compatible HTTP server on loopback (S3BlobStore on s3rver). Then what only one of
 * them does (renames, its own folders, unreachable servers), and the parsing of the user's setting.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';
import type { BlobStore } from '../../src/queue/blob/blob-store.js';
import { FsBlobStore } from '../../src/queue/blob/fs-blob-store.js';
import { assertBlobKey } from '../../src/queue/blob/keys.js';
import { openBlobStore, parseBlobStoreLocation } from '../../src/queue/blob/open-blob-store.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/queue/blob/s3-blob-store.js';
import { TEST_OUTPUT_DIR } from '../helpers/env.js';
import { errorOf } from '../helpers/errors.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

const WORK = join(TEST_OUTPUT_DIR, 'blob-store');
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

interface Harness {
  store: BlobStore;
  /** Where localCopy may download to. */
  scratch: string;
  /** Every file the backend keeps (and the scratch folder's): a refused call must leave it unchanged. */
  snapshot(): string[];
  close(): Promise<void>;
}

interface Backend {
  name: string;
  open(): Promise<Harness>;
}

function filesUnder(...dirs: string[]): string[] {
  return dirs
    .flatMap((dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)) : []))
    .sort();
}

/** A new folder of this run. */
function workDir(name: string): string {
  const dir = join(WORK, `${name}-${randomUUID().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A local file with these bytes, outside any store. */
function sourceFile(bytes: Uint8Array): string {
  const path = join(workDir('source'), 'input.bin');
  writeFileSync(path, bytes);
  return path;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The PortoonError a promise rejects with; fails when it resolves or rejects with something else. */
async function failure(promise: Promise<unknown>): Promise<PortoonError> {
  const outcome = await promise.then(
    (value: unknown) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  expect(outcome).toHaveProperty('rejected');
  const error = (outcome as { rejected: unknown }).rejected;
  expect(error).toBeInstanceOf(PortoonError);
  return error as PortoonError;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function s3Options(server: S3Server, options: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    bucket: server.bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    scratchDir: workDir('s3-scratch'),
    ...options,
  };
}

const fsBackend: Backend = {
  name: 'FsBlobStore in a folder',
  open: async () => {
    const dir = join(workDir('fs'), 'blobs');
    const scratch = workDir('fs-local');
    const store = new FsBlobStore(dir);
    return { store, scratch, snapshot: () => filesUnder(dir, scratch), close: () => store.close() };
  },
};

const s3Backend: Backend = {
  name: 'S3BlobStore on s3rver',
  open: async () => {
    const server = await startS3Server();
    const scratch = workDir('s3-local');
    // Listings stay on one ListObjectsV2 page: s3rver answers 500 to any truncated listing on Node 17+
    // (its continuation tokens use DES, which OpenSSL 3 no longer provides).
    const store = new S3BlobStore(s3Options(server, { prefix: 'jobs/contract' }));
    return {
      store,
      scratch,
      snapshot: () => filesUnder(server.directory, scratch),
      close: async () => {
        await store.close();
        await server.stop();
      },
    };
  },
};

const HOSTILE_KEYS = ['../x', 'a/../../x', '/abs', 'a//b', 'a/./b', '', 'a'.repeat(600), 'a\\b', 'a\0b', 'a/', '.', 'a b', 'é'];

describe.each([fsBackend, s3Backend])('blob store contract: $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await backend.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A key no other test uses. */
  const unique = (name = 'blob'): string => `case-${randomUUID().slice(0, 8)}/${name}`;

  async function read(key: string): Promise<Buffer> {
    const copy = await h.store.localCopy(key, h.scratch);
    expect(copy, `a local copy of ${key}`).toBeDefined();
    try {
      return readFileSync(copy!.path);
    } finally {
      await copy!.release();
    }
  }

  it('stores bytes and gives them back byte for byte, with their size', async () => {
    const key = unique('result.png');
    const bytes = randomBytes(1000);
    expect(await h.store.putBytes(key, bytes)).toBe(1000);
    expect(await read(key)).toEqual(bytes);
    expect(await h.store.size(key)).toBe(1000);
  });

  it('stores an empty blob', async () => {
    const key = unique();
    expect(await h.store.putBytes(key, new Uint8Array(0))).toBe(0);
    expect(await h.store.size(key)).toBe(0);
    expect(await read(key)).toEqual(Buffer.alloc(0));
  });

  it('putFile without move copies the file and leaves it where it was', async () => {
    const key = unique();
    const bytes = randomBytes(3000);
    const file = sourceFile(bytes);
    expect(await h.store.putFile(key, file)).toBe(3000);
    expect(readFileSync(file)).toEqual(bytes);
    expect(await read(key)).toEqual(bytes);
  });

  it('putFile with move takes the file over, from anywhere or from scratchPath', async () => {
    const fromAnywhere = randomBytes(2000);
    const file = sourceFile(fromAnywhere);
    const key = unique('a');
    expect(await h.store.putFile(key, file, { move: true })).toBe(2000);
    expect(existsSync(file)).toBe(false);
    expect(await read(key)).toEqual(fromAnywhere);

    const fromScratch = randomBytes(2500);
    const scratch = h.store.scratchPath('.png');
    expect(scratch.endsWith('.png')).toBe(true);
    writeFileSync(scratch, fromScratch);
    const other = unique('b.png');
    expect(await h.store.putFile(other, scratch, { move: true })).toBe(2500);
    expect(existsSync(scratch)).toBe(false);
    expect(await read(other)).toEqual(fromScratch);
  });

  it('a second put under a key replaces the blob', async () => {
    const key = unique();
    await h.store.putBytes(key, randomBytes(5000));
    const second = randomBytes(700);
    await h.store.putFile(key, sourceFile(second));
    expect(await h.store.size(key)).toBe(700);
    expect(await read(key)).toEqual(second);
  });

  it('delete removes a blob, and deleting a missing key is fine', async () => {
    const key = unique();
    await h.store.putBytes(key, randomBytes(10));
    await h.store.delete(key);
    expect(await h.store.size(key)).toBeUndefined();
    expect(await h.store.localCopy(key, h.scratch)).toBeUndefined();
    await expect(h.store.delete(key)).resolves.toBeUndefined();
    await expect(h.store.delete(unique('never-stored'))).resolves.toBeUndefined();
  });

  it('localCopy and size of a missing key are undefined, and leave no file behind', async () => {
    const before = filesUnder(h.scratch);
    expect(await h.store.localCopy(unique('missing.png'), h.scratch)).toBeUndefined();
    expect(await h.store.size(unique('missing.png'))).toBeUndefined();
    expect(filesUnder(h.scratch)).toEqual(before);
  });

  it('release() removes at most the local copy: the stored blob stays', async () => {
    const key = unique();
    const bytes = randomBytes(100);
    await h.store.putBytes(key, bytes);
    const copy = await h.store.localCopy(key, h.scratch);
    expect(copy).toBeDefined();
    await copy!.release();
    expect(await h.store.size(key)).toBe(100);
    expect(await read(key)).toEqual(bytes);
  });

  it('listOlderThan lists the keys under a prefix written before a time, and nothing else', async () => {
    const base = `list-${randomUUID().slice(0, 8)}`;
    const keys = [`${base}/a/1`, `${base}/a/2`, `${base}/b/3.png`];
    for (const key of [...keys, `${base}x/sibling`, `other-${base}/4`]) await h.store.putBytes(key, randomBytes(8));
    const later = Date.now() + 1000;
    expect(await h.store.listOlderThan(`${base}/`, later)).toEqual(keys);
    expect(await h.store.listOlderThan(`${base}/a/`, later)).toEqual(keys.slice(0, 2));
    expect(await h.store.listOlderThan(`${base}/a`, later)).toEqual(keys.slice(0, 2));
    expect(await h.store.listOlderThan(`${base}/`, Date.now() - 60_000)).toEqual([]);
    expect(await h.store.listOlderThan(`${base}/nothing/`, later)).toEqual([]);
    expect(await h.store.listOlderThan('never-written/', later)).toEqual([]);
    const everything = await h.store.listOlderThan('', later);
    expect(everything).toEqual(expect.arrayContaining([...keys, `${base}x/sibling`, `other-${base}/4`]));
  });

  it("listOlderThan('') lists no file of the store's own (scratch, probes)", async () => {
    writeFileSync(h.store.scratchPath('.tmp'), 'a crashed writer');
    await h.store.check();
    const everything = await h.store.listOlderThan('', Date.now() + 1000);
    expect(everything.filter((key) => key.startsWith('.tmp/') || key.startsWith('.health/'))).toEqual([]);
    expect(await h.store.listOlderThan('.health/', Date.now() + 1000)).toEqual([]);
  });

  it('check() passes', async () => {
    await expect(h.store.check()).resolves.toBeUndefined();
  });

  it('a 5 MB blob round-trips, from a file and from bytes', async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const fromFile = unique('video.mp4');
    expect(await h.store.putFile(fromFile, sourceFile(bytes), { move: true })).toBe(bytes.length);
    expect(await h.store.size(fromFile)).toBe(bytes.length);
    expect(sha256(await read(fromFile))).toBe(sha256(bytes));
    const fromBytes = unique('video.mp4');
    await h.store.putBytes(fromBytes, bytes);
    expect(sha256(await read(fromBytes))).toBe(sha256(bytes));
  });

  it.each(HOSTILE_KEYS.map((key) => [JSON.stringify(key).slice(0, 40), key]))(
    'refuses the key %s and touches nothing',
    async (_name, key) => {
      const file = sourceFile(randomBytes(16));
      const before = h.snapshot();
      const refusals = [
        await failure(h.store.putBytes(key, randomBytes(16))),
        await failure(h.store.putFile(key, file, { move: true })),
        await failure(h.store.localCopy(key, h.scratch)),
        await failure(h.store.size(key)),
        await failure(h.store.delete(key)),
      ];
      expect(refusals.map((e) => e.code)).toEqual(Array(5).fill('E_BAD_OPTION'));
      expect(refusals[0]!.message).toContain(JSON.stringify(key).slice(1, 81));
      // Named in at most 80 characters, printable.
      expect(refusals[0]!.message).not.toContain('a'.repeat(81));
      expect(refusals[0]!.message).not.toContain('\0');
      expect(existsSync(file)).toBe(true);
      expect(h.snapshot()).toEqual(before);
    },
  );

  it.each(['../', '/abs/', 'a//', 'a/../b/'])('refuses the listing prefix %s', async (prefix) => {
    expect((await failure(h.store.listOlderThan(prefix, Date.now()))).code).toBe('E_BAD_OPTION');
  });

  it('refuses a scratch extension that could leave the folder', () => {
    expect(errorOf(() => h.store.scratchPath('/../../x')).code).toBe('E_BAD_OPTION');
  });
});

describe('assertBlobKey', () => {
  it('accepts the keys a queue uses', () => {
    for (const key of ['inputs/0b9e1c2a-4f1e-4c55-9a37-2f0e1d9b8c7a', 'results/x.png', 'a', '.tmp/x', 'a-b_c.d/e', 'a'.repeat(512)]) {
      expect(() => assertBlobKey(key), key).not.toThrow();
    }
  });

  it('names a long key in at most 80 characters', () => {
    const error = errorOf(() => assertBlobKey(`${'k'.repeat(100)}/..`));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toContain(`"${'k'.repeat(80)}…"`);
    expect(error.message).not.toContain('k'.repeat(81));
  });
});

describe('FsBlobStore', () => {
  let dir: string;
  let store: FsBlobStore;
  beforeAll(() => {
    dir = join(workDir('fs-only'), 'shared', 'blobs');
    store = new FsBlobStore(dir);
  });
  afterAll(() => store.close());

  it('describes itself by its absolute folder, and creates it private on first use', async () => {
    expect(store.description).toBe(`fs:${dir}`);
    expect(new FsBlobStore('relative/blobs').description).toBe(`fs:${resolve('relative/blobs')}`);
    expect(existsSync(dir)).toBe(false);
    await store.putBytes('inputs/x', new Uint8Array([1]));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('stores a file from scratchPath with a rename, and localCopy gives the stored file itself', async () => {
    const scratch = store.scratchPath('.png');
    expect(scratch.startsWith(join(dir, '.tmp') + '/')).toBe(true);
    writeFileSync(scratch, 'bytes');
    const inode = statSync(scratch).ino;
    await store.putFile('results/y.png', scratch, { move: true });
    const copy = await store.localCopy('results/y.png', workDir('unused'));
    expect(copy?.path).toBe(join(dir, 'results', 'y.png'));
    expect(statSync(copy!.path).ino).toBe(inode);
    await copy!.release();
    expect(readFileSync(join(dir, 'results', 'y.png'), 'utf8')).toBe('bytes');
  });

  it('lists old files and not new ones by their mtime', async () => {
    await store.putBytes('aged/old', new Uint8Array([1]));
    await store.putBytes('aged/new', new Uint8Array([2]));
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(dir, 'aged', 'old'), twoHoursAgo, twoHoursAgo);
    expect(await store.listOlderThan('aged/', Date.now() - 3_600_000)).toEqual(['aged/old']);
  });

  it("lists and deletes a crashed writer's leftovers in .tmp/, but stores nothing there", async () => {
    const leftover = store.scratchPath();
    writeFileSync(leftover, 'half a video');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(leftover, twoHoursAgo, twoHoursAgo);
    const key = `.tmp/${leftover.slice(leftover.lastIndexOf('/') + 1)}`;
    expect(await store.listOlderThan('.tmp/', Date.now() - 3_600_000)).toEqual([key]);
    expect(await store.listOlderThan('', Date.now() + 1000)).not.toContain(key);
    await store.delete(key);
    expect(existsSync(leftover)).toBe(false);
    for (const reserved of ['.tmp/x', '.health/x']) {
      const error = await failure(store.putBytes(reserved, new Uint8Array([1])));
      expect(error.code).toBe('E_BAD_OPTION');
      expect(error.message).toContain("store's own folder");
    }
  });

  it('check() fails with E_BLOB_STORE naming the store when the folder cannot be made', async () => {
    const file = join(workDir('not-a-folder'), 'file');
    writeFileSync(file, 'a regular file');
    const broken = new FsBlobStore(join(file, 'blobs'));
    const error = await failure(broken.check());
    expect(error.code).toBe('E_BLOB_STORE');
    expect(error.message).toContain(`The job file store fs:${join(file, 'blobs')} cannot be written: `);
    expect((await failure(broken.putBytes('inputs/x', new Uint8Array([1])))).code).toBe('E_BLOB_STORE');
  });

  it('a store without a folder makes a private one and removes it on close', async () => {
    const own = new FsBlobStore();
    await own.putBytes('inputs/x', new Uint8Array([1]));
    const folder = own.description.slice('fs:'.length);
    expect(existsSync(join(folder, 'inputs', 'x'))).toBe(true);
    await own.close();
    expect(existsSync(folder)).toBe(false);
  });
});

describe('S3BlobStore', () => {
  let server: S3Server;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('describes itself by bucket, prefix and endpoint', async () => {
    const store = new S3BlobStore(s3Options(server, { prefix: 'portoon/jobs' }));
    expect(store.description).toBe(`s3://${server.bucket}/portoon/jobs/ at ${server.endpoint}`);
    await store.close();
    const aws = new S3BlobStore({ bucket: 'my-bucket', region: 'eu-west-1' });
    expect(aws.description).toBe('s3://my-bucket/');
    await aws.close();
  });

  it('keeps keys under its prefix and lists them relative to it', async () => {
    const store = new S3BlobStore(s3Options(server, { prefix: 'tenant-a' }));
    const neighbour = new S3BlobStore(s3Options(server, { prefix: 'tenant-b' }));
    const whole = new S3BlobStore(s3Options(server));
    await store.putBytes('inputs/1', new Uint8Array([1]));
    const later = Date.now() + 1000;
    expect(await store.listOlderThan('inputs/', later)).toEqual(['inputs/1']);
    expect(await neighbour.listOlderThan('', later)).toEqual([]);
    expect(await neighbour.size('inputs/1')).toBeUndefined();
    expect(await whole.listOlderThan('tenant-a/', later)).toEqual(['tenant-a/inputs/1']);
    await Promise.all([store.close(), neighbour.close(), whole.close()]);
  });

  it('downloads into the given folder, and release() removes the download', async () => {
    const store = new S3BlobStore(s3Options(server));
    await store.putBytes('results/z.png', new Uint8Array([1, 2, 3]));
    const into = workDir('downloads');
    const copy = await store.localCopy('results/z.png', into);
    expect(copy?.path.startsWith(into + '/')).toBe(true);
    expect(copy?.path.endsWith('.png')).toBe(true);
    expect(readdirSync(into)).toHaveLength(1);
    await copy!.release();
    expect(readdirSync(into)).toEqual([]);
    await store.close();
  });

  it('a store with its own scratch folder removes it on close', async () => {
    const options = s3Options(server);
    delete options.scratchDir;
    const store = new S3BlobStore(options);
    const scratch = store.scratchPath();
    expect(existsSync(join(scratch, '..'))).toBe(true);
    await store.close();
    expect(existsSync(join(scratch, '..'))).toBe(false);
  });

  it('check() fails with E_BLOB_STORE naming the store when nothing listens at the endpoint', async () => {
    const secret = `never-shown-${randomUUID()}`;
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const store = new S3BlobStore(s3Options(server, { endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: secret } }));
    const error = await failure(store.check());
    expect(error.code).toBe('E_BLOB_STORE');
    expect(error.message).toContain(`The job file store s3://${server.bucket}/ at ${endpoint} cannot be written: `);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain(secret);
    expect(error.cause).toBeDefined();
    await store.close();
  });

  it('check() fails with E_BLOB_STORE when the bucket does not exist', async () => {
    const store = new S3BlobStore(s3Options(server, { bucket: 'no-such-bucket' }));
    const error = await failure(store.check());
    expect(error.code).toBe('E_BLOB_STORE');
    expect(error.message).toContain(`s3://no-such-bucket/ at ${server.endpoint} cannot be written: NoSuchBucket`);
    expect(error.message).not.toContain(server.secretAccessKey);
    // Reading from it is a broken store too, not a missing key.
    expect((await failure(store.localCopy('inputs/x', workDir('unused')))).code).toBe('E_BLOB_STORE');
    await store.close();
  });

  it('check() fails with E_BLOB_STORE, without the secret, when the credentials are unknown', async () => {
    const secret = `wrong-${randomUUID()}`;
    const store = new S3BlobStore(s3Options(server, { credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: secret } }));
    const error = await failure(store.check());
    expect(error.code).toBe('E_BLOB_STORE');
    expect(error.message).toContain('InvalidAccessKeyId (HTTP 403)');
    expect(error.message).not.toContain(secret);
    await store.close();
  });

  it('an s3: setting opens a store that works, with credentials from the environment', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', server.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', server.secretAccessKey);
    try {
      const store = openBlobStore(`s3://${server.bucket}/opened?endpoint=${server.endpoint}`, { scratchDir: workDir('opened') });
      expect(store).toBeInstanceOf(S3BlobStore);
      await store.check();
      await store.putBytes('x', new Uint8Array([7]));
      expect(await store.size('x')).toBe(1);
      await store.close();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('openBlobStore', () => {
  const FORMS = 'Use a folder path';

  it('opens a folder from a path or a file: URL', async () => {
    const absolute = openBlobStore('/srv/portoon/blobs');
    expect(absolute).toBeInstanceOf(FsBlobStore);
    expect(absolute.description).toBe('fs:/srv/portoon/blobs');
    expect(openBlobStore('blobs/here').description).toBe(`fs:${resolve('blobs/here')}`);
    expect(openBlobStore('./blobs').description).toBe(`fs:${resolve('blobs')}`);
    expect(openBlobStore('file:///srv/portoon/blobs').description).toBe('fs:/srv/portoon/blobs');
    expect(openBlobStore('file://localhost/srv/x').description).toBe('fs:/srv/x');
  });

  it('parses s3: URLs with their defaults', () => {
    vi.stubEnv('AWS_REGION', '');
    try {
      expect(parseBlobStoreLocation('s3://bucket')).toEqual({
        kind: 's3',
        options: { bucket: 'bucket', region: 'us-east-1', forcePathStyle: false },
      });
      expect(parseBlobStoreLocation('s3://my.bucket/portoon/jobs/')).toEqual({
        kind: 's3',
        options: { bucket: 'my.bucket', prefix: 'portoon/jobs/', region: 'us-east-1', forcePathStyle: false },
      });
      expect(parseBlobStoreLocation('s3://b-1/p?endpoint=http://127.0.0.1:9000&region=eu-west-3')).toEqual({
        kind: 's3',
        options: { bucket: 'b-1', prefix: 'p', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', forcePathStyle: true },
      });
      expect(parseBlobStoreLocation('s3://b-1?endpoint=https://minio.example:9000&pathStyle=false')).toEqual({
        kind: 's3',
        options: { bucket: 'b-1', endpoint: 'https://minio.example:9000', region: 'us-east-1', forcePathStyle: false },
      });
      vi.stubEnv('AWS_REGION', 'ap-south-1');
      expect(parseBlobStoreLocation('s3://bucket')).toEqual({
        kind: 's3',
        options: { bucket: 'bucket', region: 'ap-south-1', forcePathStyle: false },
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('opens an S3 store described by its URL', async () => {
    const store = openBlobStore('s3://bucket/jobs?endpoint=http://127.0.0.1:9000', { scratchDir: workDir('unused') });
    expect(store).toBeInstanceOf(S3BlobStore);
    expect(store.description).toBe('s3://bucket/jobs/ at http://127.0.0.1:9000');
    await store.close();
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['http URL', 'http://example.com/blobs'],
    ['unknown scheme', 'ftp://example.com/blobs'],
    ['s3 without bucket', 's3://'],
    ['s3 with only a path', 's3:///prefix'],
    ['s3 without slashes', 's3:bucket'],
    ['bucket name too short', 's3://ab'],
    ['bucket with a port', 's3://bucket:9000/x'],
    ['climbing prefix', 's3://bucket/a/../b'],
    ['empty prefix segment', 's3://bucket/a//b'],
    ['prefix with a space', 's3://bucket/a%20b'],
    ['unknown parameter', 's3://bucket?foo=1'],
    ['repeated parameter', 's3://bucket?region=us-east-1&region=eu-west-1'],
    ['endpoint not a URL', 's3://bucket?endpoint=not-a-url'],
    ['endpoint not http', 's3://bucket?endpoint=ftp://127.0.0.1:9000'],
    ['endpoint with a query', 's3://bucket?endpoint=http://127.0.0.1:9000/%3Fa=1'],
    ['bad region', 's3://bucket?region=Not%20A%20Region'],
    ['bad pathStyle', 's3://bucket?pathStyle=yes'],
    ['fragment', 's3://bucket#x'],
    ['file URL on another host', 'file://example.com/srv/blobs'],
    ['file URL with a query', 'file:///srv/blobs?x=1'],
    ['NUL', '/srv/blobs\0x'],
  ])('refuses %s', (_name, location) => {
    const error = errorOf(() => openBlobStore(location));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toContain(FORMS);
  });

  it('refuses credentials in the URL, pointing to the environment, without echoing them', () => {
    for (const location of [
      's3://AKIAEXAMPLE:TopSecret123@bucket/prefix',
      's3://bucket?endpoint=http://AKIAEXAMPLE:TopSecret123@127.0.0.1:9000',
    ]) {
      const error = errorOf(() => openBlobStore(location));
      expect(error.code).toBe('E_BAD_OPTION');
      expect(error.message).toContain('AWS_ACCESS_KEY_ID');
      expect(error.message).toContain('AWS_SECRET_ACCESS_KEY');
      expect(error.message).not.toContain('TopSecret123');
    }
  });
});
