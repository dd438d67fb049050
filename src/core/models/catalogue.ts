/**
 * The merged view of every manifest Portoon knows about: the built-in catalogue plus the user's own
 * `*.portoon.json` files. Lookups throw typed errors that tell the user what exists.
 */
import { PortoonError } from '../errors.js';
import { validateProceduralParams } from '../procedural/index.js';
import { STYLE_HELPER_ROLES, type HelperRole, type ManifestFile, type ModelEntry, type StyleEntry, type StyleHelper } from './manifest.js';

export interface ManifestSource {
  /** File name or URL, for error messages. */
  readonly source: string;
  readonly manifest: ManifestFile;
}

/** Finds helper models by role: the Catalogue does, and code that needs only that takes this. */
export interface HelperModels {
  /** The model that plays `role`, or undefined when no model has that role. */
  helper(role: HelperRole): ModelEntry | undefined;
}

/**
 * The model that plays `role`.
 * @throws PortoonError E_MODEL_MISSING when no model has the role.
 */
export function requireHelper(models: HelperModels, role: HelperRole): ModelEntry {
  const entry = models.helper(role);
  if (!entry) {
    throw new PortoonError('E_MODEL_MISSING', `No model has the role "${role}": add one to a manifest with "role": "${role}"`, {
      details: { role },
    });
  }
  return entry;
}

export class Catalogue implements HelperModels {
  readonly #models = new Map<string, ModelEntry>();
  readonly #styles = new Map<string, StyleEntry>();
  readonly #origin = new Map<string, string>();
  readonly #roles = new Map<HelperRole, string>();
  /** The manifests this catalogue was built from, in order (the browser engine rebuilds it from them). */
  readonly sources: readonly ManifestSource[];

  /**
   * Sources are read in order; the built-in catalogue comes first, then the user's manifests.
   * Several models may have the same role (a style can name any of them in its `helpers`); the last
   * one read is the catalogue's model for that role, so a user's manifest that adds a better face
   * parser makes every style use it.
   * @throws PortoonError E_BAD_MANIFEST when two files define the same id, or a style names an
   *   unknown model or a helper without the role its field needs.
   */
  constructor(sources: readonly ManifestSource[]) {
    this.sources = sources;
    for (const { source, manifest } of sources) {
      manifest.models.forEach((model, i) => {
        this.#add(this.#models, 'model', model.id, model, source, `models.${i}.id`);
        if (model.role !== undefined) this.#roles.set(model.role, model.id);
      });
      manifest.styles.forEach((style, i) => this.#add(this.#styles, 'style', style.id, style, source, `styles.${i}.id`));
    }
    for (const style of this.#styles.values()) {
      const source = this.#origin.get(`style:${style.id}`) ?? '(unknown)';
      if ('procedural' in style.background) {
        try {
          validateProceduralParams(style.background.procedural, style.background.params);
        } catch (error) {
          throw new PortoonError(
            'E_BAD_MANIFEST',
            `${source}: field "background.params" of style "${style.id}": ${(error as Error).message}`,
            {
              cause: error,
              details: { file: source, field: 'background.params' },
            },
          );
        }
      }
      const refs: Array<[string, string]> = [];
      if (style.head) refs.push(['head.model', style.head.model]);
      if ('model' in style.background) refs.push(['background.model', style.background.model]);
      for (const [field, id] of refs) {
        const model = this.#models.get(id);
        if (!model) {
          throw new PortoonError('E_BAD_MANIFEST', `${source}: field "${field}" of style "${style.id}": unknown model "${id}"`, {
            details: { file: source, field },
          });
        }
        if (model.task !== 'style') {
          throw new PortoonError(
            'E_BAD_MANIFEST',
            `${source}: field "${field}" of style "${style.id}": model "${id}" is a ${model.task} model, not a style model`,
            {
              details: { file: source, field },
            },
          );
        }
      }
      this.#checkHelpers(style, source);
    }
  }

  get models(): readonly ModelEntry[] {
    return [...this.#models.values()];
  }

  get styles(): readonly StyleEntry[] {
    return [...this.#styles.values()];
  }

  /** @throws PortoonError E_BAD_OPTION for an unknown id. */
  model(id: string): ModelEntry {
    const model = this.#models.get(id);
    if (!model) {
      throw new PortoonError('E_BAD_OPTION', `Unknown model "${id}". Known models: ${[...this.#models.keys()].join(', ')}`, {
        details: { model: id },
      });
    }
    return model;
  }

  hasModel(id: string): boolean {
    return this.#models.has(id);
  }

  /** @throws PortoonError E_UNKNOWN_STYLE listing the styles that exist. */
  style(id: string): StyleEntry {
    const style = this.#styles.get(id);
    if (!style) {
      throw new PortoonError('E_UNKNOWN_STYLE', `Unknown style "${id}". Available styles: ${[...this.#styles.keys()].join(', ')}`, {
        details: { style: id },
      });
    }
    return style;
  }

  /** The model that plays `role`: the last one read with that role; undefined when none has it. */
  helper(role: HelperRole): ModelEntry | undefined {
    const id = this.#roles.get(role);
    return id === undefined ? undefined : this.#models.get(id);
  }

  /**
   * The helper model a style uses: the one its `helpers` names, else the catalogue's model for the
   * role; undefined when neither exists.
   */
  helperFor(style: StyleEntry, helper: StyleHelper): ModelEntry | undefined {
    const id = style.helpers?.[helper];
    return id === undefined ? this.helper(STYLE_HELPER_ROLES[helper]) : this.model(id);
  }

  /** Model ids a style needs (head and background). */
  modelsOf(style: StyleEntry): string[] {
    const ids: string[] = [];
    if (style.head) ids.push(style.head.model);
    if ('model' in style.background) ids.push(style.background.model);
    return [...new Set(ids)];
  }

  /** Where an entry was defined ("model:<id>" or "style:<id>"). */
  originOf(kind: 'model' | 'style', id: string): string | undefined {
    return this.#origin.get(`${kind}:${id}`);
  }

  #checkHelpers(style: StyleEntry, source: string): void {
    for (const [helper, id] of Object.entries(style.helpers ?? {}) as Array<[StyleHelper, string | undefined]>) {
      if (id === undefined) continue;
      const field = `helpers.${helper}`;
      const role = STYLE_HELPER_ROLES[helper];
      const model = this.#models.get(id);
      const problem = !model
        ? `unknown model "${id}"`
        : model.role !== role
          ? `model "${id}" does not have the role "${role}" (${model.role === undefined ? 'it has no role' : `its role is "${model.role}"`})`
          : undefined;
      if (problem !== undefined) {
        throw new PortoonError('E_BAD_MANIFEST', `${source}: field "${field}" of style "${style.id}": ${problem}`, {
          details: { file: source, field },
        });
      }
    }
  }

  #add<T>(map: Map<string, T>, kind: 'model' | 'style', id: string, value: T, source: string, field: string): void {
    const previous = this.#origin.get(`${kind}:${id}`);
    if (previous !== undefined) {
      throw new PortoonError('E_BAD_MANIFEST', `${source}: field "${field}": ${kind} id "${id}" is already defined in ${previous}`, {
        details: { file: source, field },
      });
    }
    map.set(id, value);
    this.#origin.set(`${kind}:${id}`, source);
  }
}
