/** `portoon styles`: what styles exist, whether they are ready, and under which licences. */
import { loadCatalogue } from '../node/load-catalogue.js';
import { defaultModelsDir, installHint, ModelStore } from '../node/model-store.js';
import { describeStyles } from '../core/style-info.js';

export function runStyles(options: { json?: boolean; modelsDir?: string }): number {
  const dir = options.modelsDir ?? defaultModelsDir();
  const catalogue = loadCatalogue(dir);
  const store = new ModelStore(catalogue, dir);
  const styles = describeStyles(catalogue, (id) => store.isInstalled(id));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(styles)}\n`);
    return 0;
  }
  const width = Math.max(...styles.map((s) => s.id.length));
  for (const s of styles) {
    const state = s.installed ? 'ready  ' : 'missing';
    const licence = s.models.length === 0 ? 'no model needed' : `${s.commercialUse ? '' : 'NON-COMMERCIAL: '}${s.licenses.join('; ')}`;
    process.stdout.write(
      `${s.id.padEnd(width)}  ${state}  ${s.description}\n${' '.repeat(width + 11)}models: ${s.models.join(', ') || '-'} | ${licence}\n`,
    );
  }
  // The styles' own models, and the default set (face detectors, parsing) that model styles also use.
  const missing = [...new Set([...styles.flatMap((s) => s.models), ...store.defaultIds()])].filter((id) => !store.isInstalled(id));
  if (missing.length > 0) process.stdout.write(`\nInstall the missing models with: ${installHint(missing, dir)}\n`);
  return 0;
}
