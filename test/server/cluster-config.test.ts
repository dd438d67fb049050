/** The settings of a cluster: `serve --queue …` and `portoon worker`, from flags and environment variables. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';
import { loadCatalogue } from '../../src/node/load-catalogue.js';
import { ClusterCatalogue } from '../../src/node/cluster-catalogue.js';
import { parseCartoonizeRequest } from '../../src/core/request.js';
import { resolveServerConfig, resolveWorkerConfig } from '../../src/server/config.js';
import { TEST_OUTPUT_DIR } from '../helpers/env.js';

function refusal(run: () => unknown): PortoonError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PortoonError);
  return caught as PortoonError;
}

describe('serve --queue', () => {
  it('runs jobs in its own process by default: no queue, no blob store', () => {
    const config = resolveServerConfig({}, {});
    expect([config.queue, config.blobStore, config.queueName]).toEqual([undefined, undefined, 'jobs']);
  });

  it('takes a redis:// or rediss:// URL from the flag or PORTOON_QUEUE, with a database number', () => {
    expect(resolveServerConfig({ queue: 'redis://10.0.0.7:6379/2' }, {}).queue).toBe('redis://10.0.0.7:6379/2');
    expect(resolveServerConfig({}, { PORTOON_QUEUE: 'rediss://cache.example.com:6380' }).queue).toBe('rediss://cache.example.com:6380');
  });

  it.each(['http://10.0.0.7:6379', 'redis://', 'redis://host:6379/abc', 'redis://host:6379/0?x=1', '10.0.0.7:6379', 'not a url'])(
    'refuses %s with E_BAD_OPTION naming --queue',
    (value) => {
      const error = refusal(() => resolveServerConfig({ queue: value }, {}));
      expect(error.code).toBe('E_BAD_OPTION');
      expect(error.message).toMatch(/^--queue: expected a Redis URL/);
    },
  );

  it('never repeats a password it refuses', () => {
    const error = refusal(() => resolveServerConfig({}, { PORTOON_QUEUE: 'redis://user:s3cret@host:6379/abc' }));
    expect(error.message).toMatch(/^PORTOON_QUEUE: /);
    expect(error.message).not.toContain('s3cret');
  });

  it('keeps job files in --blob-store, else in --jobs-dir, else in a folder every process on the machine finds', () => {
    const queue = 'redis://127.0.0.1:6379';
    expect(resolveServerConfig({ queue, blobStore: 's3://bucket/jobs?endpoint=http://127.0.0.1:9000' }, {}).blobStore).toBe(
      's3://bucket/jobs?endpoint=http://127.0.0.1:9000',
    );
    expect(resolveServerConfig({ queue, jobsDir: '/srv/portoon' }, {}).blobStore).toBe('/srv/portoon');
    expect(resolveServerConfig({ queue, queueName: 'toons' }, {}).blobStore).toBe(join(tmpdir(), 'portoon-toons'));
  });

  it.each(['', 'a b', '../up', 'x'.repeat(65), 'name:with:colons'])('refuses the queue name %j', (name) => {
    const error = refusal(() => resolveServerConfig({ queue: 'redis://127.0.0.1:6379', queueName: name }, {}));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toMatch(/^--queue-name: expected a name/);
  });
});

describe('portoon worker settings', () => {
  it('needs --queue, and says so', () => {
    const error = refusal(() => resolveWorkerConfig({}, {}));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toContain('--queue redis://');
  });

  it('has defaults for its own settings, and reads every one from its environment variable', () => {
    const defaults = resolveWorkerConfig({ queue: 'redis://127.0.0.1:6379' }, {});
    expect(defaults).toMatchObject({
      metricsPort: 9464,
      lockDurationMs: 30_000,
      maxStalls: 3,
      workers: 1,
      queueName: 'jobs',
      host: '127.0.0.1',
    });
    const fromEnv = resolveWorkerConfig(
      {},
      {
        PORTOON_QUEUE: 'redis://127.0.0.1:6379/1',
        PORTOON_METRICS_PORT: '0',
        PORTOON_LOCK_DURATION: '5',
        PORTOON_MAX_STALLS: '10',
        PORTOON_WORKERS: '2',
        PORTOON_BLOB_STORE: '/mnt/jobs',
      },
    );
    expect(fromEnv).toMatchObject({ metricsPort: 0, lockDurationMs: 5000, maxStalls: 10, workers: 2, blobStore: '/mnt/jobs' });
  });

  it.each([
    [{ lockDuration: '0' }, '--lock-duration'],
    [{ maxStalls: '-1' }, '--max-stalls'],
    [{ metricsPort: '70000' }, '--metrics-port'],
  ])('refuses %j naming the flag', (flags, flag) => {
    const error = refusal(() => resolveWorkerConfig({ queue: 'redis://127.0.0.1:6379', ...flags }, {}));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message.startsWith(`${flag}: expected`)).toBe(true);
  });
});

describe('what an API node checks requests against', () => {
  const catalogue = (): ClusterCatalogue =>
    new ClusterCatalogue(
      loadCatalogue(join(TEST_OUTPUT_DIR, 'cluster-catalogue-empty')),
      join(TEST_OUTPUT_DIR, 'cluster-catalogue-empty'),
      1000,
    );

  it('accepts any catalogued style while no worker has announced itself (the job waits for one)', () => {
    expect(() => catalogue().check(parseCartoonizeRequest({ style: 'anime' }))).not.toThrow();
    expect(refusal(() => catalogue().check(parseCartoonizeRequest({ style: 'no-such-style' }))).code).toBe('E_UNKNOWN_STYLE');
  });

  it('refuses with E_MODEL_MISSING a style no live worker can run, and reports styles as installed where some worker can', () => {
    const gate = catalogue();
    const cartoonModels = gate.styles().find((style) => style.id === 'cartoon')!.models;
    gate.update([{ models: cartoonModels }]);
    expect(() => gate.check(parseCartoonizeRequest({ style: 'cartoon' }))).not.toThrow();
    const missing = refusal(() => gate.check(parseCartoonizeRequest({ style: 'anime' })));
    expect(missing.code).toBe('E_MODEL_MISSING');
    expect(missing.message).toContain('portoon models pull anime');
    const installed = Object.fromEntries(gate.styles().map((style) => [style.id, style.installed]));
    expect(installed).toMatchObject({ cartoon: true, anime: false });
    expect(gate.workers).toBe(1);
  });

  it('refuses a photo with more pixels than the limit from its header alone', async () => {
    const sharp = (await import('sharp')).default;
    const big = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    await expect(catalogue().probe(big)).rejects.toMatchObject({ code: 'E_IMAGE_TOO_LARGE' });
  });
});
