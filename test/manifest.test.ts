import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCartoonizeRequest } from '../src/core/request.js';
import { modelsForRequest } from '../src/core/pipeline.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { manifestSchemaText } from '../scripts/manifest-schema-text.js';
import { errorOf } from './helpers/errors.js';
import { REPO_ROOT } from './helpers/env.js';

function modelsDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'portoon-manifest-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('catalogue', () => {
  it('catalogue/manifest.schema.json, which manifests name as $schema, is what `npm run docs:schema` generates', async () => {
    const path = join(REPO_ROOT, 'catalogue/manifest.schema.json');
    expect(readFileSync(path, 'utf8')).toBe(await manifestSchemaText(path));
    for (const file of ['models.json', 'styles.json']) {
      expect(JSON.parse(readFileSync(join(REPO_ROOT, 'catalogue', file), 'utf8')).$schema).toBe('./manifest.schema.json');
    }
  });

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

  it('gives the helper models their roles', () => {
    const catalogue = loadCatalogue();
    expect(catalogue.helper('face-detector-retinaface')?.id).toBe('retinaface-mnet025');
    expect(catalogue.helper('face-detector-yunet')?.id).toBe('yunet-face');
    expect(catalogue.helper('face-parser')?.id).toBe('bisenetv2-faceparsing-448');
    expect(catalogue.helper('person-segmenter')?.id).toBe('deeplabv3-mnv2-257');
    expect(catalogue.helperFor(catalogue.style('anime'), 'faceParser')?.id).toBe('bisenetv2-faceparsing-448');
  });

  it("a user's model with a role replaces the built-in one; a style can still name either", () => {
    const builtIn = loadCatalogue().model('bisenetv2-faceparsing-448');
    const parser = (id: string) => ({ ...builtIn, id, file: `${id}.onnx` });
    const dir = modelsDirWith({
      'parsers.portoon.json': JSON.stringify({
        models: [parser('sharp-parser'), parser('better-parser')],
        styles: [{ id: 'pinned', label: 'P', background: { procedural: 'cel' }, helpers: { faceParser: 'sharp-parser' } }],
      }),
    });
    const catalogue = loadCatalogue(dir);
    // The last model read with a role takes it: the user's manifests come after the built-in one.
    expect(catalogue.helper('face-parser')?.id).toBe('better-parser');
    expect(catalogue.helperFor(catalogue.style('anime'), 'faceParser')?.id).toBe('better-parser');
    expect(catalogue.helperFor(catalogue.style('pinned'), 'faceParser')?.id).toBe('sharp-parser');
    expect(catalogue.helper('person-segmenter')?.id).toBe('deeplabv3-mnv2-257');
  });

  it('rejects a role that does not fit the model, naming the file and field', () => {
    const entry = loadCatalogue().model('whitebox-cartoon');
    const asParser = modelsDirWith({ 'r.portoon.json': JSON.stringify({ models: [{ ...entry, id: 'x', role: 'face-parser' }] }) });
    const wrongTask = errorOf(() => loadCatalogue(asParser));
    expect(wrongTask.code).toBe('E_BAD_MANIFEST');
    expect(wrongTask.details).toEqual({ file: join(asParser, 'r.portoon.json'), field: 'models.0.role' });
    expect(wrongTask.message).toContain('is for face-parsing models, not style');
    const parser = loadCatalogue().model('bisenetv2-faceparsing-448');
    const oblong = modelsDirWith({
      'o.portoon.json': JSON.stringify({ models: [{ ...parser, id: 'x', input: { ...parser.input, fixedSize: [448, 320] } }] }),
    });
    expect(errorOf(() => loadCatalogue(oblong)).details).toEqual({
      file: join(oblong, 'o.portoon.json'),
      field: 'models.0.input.fixedSize',
    });
    const segmenter = loadCatalogue().model('deeplabv3-mnv2-257');
    const anySize = modelsDirWith({
      's.portoon.json': JSON.stringify({ models: [{ ...segmenter, id: 'x', input: { ...segmenter.input, fixedSize: undefined } }] }),
    });
    expect(errorOf(() => loadCatalogue(anySize)).message).toMatch(/s\.portoon\.json.*input\.fixedSize.*person-segmenter/);
  });

  it("rejects a style's helper that is unknown or lacks the field's role, naming the file and field", () => {
    const style = (helpers: object): string =>
      JSON.stringify({ styles: [{ id: 'h', label: 'H', background: { procedural: 'cel' }, helpers }] });
    const unknown = modelsDirWith({ 'u.portoon.json': style({ faceParser: 'nope' }) });
    const missing = errorOf(() => loadCatalogue(unknown));
    expect(missing.code).toBe('E_BAD_MANIFEST');
    expect(missing.details).toEqual({ file: join(unknown, 'u.portoon.json'), field: 'helpers.faceParser' });
    expect(missing.message).toContain('unknown model "nope"');
    const parserAsSegmenter = modelsDirWith({ 'w.portoon.json': style({ personSegmenter: 'bisenetv2-faceparsing-448' }) });
    const wrongRole = errorOf(() => loadCatalogue(parserAsSegmenter));
    expect(wrongRole.details).toEqual({ file: join(parserAsSegmenter, 'w.portoon.json'), field: 'helpers.personSegmenter' });
    expect(wrongRole.message).toContain('does not have the role "person-segmenter" (its role is "face-parser")');
    const noRole = modelsDirWith({ 'n.portoon.json': style({ faceParser: 'whitebox-cartoon' }) });
    expect(errorOf(() => loadCatalogue(noRole)).message).toContain('it has no role');
    const typo = modelsDirWith({ 't.portoon.json': style({ faceParsers: 'bisenetv2-faceparsing-448' }) });
    expect(errorOf(() => loadCatalogue(typo)).details).toEqual({ file: join(typo, 't.portoon.json'), field: 'styles.0.helpers' });
  });

  it('unknown style ids list what exists', () => {
    const error = errorOf(() => loadCatalogue().style('vaporwave'));
    expect(error.code).toBe('E_UNKNOWN_STYLE');
    expect(error.message).toContain('anime');
  });
});

