/** The text of catalogue/manifest.schema.json, formatted as the repository formats JSON. */
import * as prettier from 'prettier';
import { manifestJsonSchema } from '../src/core/models/manifest.js';

export async function manifestSchemaText(path: string): Promise<string> {
  const options = await prettier.resolveConfig(path);
  return prettier.format(JSON.stringify(manifestJsonSchema()), { ...options, filepath: path });
}
