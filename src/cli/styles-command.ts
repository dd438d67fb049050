/** `portoon styles`: what styles exist, whether they are ready, and under which licences. */
import { loadCatalogue } from '../node/load-catalogue.js';
import { defaultModelsDir, ModelStore } from '../node/model-store.js';
import { describeStyles } from '../node/style-info.js';

export function runStyles(options: { json?: boolean; modelsDir?: string }): number {
  const dir = options.modelsDir ?? defaultModelsDir();
  const catalogue = loadCatalogue(dir);
  const styles = describeStyles(catalogue, new ModelStore(catalogue, dir));
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
  if (styles.some((s) => !s.installed))
    process.stdout.write('\nInstall missing models with: portoon models pull --from <mirror folder or https URL>\n');
  return 0;
}