describe('models a request needs', () => {
  const needs = (params: Parameters<typeof parseCartoonizeRequest>[0], dir?: string): string[] =>
    modelsForRequest(loadCatalogue(dir), parseCartoonizeRequest(params));

  it('are the style models, the detectors when faces are needed and the segmenter for a blurred background', () => {
    expect(needs({ style: 'anime' })).toEqual(['animeganv3-jpface-v1', 'animeganv3-hayao36', 'retinaface-mnet025', 'yunet-face']);
    expect(needs({ style: 'anime', detector: 'yunet' })).toEqual(['animeganv3-jpface-v1', 'animeganv3-hayao36', 'yunet-face']);
    expect(needs({ style: 'cartoon' })).toEqual(['whitebox-cartoon']);
    expect(needs({ style: 'cel' })).toEqual([]);
    expect(needs({ style: 'cel', background: 'keep', detector: 'retinaface' })).toEqual(['retinaface-mnet025']);
    expect(needs({ style: 'cartoon', background: 'blur' })).toEqual(['whitebox-cartoon', 'deeplabv3-mnv2-257']);
  });

  it('are those of the styles that show: a mix at weight 0 or 1 runs one style', () => {
    expect(needs({ style: 'cartoon', mix: 'ghibli', mixWeight: 0.5 })).toEqual(['whitebox-cartoon', 'animeganv3-hayao36']);
    expect(needs({ style: 'cartoon', mix: 'ghibli', mixWeight: 1 })).toEqual(['animeganv3-hayao36']);
    expect(needs({ style: 'cartoon', mix: 'ghibli', mixWeight: 0 })).toEqual(['whitebox-cartoon']);
  });

  it("follow the catalogue's roles and a style's own helpers", () => {
    const builtIn = loadCatalogue().model('deeplabv3-mnv2-257');
    const dir = modelsDirWith({
      'seg.portoon.json': JSON.stringify({
        models: [{ ...builtIn, id: 'my-segmenter', file: 'my-segmenter.onnx' }],
        styles: [
          { id: 'pinned', label: 'P', background: { model: 'whitebox-cartoon' }, helpers: { personSegmenter: 'deeplabv3-mnv2-257' } },
        ],
      }),
    });
    expect(needs({ style: 'cartoon', background: 'blur' }, dir)).toEqual(['whitebox-cartoon', 'my-segmenter']);
    expect(needs({ style: 'pinned', background: 'blur' }, dir)).toEqual(['whitebox-cartoon', 'deeplabv3-mnv2-257']);
  });
});
