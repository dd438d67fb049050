/** A `--jobs-dir` reused after a crash: what the dead process left there is removed at start-up. */
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { TEST_OUTPUT_DIR } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';

describe('the jobs folder of a single-process service', () => {
  const root = join(TEST_OUTPUT_DIR, `jobs-dir-${process.pid}`);
  let service: Service | undefined;
  afterAll(async () => {
    await service?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('removes files an earlier run left behind once no job could need them, and keeps recent ones', async () => {
    const jobsDir = join(root, 'jobs');
    const modelsDir = join(root, 'no-models');
    mkdirSync(jobsDir, { recursive: true });
    mkdirSync(modelsDir, { recursive: true });
    const old = join(jobsDir, 'left-by-a-crash');
    const recent = join(jobsDir, 'recent-upload');
    writeFileSync(old, 'x');
    writeFileSync(recent, 'y');
    // Older than the job TTL plus the video timeout plus the shutdown grace (60 + 60 + 0 s here).
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const config = resolveServerConfig(
      { jobsDir, modelsDir, styles: 'cel', jobTtl: '60', videoTimeout: '60', shutdownGrace: '0', logLevel: 'silent' },
      {},
    );
    service = await createService(config);
    await waitFor(
      'the leftover to be removed',
      () => existsSync(old),
      (exists) => !exists,
      { timeoutMs: 10_000 },
    );
    expect(existsSync(recent)).toBe(true);
  });
});
