/**
 * The served OpenAPI document passes a standard linter (Redocly CLI with its recommended rules, as
 * set in redocly.yaml) with no error and no warning, on a service without keys and on one with keys,
 * a rate limit and a public URL. And it says where the service is: the configured public URL, else
 * the address the request came to.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { REPO_ROOT, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';

const REDOCLY = join(REPO_ROOT, 'node_modules/@redocly/cli/bin/cli.js');
const OUT = join(TEST_OUTPUT_DIR, 'openapi');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: string; message: string }>;
}

/** Runs the linter on a document with the repository's settings. */
function lint(document: unknown, name: string): LintReport {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.json`);
  writeFileSync(file, JSON.stringify(document, null, 2));
  const run = spawnSync(process.execPath, [REDOCLY, 'lint', file, '--config', join(REPO_ROOT, 'redocly.yaml'), '--format=json'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  expect(run.error).toBeUndefined();
  return JSON.parse(run.stdout) as LintReport;
}

let service: Service | undefined;

afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** The document a client fetching /openapi.json from 127.0.0.1:8080 gets. */
async function served(settings: RawSettings): Promise<Record<string, unknown>> {
  service = await createService(resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cel', logLevel: 'silent', ...settings }, {}));
  const response = await service.app.inject({ url: '/openapi.json', headers: { host: '127.0.0.1:8080' } });
  expect(response.statusCode).toBe(200);
  return response.json<Record<string, unknown>>();
}

describe('the OpenAPI document and a standard linter', () => {
  it('an open service: no error, no warning; the server is the address the request came to', async () => {
    const document = await served({ rateLimit: '0' });
    const report = lint(document, 'open');
    expect([report.totals, report.problems]).toEqual([{ errors: 0, warnings: 0, ignored: 0 }, []]);
    expect(document.servers).toEqual([{ url: 'http://127.0.0.1:8080', description: 'This service' }]);
  }, 60_000);

  it('a service with keys, a rate limit and a public URL: no error, no warning; the server is the public URL', async () => {
    const document = await served({ apiKeys: 'k1,k2', rateLimit: '30', publicUrl: 'https://toon.portoon.test/api-gateway/' });
    const report = lint(document, 'keys');
    expect([report.totals, report.problems]).toEqual([{ errors: 0, warnings: 0, ignored: 0 }, []]);
    expect(document.servers).toEqual([{ url: 'https://toon.portoon.test/api-gateway', description: 'This service' }]);
  }, 60_000);

  it('the linter does find what the document used to lack (no servers, operations without ids or security)', async () => {
    const document = await served({});
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    const stripped = {
      ...document,
      servers: [],
      paths: Object.fromEntries(
        Object.entries(paths).map(([path, methods]) => [
          path,
          Object.fromEntries(Object.entries(methods).map(([method, { operationId: _id, security: _security, ...rest }]) => [method, rest])),
        ]),
      ),
    };
    const report = lint(stripped, 'stripped');
    const rules = new Set(report.problems.map((problem) => problem.ruleId));
    expect([...rules].sort()).toEqual(['no-empty-servers', 'operation-operationId', 'security-defined']);
    expect(report.totals.errors).toBeGreaterThanOrEqual(12);
  }, 60_000);
});
