/** The provenance every output of this engine carries: this software and version, made now. */
import type { ProvenanceInfo } from '../core/provenance.js';
import { SOFTWARE_NAME, VERSION } from './version.js';

export function outputProvenance(style: string, models: readonly string[]): ProvenanceInfo {
  return { software: SOFTWARE_NAME, version: VERSION, style, models, created: new Date().toISOString() };
}
