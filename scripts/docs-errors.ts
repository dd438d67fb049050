/**
 * `npm run docs:errors`: writes docs/errors.md from ERROR_TABLE in src/core/errors.ts. Run it after
 * changing the table; test/errors-doc.test.ts fails while the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorsDocument } from '../src/core/error-docs.js';

const target = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
writeFileSync(target, errorsDocument());
console.log(`wrote ${target}`);
