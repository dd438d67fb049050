/**
 * Reads the built-in catalogue shipped with the package and the user's own `*.portoon.json`
 * manifests from the models folder, and merges them into one Catalogue.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Catalogue, type ManifestSource } from '../core/models/catalogue.js';
import { parseManifestText } from '../core/models/manifest.js';
import { PortoonError } from '../core/errors.js';

/** `catalogue/` at the package root (two levels up from both src/node and dist/node). */
export const BUILTIN_CATALOGUE_DIR = fileURLToPath(new URL('../../catalogue/', import.meta.url));
export const USER_MANIFEST_SUFFIX = '.portoon.json';

function readManifest(path: string): ManifestSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PortoonError('E_BAD_MANIFEST', `${path}: cannot be read (${(error as Error).message})`, {
      cause: error,
      details: { file: path },
    });
  }
  return { source: path, manifest: parseManifestText(text, path) };
}

/**
 * Reads the catalogue: the built-in models and styles (`catalogue/models.json` and
 * `catalogue/styles.json` in the package), plus every `*.portoon.json` manifest directly in
 * `modelsDir` (not in subfolders), read in file-name order. A manifest adds models and styles; it
 * cannot redefine an id that already exists. Reads files only: whether the models are installed is
 * the `ModelStore`'s business.
 * @param modelsDir the user's models folder. Default: none, only the built-in catalogue is read (pass
 *   `defaultModelsDir()` to include the user's manifests as `Portoon.create` does). A folder that does
 *   not exist adds nothing.
 * @throws PortoonError E_BAD_MANIFEST naming the file and field of the first problem: a file that
 *   cannot be read or is not valid JSON, a field with a wrong value, an id defined twice, a style
 *   naming a model no manifest defines, or procedural parameters the filter does not take.
 * @example
 * import { defaultModelsDir, loadCatalogue } from 'portoon';
 *
 * const catalogue = loadCatalogue(defaultModelsDir());
 * console.log(catalogue.styles.map((style) => style.id)); // ['anime', 'cartoon', 'sketch', …]
 */
export function loadCatalogue(modelsDir?: string): Catalogue {
  const sources = ['models.json', 'styles.json'].map((name) => readManifest(join(BUILTIN_CATALOGUE_DIR, name)));
  if (modelsDir !== undefined && existsSync(modelsDir)) {
    const userFiles = readdirSync(modelsDir)
      .filter((name) => name.endsWith(USER_MANIFEST_SUFFIX))
      .sort();
    for (const name of userFiles) sources.push(readManifest(join(modelsDir, name)));
  }
  return new Catalogue(sources);
}
