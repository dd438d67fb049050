/** Where a service's engine is made: `portoon serve` (one process) and `portoon worker` (a cluster node) alike. */
import { PortoonError } from '../core/errors.js';
import { Portoon } from '../node/portoon.js';
import type { ServerConfig } from './config.js';

/** The settings an engine is made from, in `portoon serve` and `portoon worker` alike. */
export type EngineSettings = Pick<
  ServerConfig,
  'modelsDir' | 'workers' | 'threads' | 'device' | 'maxPixels' | 'styles' | 'label' | 'watermarkKey' | 'contentCredentials'
>;

/**
 * Starts the engine of a service: its worker threads, on its models folder. The styles named by
 * `--styles` must exist (checked before anything runs; their models are checked when loaded).
 * @throws PortoonError E_UNKNOWN_STYLE naming the known styles.
 */
export async function createEngine(settings: Readonly<EngineSettings>): Promise<Portoon> {
  const portoon = await Portoon.create({
    ...(settings.modelsDir !== undefined ? { modelsDir: settings.modelsDir } : {}),
    workers: settings.workers,
    threads: settings.threads,
    device: settings.device,
    maxInputPixels: settings.maxPixels,
    label: settings.label,
    ...(settings.watermarkKey !== undefined ? { watermarkKey: settings.watermarkKey } : {}),
    ...(settings.contentCredentials !== undefined ? { contentCredentials: settings.contentCredentials } : {}),
  });
  const known = new Set(portoon.catalogue.styles.map((style) => style.id));
  const unknown = (settings.styles ?? []).find((id) => !known.has(id));
  if (unknown !== undefined) {
    await portoon.close();
    throw new PortoonError('E_UNKNOWN_STYLE', `--styles: unknown style "${unknown}"; known styles: ${[...known].join(', ')}`);
  }
  return portoon;
}
