import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { errorOf } from './helpers/errors.js';

function modelsDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'portoon-manifest-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('catalogue', () => {
  it('ships the documented styles, including one that needs no model', () => {
    const catalogue = loadCatalogue();
    const ids = catalogue.styles.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['anime', 'cartoon', 'sketch', 'ghibli', 'shinkai', 'cel', 'watercolor']));
    expect(catalogue.styles.some((s) => catalogue.modelsOf(s).length === 0)).toBe(true);
    for (const m of catalogue.models) expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('adds a user style from a *.portoon.json file in the models folder', () => {
    const dir = modelsDirWith({
      'my-style.portoon.json': JSON.stringify({
        styles: [
          { id: 'my-ink', label: 'My ink', head: { model: 'animeganv3-portraitsketch' }, background: { model: 'whitebox-cartoon' } },
        ],
      }),
    });
    const style = loadCatalogue(dir).style('my-ink');
    expect(style.head?.faceSize).toBe(512);
  });

  it('names the file and field of an invalid manifest', () => {
    const dir = modelsDirWith({ 'bad.portoon.json': JSON.stringify({ styles: [{ id: 'x', label: 'X', background: { model: 42 } }] }) });
    const error = errorOf(() => loadCatalogue(dir));
    expect(error.code).toBe('E_BAD_MANIFEST');
    expect(error.message).toContain('bad.portoon.json');
    expect(error.message).toContain('styles.0.background');
  });

  it("gives the anime face model its authors' framing, and checks a head framing and crop sizes", () => {
    const catalogue = loadCatalogue();
    const face = catalogue.model('animeganv3-jpface-v1');
    expect(face.framing?.size).toBe(512);
    expect(face.framing?.points[0]).toEqual([192.98, 239.95]);
    expect(face.framing?.border).toEqual([135, 133, 132]);
    expect(catalogue.style('anime').head?.minCropSize).toBe(352);
    const head = (extra: object): string =>
      JSON.stringify({
        styles: [
          { id: 'my-face', label: 'F', head: { model: 'animeganv3-jpface-v1', ...extra }, background: { model: 'whitebox-cartoon' } },
        ],
      });
    const tooSmall = errorOf(() => loadCatalogue(modelsDirWith({ 'a.portoon.json': head({ faceSize: 256, minCropSize: 384 }) })));
    expect(tooSmall.code).toBe('E_BAD_MANIFEST');
    expect(tooSmall.message).toContain('styles.0.head.minCropSize');
    const fourPoints = errorOf(() =>
      loadCatalogue(
        modelsDirWith({
          'b.portoon.json': head({
            framing: {
              size: 256,
              points: [
                [1, 2],
                [3, 4],
                [5, 6],
                [7, 8],
              ],
            },
          }),
        }),
      ),
    );
    expect(fourPoints.message).toContain('styles.0.head.framing.points');
    const sameEyes = errorOf(() =>
      loadCatalogue(
        modelsDirWith({
          'd.portoon.json': head({
            framing: {
              size: 256,
              points: [
                [9, 9],
                [9, 9],
                [9, 9],
                [9, 9],
                [9, 9],
              ],
            },
          }),
        }),
      ),
    );
    expect(sameEyes.code).toBe('E_BAD_MANIFEST');
    expect(sameEyes.message).toContain('eye points');
    const outside = errorOf(() =>
      loadCatalogue(
        modelsDirWith({
          'e.portoon.json': head({
            framing: {
              size: 64,
              points: [
                [1, 2],
                [30, 2],
                [15, 20],
                [5, 90],
                [25, 40],
              ],
            },
          }),
        }),
      ),
    );
    expect(outside.message).toContain('inside the crop');
    const own = loadCatalogue(
      modelsDirWith({
        'c.portoon.json': head({
          framing: {
            size: 256,
            points: [
              [96, 120],
              [160, 120],
              [128, 157],
              [100, 186],
              [156, 186],
            ],
          },
        }),
      }),
    );
    expect(own.style('my-face').head?.framing?.border).toBe('edge');
  });

  it('names the file on a JSON syntax error', () => {
    const dir = modelsDirWith({ 'broken.portoon.json': '{ "styles": [ ' });
    const error = errorOf(() => loadCatalogue(dir));
    expect(error.code).toBe('E_BAD_MANIFEST');
    expect(error.message).toContain('broken.portoon.json');
  });

  it('rejects a style that references an unknown model, and a duplicate id', () => {
    const unknown = modelsDirWith({
      'u.portoon.json': JSON.stringify({ styles: [{ id: 'u', label: 'U', background: { model: 'nope' } }] }),
    });
    expect(errorOf(() => loadCatalogue(unknown)).message).toMatch(/u\.portoon\.json.*background\.model.*unknown model "nope"/);
    const duplicate = modelsDirWith({
      'd.portoon.json': JSON.stringify({ styles: [{ id: 'anime', label: 'A', background: { procedural: 'cel' } }] }),
    });
    expect(errorOf(() => loadCatalogue(duplicate)).message).toMatch(/already defined/);
  });

  it('rejects a model entry with a malformed sha256 or unknown field', () => {
    const model = {
      id: 'm',
      file: 'm.onnx',
      sha256: 'abc',
      bytes: 1,
      license: 'MIT',
      commercialUse: true,
      task: 'style',
      source: 's',
      input: { name: 'x', layout: 'NHWC', range: '', mean: [0, 0, 0], std: [1, 1, 1], colorOrder: 'RGB', sizeMultiple: 8 },
    };
    const dir = modelsDirWith({ 'm.portoon.json': JSON.stringify({ models: [model] }) });
    expect(errorOf(() => loadCatalogue(dir)).message).toContain('models.0.sha256');
    const extra = modelsDirWith({ 'e.portoon.json': JSON.stringify({ models: [{ ...model, sha256: 'a'.repeat(64), colour: 1 }] }) });
    expect(errorOf(() => loadCatalogue(extra)).code).toBe('E_BAD_MANIFEST');
  });

  it('rejects out-of-range procedural params at load time, naming the param', () => {
    const dir = modelsDirWith({
      'p.portoon.json': JSON.stringify({ styles: [{ id: 'p', label: 'P', background: { procedural: 'cel', params: { levels: 99 } } }] }),
    });
    const error = errorOf(() => loadCatalogue(dir));
    expect(error.code).toBe('E_BAD_MANIFEST');
    expect(error.message).toMatch(/p\.portoon\.json.*background\.params.*levels/);
  });

  it('unknown style ids list what exists', () => {
    const error = errorOf(() => loadCatalogue().style('vaporwave'));
    expect(error.code).toBe('E_UNKNOWN_STYLE');
    expect(error.message).toContain('anime');
  });
});
