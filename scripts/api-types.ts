/**
 * `npm run docs:api-types`: writes test/api-client/portoon-api.d.ts, the API's TypeScript types
 * generated from the OpenAPI document the service serves (with API keys configured, so the document
 * is complete). Run it after changing a route's schema; test/server/api-client.test.ts fails while
 * the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveServerConfig } from '../src/server/config.js';
import { createService } from '../src/server/service.js';
import { apiTypesText } from './api-types-text.js';

const target = fileURLToPath(new URL('../test/api-client/portoon-api.d.ts', import.meta.url));
const service = await createService(resolveServerConfig({ apiKeys: 'any', logLevel: 'silent' }, {}));
try {
  const response = await service.app.inject('/openapi.json');
  writeFileSync(target, await apiTypesText(response.json(), target));
  console.log(`wrote ${target}`);
} finally {
  await service.close();
}
