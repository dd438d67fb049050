/**
 * `npm run docs:schema`: writes catalogue/manifest.schema.json, the JSON schema of manifest files,
 * from the zod schema in src/core/models/manifest.ts. Run it after changing that schema;
 * test/manifest.test.ts fails while the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { manifestSchemaText } from './manifest-schema-text.js';

const target = fileURLToPath(new URL('../catalogue/manifest.schema.json', import.meta.url));
writeFileSync(target, await manifestSchemaText(target));
console.log(`wrote ${target}`);
