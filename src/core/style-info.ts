/** A user-facing summary of each style: what it needs, whether that is installed, and its licences. */
import type { Catalogue } from './models/catalogue.js';

export const PROCEDURAL_LICENSE = 'MIT (Portoon, no model)';

export interface StyleInfo {
  id: string;
  label: string;
  description: string;
  models: string[];
  /** All models the style needs are installed (procedural styles always are). */
  installed: boolean;
  licenses: string[];
  /** Every model's licence allows commercial use (procedural styles: yes). */
  commercialUse: boolean;
  /** The strength used when a request gives none. */
  defaultStrength: number;
  /** A small sample of the style (set by the service). */
  previewUrl?: string;
}

/** @param isInstalled whether a model's file is installed (the platform's model store knows). */
export function describeStyles(catalogue: Catalogue, isInstalled: (modelId: string) => boolean): StyleInfo[] {
  return catalogue.styles.map((style) => {
    const models = catalogue.modelsOf(style);
    const entries = models.map((id) => catalogue.model(id));
    return {
      id: style.id,
      label: style.label,
      description: style.description,
      models,
      installed: models.every((id) => isInstalled(id)),
      // A procedural style is Portoon's own code, under Portoon's licence.
      licenses: entries.length === 0 ? [PROCEDURAL_LICENSE] : [...new Set(entries.map((e) => e.license))],
      commercialUse: entries.every((e) => e.commercialUse),
      defaultStrength: style.defaults.strength,
    };
  });
}
