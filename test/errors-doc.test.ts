import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, PortoonError, reviveError } from '../src/core/errors.js';
import { REPO_ROOT } from './helpers/env.js';

describe('error table', () => {
  it('docs/errors.md lists exactly the codes of the table, with the same status, exit code and meaning', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');
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
