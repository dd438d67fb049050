import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { errorsDocument, errorTableMarkdown } from '../src/core/error-docs.js';
import { ERROR_TABLE, PortoonError, reviveError } from '../src/core/errors.js';
import { resolveServerConfig } from '../src/server/config.js';
import { createService } from '../src/server/service.js';
import { REPO_ROOT, TEST_OUTPUT_DIR } from './helpers/env.js';

const DOC_PATH = join(REPO_ROOT, 'docs/errors.md');

/** Whether `prettier --check` (with the repository's settings) accepts this text as docs/errors.md. */
async function prettierClean(markdown: string): Promise<boolean> {
  const options = await prettier.resolveConfig(DOC_PATH);
  return prettier.check(markdown, { ...options, filepath: DOC_PATH });
}

describe('error table', () => {
  it('docs/errors.md is what `npm run docs:errors` generates from the table (run it after changing ERROR_TABLE)', () => {
    // One comparison of the whole text: a stale file fails here with a diff of exactly what changed.
    expect(readFileSync(DOC_PATH, 'utf8')).toBe(errorsDocument());
  });

  it('the generated document passes prettier --check as written, also with codes added to the table', async () => {
    expect(await prettierClean(errorsDocument())).toBe(true);
    // A longer code, a longer meaning and a pipe in it: the columns are re-padded and the pipe escaped.
    const grown = {
      ...ERROR_TABLE,
      E_SOMETHING_MUCH_LONGER_THAN_BEFORE: {
        status: 507,
        exit: 1,
        summary: 'A | in the meaning, and a meaning longer than every other.',
        retry: false,
      },
    } as const;
    const doc = errorsDocument(grown);
    expect(await prettierClean(doc)).toBe(true);
    expect(doc).toContain('| `E_SOMETHING_MUCH_LONGER_THAN_BEFORE` | 507         | 1        | no          | A \\| in the meaning');
    expect(errorTableMarkdown(grown).split('\n')).toHaveLength(Object.keys(grown).length + 2);
  });

  it('docs/errors.md lists exactly the codes of the table, with the same status, exit code, retry and meaning', () => {
    const doc = readFileSync(DOC_PATH, 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`(E_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(\d)\s*\|\s*(yes|no)\s*\|\s*(.+?)\s*\|$/gm)].map((m) => ({
      code: m[1]!,
      status: Number(m[2]),
      exit: Number(m[3]),
      retry: m[4] === 'yes',
      summary: m[5]!,
    }));
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_TABLE).sort());
    for (const row of rows) {
      const entry = ERROR_TABLE[row.code as keyof typeof ERROR_TABLE];
      expect({ status: row.status, exit: row.exit, retry: row.retry, summary: row.summary }).toEqual({
        status: entry.status,
        exit: entry.exit,
        retry: entry.retry,
        summary: entry.summary,
      });
    }
  });

  it('the OpenAPI document the service serves lists every code with its HTTP status and meaning', async () => {
    // A service with no models: the document does not depend on them, and nothing is loaded.
    const modelsDir = join(TEST_OUTPUT_DIR, 'errors-doc-no-models');
    mkdirSync(modelsDir, { recursive: true });
    const service = await createService(resolveServerConfig({ modelsDir, styles: 'cel', logLevel: 'silent' }, {}));
    try {
      const response = await service.app.inject('/openapi.json');
      expect(response.statusCode).toBe(200);
      const doc = response.json<{ components: { schemas: Record<string, { properties: Record<string, unknown> }> } }>();
      const error = doc.components.schemas.PortoonError!.properties.error as {
        properties: { code: { enum: string[]; description: string } };
      };
      const { code } = error.properties;
      expect(code.enum).toEqual(Object.keys(ERROR_TABLE));
      const lines = code.description.split('\n');
      for (const [name, entry] of Object.entries(ERROR_TABLE)) {
        const line = lines.find((l) => l.startsWith(`- \`${name}\`:`));
        expect(line, name).toContain(`HTTP ${entry.status}`);
        expect(line, name).toContain(entry.summary);
      }
      // Service users cannot open files in the repository: nothing they are served points there.
      expect(response.body).not.toContain('errors.md');
      const ui = await service.app.inject('/docs/json');
      expect(ui.statusCode).toBe(200);
      expect(ui.body).not.toContain('errors.md');
      expect(ui.body).toContain(`HTTP ${ERROR_TABLE.E_QUEUE_FULL.status}. ${ERROR_TABLE.E_QUEUE_FULL.summary}`);
    } finally {
      await service.close();
    }
  });

  it('errors survive serialization across threads with their code', () => {
    const original = new PortoonError('E_DECODE_FAILED', 'broken', { details: { path: '/x' } });
    const revived = reviveError(structuredClone(original.toJSON()));
    expect(revived).toBeInstanceOf(PortoonError);
    expect(revived.code).toBe('E_DECODE_FAILED');
    expect(revived.details).toEqual({ path: '/x' });
    expect(reviveError(new Error('boom')).code).toBe('E_INTERNAL');
    expect(reviveError({ code: 'E_NOT_A_CODE', message: 'x' }).code).toBe('E_INTERNAL');
  });
});
