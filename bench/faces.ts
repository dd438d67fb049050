/**
 * Face quality across styles, on every face of the shared portraits: how far each style moves skin
 * tone, how visible the paste seam is, which faces are found (and found again on the cartoon, and on
 * the photo turned by 90/180/270 degrees), and what each face costs per stage. Writes one contact
 * sheet per photo (the original and every style, then every face at 100 %) and the full per-face
 * results as JSON.
 *
 * Baseline, measured in the same run: for every style with a head model, a copy of the style whose
 * crop size is fixed at the largest size (`head.minCropSize = faceSize`). The ratio adaptive / fixed
 * head-pass time per face (faces narrower than 200 px) is what adaptive crop sizes save; its skin ΔE
 * and seam ratio show what they cost in quality.
 *
 *   npm run bench:faces -- [--models-dir dir] [--styles anime,cartoon] [--photos 05,12] [--out dir]
 *                          [--no-sheets] [--no-baseline] [--portraits dir]
 *
 * --styles: default every style in the catalogue; --photos: parts of file names (default all photos
 * in SOURCES.md); --out: default test-output/face-sheets (sheets <photo>.jpg and faces.json).
 *
 * Definitions (also printed as the legend):
 * - skin ΔE: CIE76 distance between the mean Lab colour of the input and of the output over skin
 *   boxes placed from the 5 landmarks (two cheeks, one forehead; sized by the eye distance, turned
 *   with the face); a box counts only when >= 70 % of it is parsed as skin on the input (face-parsing
 *   model on a face crop) and >= 70 % of its input pixels are skin-coloured (warm hue, some chroma:
 *   the parser calls a cloth face mask skin), so boxes on hair, masks or glasses are left out. Face
 *   ΔE = mean of its counted boxes (src/core/face/quality.ts skinDeltaE).
 * - seam ratio: from the paste mask the pipeline reports (onFacePasted), for samples across the
 *   transition band (0.1 < mask < 0.9): ΔE between the point just inside (mask >= 0.95) and just
 *   outside (mask <= 0.05) along the mask gradient, in image space; mean in the output divided by
 *   the mean at the same points in the input (floored at 1 ΔE). ~1: no step beyond the photo's own
 *   edge; >> 1: a visible seam (quality.ts seamRatio).
 * - faces: found by the pipeline vs the `faces` column of SOURCES.md; false = found beyond the true
 *   count; doubtful = found faces whose inner face the parser does not call face (< 30 %);
 *   found again = input faces that detectFaces finds on the stylized output (IoU >= 0.3).
 * - time per face: the pipeline's stage timings split over the stylized faces: head in proportion to
 *   each face's head-model run, parse evenly, align and paste in proportion to crop area.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { Point } from '../src/core/face/align.js';
import { detectFaces, type Face } from '../src/core/face/detect.js';
import { iou } from '../src/core/face/nms.js';
import {
  faceLabelFraction,
  measurementLabels,
  seamRatio,
  skinBoxes,
  skinDeltaE,
  type LabelMap,
  type SeamMeasure,
  type SkinMeasure,
} from '../src/core/face/quality.js';
import { createImage, cropImage, type RawImage } from '../src/core/image.js';
import type { InferenceBackend } from '../src/core/inference.js';
import { Catalogue, type ManifestSource } from '../src/core/models/catalogue.js';
import { parseManifest, parseManifestText, type ModelEntry, type StyleEntry } from '../src/core/models/manifest.js';
import { cartoonizeImage, type FacePasteInfo, type PipelineContext, type PipelineResult } from '../src/core/pipeline.js';
import type { FaceReport, Stage } from '../src/core/report.js';
import { parseCartoonizeRequest } from '../src/core/request.js';
import { runStyleModel } from '../src/core/stylize.js';
import { decodeImage } from '../src/node/codec.js';
import { NodeEngine } from '../src/node/engine.js';
import { BUILTIN_CATALOGUE_DIR, USER_MANIFEST_SUFFIX } from '../src/node/load-catalogue.js';
import { defaultModelsDir } from '../src/node/model-store.js';
import { machineLine } from './machine.js';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const { values } = parseArgs({
  options: {
    'models-dir': { type: 'string' },
    styles: { type: 'string' },
    photos: { type: 'string' },
    out: { type: 'string', default: join(REPO, 'test-output/face-sheets') },
    portraits: { type: 'string', default: resolve(REPO, '../shared/portraits') },
    'no-sheets': { type: 'boolean', default: false },
    /** On by default (every bench measures its baseline); --no-baseline skips the fixed-crop copies. */
    baseline: { type: 'boolean', default: true },
    'no-baseline': { type: 'boolean', default: false },
  },
});
const modelsDir = values['models-dir'] ?? defaultModelsDir();
const outDir = resolve(values.out);
const withBaseline = values.baseline && !values['no-baseline'];
const SMALL_FACE = 200;
const IOU_AGAIN = 0.3;
const DOUBTFUL_FACE = 0.3;
const ROTATIONS = [90, 180, 270] as const;

/** FaceReport with the rejection reason the face-pass redesign may add. */
/** One layer of a sharp composite. */
type Overlay = Parameters<ReturnType<typeof sharp>['composite']>[0][number];

const cpuLine = machineLine();
console.log(cpuLine);

// ---- photos and their true face counts (SOURCES.md) ----

/** file → faces visible by eye, from the Markdown table in SOURCES.md (columns found by header name). */
function trueFaceCounts(dir: string): Map<string, number> {
  const counts = new Map<string, number>();
  let fileCol = -1,
    facesCol = -1;
  for (const line of readFileSync(join(dir, 'SOURCES.md'), 'utf8').split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (fileCol < 0) {
      fileCol = cells.indexOf('file');
      facesCol = cells.indexOf('faces');
      continue;
    }
    const file = cells[fileCol],
      faces = Number(cells[facesCol]);
    if (file && /\.(jpe?g|png|webp)$/i.test(file) && Number.isInteger(faces)) counts.set(file, faces);
  }
  if (counts.size === 0) throw new Error(`No photo rows with a "faces" column in ${join(dir, 'SOURCES.md')}`);
  return counts;
}

const truth = trueFaceCounts(values.portraits);
const photoFilter = values.photos?.split(',').filter(Boolean);
const photos = [...truth.keys()]
  .filter((file) => existsSync(join(values.portraits, file)))
  .filter((file) => !photoFilter || photoFilter.some((part) => file.includes(part)))
  .sort();
if (photos.length === 0) throw new Error(`No photo matches --photos ${values.photos ?? ''}`);

// ---- catalogue: the built-in manifests (and the user's), plus fixed-crop copies of head styles ----

function manifestSources(dir: string): ManifestSource[] {
  const read = (path: string): ManifestSource => ({ source: path, manifest: parseManifestText(readFileSync(path, 'utf8'), path) });
  const sources = ['models.json', 'styles.json'].map((name) => read(join(BUILTIN_CATALOGUE_DIR, name)));
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith(USER_MANIFEST_SUFFIX))
      .sort())
      sources.push(read(join(dir, name)));
  }
  return sources;
}

const sources = manifestSources(modelsDir);
const plain = new Catalogue(sources);
const styleIds = values.styles ? values.styles.split(',').filter(Boolean) : plain.styles.map((s) => s.id);
for (const id of styleIds) plain.style(id); // unknown ids fail here, listing the styles
/** style id → id of its fixed-crop copy. */
const fixedOf = new Map<string, string>();
let catalogue = plain;
let baselineNote = withBaseline ? '' : 'baseline skipped (--no-baseline)';
if (withBaseline) {
  const copies: StyleEntry[] = [];
  for (const id of styleIds) {
    const style = plain.style(id);
    if (!style.head) continue;
    if ((style.head.minCropSize ?? style.head.faceSize) >= style.head.faceSize) {
      console.log(`${id}: crop size already fixed at ${style.head.faceSize} (no minCropSize): no baseline copy needed`);
      continue;
    }
    const copy: StyleEntry = {
      ...style,
      id: `${id}-fixed`,
      label: `${style.label} (crop fixed at ${style.head.faceSize})`,
      head: { ...style.head, minCropSize: style.head.faceSize },
    };
    copies.push(copy);
    fixedOf.set(id, copy.id);
  }
  try {
    // Through the schema, so a field it does not know yet fails here and not inside the pipeline.
    const manifest = parseManifest({ styles: copies }, 'bench/faces.ts (fixed-crop baselines)');
    catalogue = new Catalogue([...sources, { source: 'bench/faces.ts', manifest }]);
  } catch (error) {
    fixedOf.clear();
    baselineNote = `baseline skipped: ${(error as Error).message}`;
  }
}
if (baselineNote) console.log(baselineNote);

// ---- engine, sessions warmed up ----

const engine = new NodeEngine({ modelsDir });
const model = (id: string) => catalogue.model(id);
const runs = styleIds.flatMap((id) => (fixedOf.has(id) ? [id, fixedOf.get(id)!] : [id]));
const catalogueParser = catalogue.helper('face-parser');
/** The catalogue's face parser, when installed: the skin boxes are checked with it, whichever parser a style uses. */
const measuringParser = catalogueParser && engine.backend.has(catalogueParser.id) ? catalogueParser : undefined;
{
  const ids = new Set([
    ...(['face-detector-retinaface', 'face-detector-yunet', 'face-parser'] as const).flatMap((role) => catalogue.helper(role)?.id ?? []),
    ...runs.flatMap((id) => {
      const style = catalogue.style(id);
      const parser = catalogue.helperFor(style, 'faceParser');
      return parser ? [...catalogue.modelsOf(style), parser.id] : catalogue.modelsOf(style);
    }),
  ]);
  for (const id of ids) if (engine.backend.has(id)) await engine.preload([id]);
  // One run of every head model, so the first face measured does not pay for first-run set-up.
  for (const id of styleIds) {
    const head = catalogue.style(id).head;
    if (head && engine.backend.has(head.model))
      await runStyleModel(createImage(head.faceSize, head.faceSize), model(head.model), engine.backend);
  }
}
console.log(
  `models ${modelsDir}; ${photos.length} photos; styles ${runs.join(', ')}${measuringParser ? '' : '; face parsing not installed: skin boxes are not checked'}\n`,
);

/** The input's face parsed in the measurement frame (quality.ts measurementCrop). */
function labelsFor(parser: ModelEntry, image: RawImage, landmarks: readonly Point[]): Promise<LabelMap> {
  return measurementLabels(image, landmarks, engine.backend, parser);
}

/** The image turned clockwise by 90, 180 or 270 degrees. */
function rotate(image: RawImage, degrees: 90 | 180 | 270): RawImage {
  const { width: w, height: h, data } = image;
  const out = createImage(degrees === 180 ? w : h, degrees === 180 ? h : w, 3);
  const ow = out.width;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [nx, ny] = degrees === 90 ? [h - 1 - y, x] : degrees === 180 ? [w - 1 - x, h - 1 - y] : [y, w - 1 - x];
      const from = (y * w + x) * 3,
        to = (ny * ow + nx) * 3;
      out.data[to] = data[from]!;
      out.data[to + 1] = data[from + 1]!;
      out.data[to + 2] = data[from + 2]!;
    }
  }
  return out;
}

const corners = (box: readonly number[]): [number, number, number, number] => [box[0]!, box[1]!, box[0]! + box[2]!, box[1]! + box[3]!];

// ---- measurement ----

interface FaceTimes {
  align: number;
  parse: number;
  head: number;
  paste: number;
}

interface FaceResult {
  index: number;
  box: [number, number, number, number];
  width: number;
  score: number;
  landmarks: Array<[number, number]>;
  stylized: boolean;
  cropSize?: number;
  /** Fraction of the inner face parsed as face (low: probably not a face). */
  faceLabels?: number;
  skin: SkinMeasure;
  seam?: SeamMeasure;
  foundAgain: boolean;
  /** ms per stage for this face (stylized faces only). */
  ms?: FaceTimes;
  /** How its times were split: from the face observer, or evenly (no observer reports). */
  attribution?: 'observer' | 'even';
}

interface StyleRun {
  style: string;
  /** For a fixed-crop baseline: the style it copies. */
  baselineOf?: string;
  ms: number;
  timings: Partial<Record<Stage, number>>;
  found: number;
  outputDetections: number;
  faces: FaceResult[];
}

interface PhotoResult {
  file: string;
  width: number;
  height: number;
  trueFaces: number;
  /** Faces detectFaces finds on the photo as it is and turned by 90/180/270 degrees (clockwise). */
  rotations: Record<'0' | '90' | '180' | '270', number>;
  runs: StyleRun[];
}

/** One pipeline run with the face observer and per-call model times. */
async function runStyle(image: RawImage, style: string): Promise<{ result: PipelineResult; pasted: FacePasteInfo[]; headRuns: number[] }> {
  const calls: Array<{ id: string; ms: number }> = [];
  const backend: InferenceBackend = {
    has: (id) => engine.backend.has(id),
    run: async (id, feeds) => {
      const start = performance.now();
      try {
        return await engine.backend.run(id, feeds);
      } finally {
        calls.push({ id, ms: performance.now() - start });
      }
    },
  };
  const pasted: FacePasteInfo[] = [];
  const headRuns: number[] = [];
  const headModel = catalogue.style(style).head?.model;
  let seen = 0;
  const context: PipelineContext = {
    backend,
    catalogue,
    now: () => performance.now(),
    onFacePasted: (info) => {
      pasted.push(info);
      // This face's head run: the last head-model call since the previous face.
      const last = calls.slice(seen).findLast((call) => call.id === headModel);
      headRuns.push(last?.ms ?? NaN);
      seen = calls.length;
    },
  };
  const result = await cartoonizeImage(image, parseCartoonizeRequest({ style }), context);
  return { result, pasted, headRuns };
}

/** Splits the run's per-stage times over its stylized faces (see the header). */
function faceTimes(result: PipelineResult, stylized: number[], pasted: FacePasteInfo[], headRuns: number[]): Map<number, FaceTimes> {
  const out = new Map<number, FaceTimes>();
  if (stylized.length === 0) return out;
  const t = (stage: Stage): number => result.timings[stage] ?? 0;
  const observed = stylized.every((i) => pasted.some((p) => p.index === i));
  const area = new Map(pasted.map((p) => [p.index, p.cropSize * p.cropSize]));
  const head = new Map(pasted.map((p, k) => [p.index, headRuns[k]!]));
  const totalArea = stylized.reduce((s, i) => s + (area.get(i) ?? 0), 0);
  const totalHead = stylized.reduce((s, i) => s + (head.get(i) ?? 0), 0);
  for (const i of stylized) {
    const even = 1 / stylized.length;
    const byArea = observed && totalArea > 0 ? area.get(i)! / totalArea : even;
    const byHead = observed && totalHead > 0 && Number.isFinite(totalHead) ? head.get(i)! / totalHead : even;
    out.set(i, { align: t('align') * byArea, parse: t('parse') * even, head: t('head') * byHead, paste: t('paste') * byArea });
  }
  return out;
}

const parsed = new Map<string, { labels: LabelMap | undefined; faceLabels: number | undefined }>();
async function parsingOf(file: string, image: RawImage, landmarks: readonly Point[]) {
  const key = `${file}:${landmarks.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(';')}`;
  let entry = parsed.get(key);
  if (!entry) {
    const labels = measuringParser ? await labelsFor(measuringParser, image, landmarks) : undefined;
    entry = { labels, faceLabels: labels && faceLabelFraction(landmarks, labels) };
    parsed.set(key, entry);
  }
  return entry;
}

async function measurePhoto(file: string, sheets: boolean): Promise<PhotoResult> {
  const started = performance.now();
  const { image } = await decodeImage(readFileSync(join(values.portraits, file)));
  const reference = await detectFaces(image, engine.backend, catalogue);
  const rotations = { '0': reference.length, '90': 0, '180': 0, '270': 0 };
  for (const degrees of ROTATIONS) rotations[degrees] = (await detectFaces(rotate(image, degrees), engine.backend, catalogue)).length;
  const photo: PhotoResult = { file, width: image.width, height: image.height, trueFaces: truth.get(file)!, rotations, runs: [] };
  const outputs: Array<{ style: string; image: RawImage }> = [];
  for (const style of runs) {
    const start = performance.now();
    const { result, pasted, headRuns } = await runStyle(image, style);
    const ms = performance.now() - start;
    // Without detection in the pipeline (a style that needs no faces), measure the reference faces.
    const reports: FaceReport[] = result.detected
      ? result.faces
      : reference.map((f: Face) => ({ box: f.box, score: f.score, landmarks: f.landmarks.map(([x, y]) => [x, y]), stylized: false }));
    const again = (await detectFaces(result.image, engine.backend, catalogue)).map((f) => corners(f.box));
    const stylized = reports.flatMap((f, i) => (f.stylized ? [i] : []));
    const times = faceTimes(result, stylized, pasted, headRuns);
    const faces: FaceResult[] = [];
    for (const [index, face] of reports.entries()) {
      const { labels, faceLabels } = await parsingOf(file, image, face.landmarks);
      const paste = pasted.find((p) => p.index === index);
      const seam = paste && seamRatio(image, result.image, paste.mask, paste.imageToCrop);
      const cropSize = paste?.cropSize ?? face.cropSize;
      const faceMs = times.get(index);
      faces.push({
        index,
        box: face.box,
        width: face.box[2],
        score: face.score,
        landmarks: face.landmarks,
        stylized: face.stylized,
        ...(cropSize !== undefined ? { cropSize } : {}),
        ...(faceLabels !== undefined ? { faceLabels } : {}),
        skin: skinDeltaE(image, result.image, face.landmarks, { labels }),
        ...(seam ? { seam } : {}),
        foundAgain: again.some((box) => iou(box, corners(face.box)) >= IOU_AGAIN),
        ...(faceMs ? { ms: faceMs, attribution: paste ? ('observer' as const) : ('even' as const) } : {}),
      });
    }
    const baselineOf = [...fixedOf].find(([, fixed]) => fixed === style)?.[0];
    photo.runs.push({
      style,
      ...(baselineOf ? { baselineOf } : {}),
      ms,
      timings: result.timings,
      found: faces.length,
      outputDetections: again.length,
      faces,
    });
    if (sheets) outputs.push({ style, image: result.image });
  }
  if (sheets) await writeSheet(file, image, photo, outputs);
  const line = photo.runs
    .map((r) => `${r.style} ${(r.ms / 1000).toFixed(1)}s ΔE ${fmt(mean(r.faces.map((f) => f.skin.deltaE)))}`)
    .join(' · ');
  console.log(
    `${file} ${image.width}x${image.height}: true ${photo.trueFaces}, found ${photo.runs[0]?.found ?? reference.length}, turned 90/180/270: ${rotations[90]}/${rotations[180]}/${rotations[270]} · ${line} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return photo;
}

// ---- contact sheets ----

const TOP_HEIGHT = 320;
const GAP = 8;
const LABEL_HEIGHT = 36;
const MIN_CELL = 220;

const escapeXml = (s: string): string => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
function label(lines: string[], width: number, height = LABEL_HEIGHT, overlay = false): Buffer {
  const text = lines
    .map(
      (line, i) =>
        `<text x="5" y="${15 + i * 16}" font-family="DejaVu Sans, sans-serif" font-size="13" fill="#fff">${escapeXml(line)}</text>`,
    )
    .join('');
  const bg = overlay ? `<rect width="${width}" height="${height}" fill="#000" fill-opacity="0.6"/>` : '';
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${bg}${text}</svg>`);
}
/** The face's skin boxes over its crop: green where counted, red where left out (not skin, off the image). */
function boxOverlay(face: FaceResult, x0: number, y0: number, width: number, height: number): Buffer {
  const used = new Map(face.skin.boxes.map((b) => [b.name, b.used]));
  const shapes = skinBoxes(face.landmarks).map((box) => {
    const points = box.corners.map(([x, y]) => `${(x - x0).toFixed(1)},${(y - y0).toFixed(1)}`).join(' ');
    return `<polygon points="${points}" fill="none" stroke="${used.get(box.name) ? '#3f3' : '#f33'}" stroke-width="1.5"/>`;
  });
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`);
}
const raw = (image: RawImage) => ({
  input: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength),
  raw: { width: image.width, height: image.height, channels: image.channels },
});

async function writeSheet(
  file: string,
  original: RawImage,
  photo: PhotoResult,
  outputs: Array<{ style: string; image: RawImage }>,
): Promise<void> {
  const layers: Overlay[] = [];
  // Top row: the original and every style at a common height.
  const tiles = [{ style: 'original', image: original }, ...outputs];
  const tileWidth = Math.round((original.width * TOP_HEIGHT) / original.height);
  let x = GAP;
  for (const tile of tiles) {
    const scaled = await sharp(raw(tile.image).input, { raw: raw(tile.image).raw })
      .resize({ width: tileWidth, height: TOP_HEIGHT, fit: 'fill' })
      .png()
      .toBuffer();
    layers.push({ input: scaled, left: x, top: GAP });
    layers.push({ input: label([tile.style], Math.min(tileWidth, 220), 22, true), left: x, top: GAP });
    x += tileWidth + GAP;
  }
  let width = x;
  let y = GAP + TOP_HEIGHT + GAP;
  // One row per face: 100 % crops of the face box grown 1.6x, from the original and every style.
  const faces = photo.runs[0]?.faces ?? [];
  for (const face of faces) {
    const [bx, by, bw, bh] = face.box;
    const side = Math.max(bw, bh) * 1.6;
    const x0 = Math.max(0, Math.floor(bx + bw / 2 - side / 2)),
      y0 = Math.max(0, Math.floor(by + bh / 2 - side / 2));
    const x1 = Math.min(original.width, Math.ceil(bx + bw / 2 + side / 2)),
      y1 = Math.min(original.height, Math.ceil(by + bh / 2 + side / 2));
    const cw = x1 - x0,
      ch = y1 - y0;
    const cell = Math.max(cw, MIN_CELL);
    let cx = GAP;
    for (const tile of tiles) {
      const run = photo.runs.find((r) => r.style === tile.style);
      const measured = run?.faces.find((f) => f.index === face.index);
      const lines =
        tile.style === 'original'
          ? [
              `face ${face.index} · ${Math.round(bw)} px · score ${face.score.toFixed(2)}`,
              face.faceLabels !== undefined ? `parsed as face ${Math.round(face.faceLabels * 100)} %` : '',
            ]
          : [
              `${tile.style}${measured?.cropSize ? ` · crop ${measured.cropSize}` : ''}${measured && !measured.foundAgain ? ' · lost' : ''}`,
              `ΔE ${fmt(measured?.skin.deltaE)} · seam ${fmt(measured?.seam?.ratio, 2)}`,
            ];
      layers.push({ input: label(lines, cell), left: cx, top: y });
      layers.push({ ...raw(cropImage(tile.image, x0, y0, cw, ch)), left: cx, top: y + LABEL_HEIGHT });
      if (tile.style === 'original') layers.push({ input: boxOverlay(face, x0, y0, cw, ch), left: cx, top: y + LABEL_HEIGHT });
      cx += cell + GAP;
    }
    width = Math.max(width, cx);
    y += LABEL_HEIGHT + ch + GAP;
  }
  await sharp({ create: { width, height: y, channels: 3, background: '#202020' } })
    .composite(layers)
    .jpeg({ quality: 88 })
    .toFile(join(outDir, `${basename(file, extname(file))}.jpg`));
}

// ---- summaries ----

function mean(xs: ReadonlyArray<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length > 0 ? v.reduce((s, x) => s + x, 0) / v.length : undefined;
}
function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}
function maxOf<T>(items: T[], value: (item: T) => number | undefined): { item: T; value: number } | undefined {
  let best: { item: T; value: number } | undefined;
  for (const item of items) {
    const v = value(item);
    if (v !== undefined && Number.isFinite(v) && (!best || v > best.value)) best = { item, value: v };
  }
  return best;
}
function table(header: string[], rows: string[][]): string {
  const right = header.map((_, i) => rows.every((r) => /^[\d.–/ ()x%-]*$/.test(r[i] ?? '')));
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (right[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

mkdirSync(outDir, { recursive: true });
const sheets = !values['no-sheets'];
const benchStart = performance.now();
const results: PhotoResult[] = [];
for (const file of photos) results.push(await measurePhoto(file, sheets));
const elapsed = (performance.now() - benchStart) / 1000;

type Tagged = FaceResult & { photo: string };
const facesOf = (style: string): Tagged[] =>
  results.flatMap((p) => (p.runs.find((r) => r.style === style)?.faces ?? []).map((f) => ({ ...f, photo: p.file })));
const tag = (f: Tagged): string => `${basename(f.photo, extname(f.photo)).slice(0, 2)}#${f.index}`;
const headMs = (faces: Tagged[], small: boolean): number | undefined =>
  mean(faces.filter((f) => f.ms && f.width < SMALL_FACE === small).map((f) => f.ms!.head));

console.log(`
Legend
- skin ΔE: CIE76 between mean Lab of input and output in cheek and forehead boxes (from the 5 landmarks,
  sized by the eye distance); boxes < 70 % parsed skin or < 70 % skin-coloured pixels are left out;
  face = mean of its boxes. max: photo#face. Sheets: green boxes counted, red left out.
- seam: per sample across the paste band (0.1 < mask < 0.9), ΔE between the points just inside (mask >= 0.95)
  and just outside (mask <= 0.05) along the mask gradient, in image space; mean in the output / mean at the
  same points in the input (input floored at 1 ΔE). ~1 = no step beyond the photo's own; >> 1 = visible seam.
- found/true/false: faces found by the pipeline / faces in SOURCES.md / found beyond the true count;
  doubtful = inner face < ${DOUBTFUL_FACE * 100} % parsed as face; again = found by detectFaces on the output (IoU >= ${IOU_AGAIN}).
- head ms/face: the pipeline's head-stage time split over its faces in proportion to each face's head-model
  run; small = face box < ${SMALL_FACE} px wide.
`);

const qualityRows = runs.map((style) => {
  const faces = facesOf(style);
  const skinMax = maxOf(faces, (f) => f.skin.deltaE);
  const seamMax = maxOf(faces, (f) => f.seam?.ratio);
  const perPhoto = results.map((p) => ({ p, run: p.runs.find((r) => r.style === style)! }));
  const found = perPhoto.reduce((s, { run }) => s + run.found, 0);
  const trueFaces = perPhoto.reduce((s, { p }) => s + p.trueFaces, 0);
  const falseFaces = perPhoto.reduce((s, { p, run }) => s + Math.max(0, run.found - p.trueFaces), 0);
  const doubtful = faces.filter((f) => f.faceLabels !== undefined && f.faceLabels < DOUBTFUL_FACE).length;
  return [
    style,
    `${faces.length} (${faces.filter((f) => f.skin.deltaE !== undefined).length})`,
    fmt(mean(faces.map((f) => f.skin.deltaE))),
    skinMax ? `${fmt(skinMax.value)} (${tag(skinMax.item)})` : '–',
    fmt(mean(faces.map((f) => f.seam?.ratio)), 2),
    seamMax ? `${fmt(seamMax.value, 2)} (${tag(seamMax.item)})` : '–',
    `${found}/${trueFaces}/${falseFaces}${doubtful ? ` (${doubtful} doubtful)` : ''}`,
    `${faces.filter((f) => f.foundAgain).length}/${faces.length}`,
    catalogue.style(style).head ? `${fmt(headMs(faces, true), 0)} / ${fmt(headMs(faces, false), 0)}` : '–',
  ];
});
console.log(
  table(
    [
      'style',
      'faces (with ΔE)',
      'skin ΔE mean',
      'skin ΔE max',
      'seam mean',
      'seam max',
      'found/true/false',
      'found again',
      'head ms/face <200 / ≥200 px',
    ],
    qualityRows,
  ),
);

console.log('\nTime per stylized face (ms), by face width:\n');
const timingRows = runs.flatMap((style) =>
  [true, false].flatMap((small) => {
    const faces = facesOf(style).filter((f) => f.ms && f.width < SMALL_FACE === small);
    if (faces.length === 0) return [];
    const crops = new Map<number, number>();
    for (const f of faces) if (f.cropSize) crops.set(f.cropSize, (crops.get(f.cropSize) ?? 0) + 1);
    const stage = (k: keyof FaceTimes): string => fmt(mean(faces.map((f) => f.ms![k])), 0);
    return [
      [
        style,
        small ? `< ${SMALL_FACE}` : `≥ ${SMALL_FACE}`,
        String(faces.length),
        stage('align'),
        stage('parse'),
        stage('head'),
        stage('paste'),
        [...crops]
          .sort(([a], [b]) => a - b)
          .map(([size, n]) => `${size}×${n}`)
          .join(', ') || '–',
      ],
    ];
  }),
);
console.log(
  timingRows.length > 0
    ? table(['style', 'face px', 'faces', 'align', 'parse', 'head', 'paste', 'crop sizes (size×faces)'], timingRows)
    : '(no stylized faces)',
);
if (results.some((p) => p.runs.some((r) => r.faces.some((f) => f.attribution === 'even'))))
  console.log('(the pipeline did not report pasted faces (onFacePasted): stage times are split evenly, no seam ratio, no crop sizes)');

console.log(`\nBaseline (same run): head-pass time per face for faces < ${SMALL_FACE} px, adaptive crop vs crop fixed at faceSize:\n`);
const baselineRows = [...fixedOf].map(([style, fixed]) => {
  const adaptive = headMs(facesOf(style), true);
  const base = headMs(facesOf(fixed), true);
  return [
    style,
    String(facesOf(style).filter((f) => f.ms && f.width < SMALL_FACE).length),
    fmt(adaptive, 0),
    fmt(base, 0),
    adaptive !== undefined && base ? fmt(adaptive / base, 3) : '–',
  ];
});
console.log(
  baselineRows.length > 0
    ? table(['style', 'faces', 'adaptive ms', 'fixed ms', 'ratio adaptive / fixed'], baselineRows)
    : `(${baselineNote || 'no style with a head model'})`,
);

console.log('\nFaces found on the photo turned clockwise (detectFaces only):\n');
const rotationRows = results.map((p) => [
  p.file,
  String(p.trueFaces),
  ...(['0', '90', '180', '270'] as const).map((k) => String(p.rotations[k])),
]);
const sum = (k: '0' | '90' | '180' | '270'): string => String(results.reduce((s, p) => s + p.rotations[k], 0));
rotationRows.push(['**total**', String(results.reduce((s, p) => s + p.trueFaces, 0)), sum('0'), sum('90'), sum('180'), sum('270')]);
console.log(table(['photo', 'true', '0°', '90°', '180°', '270°'], rotationRows));

const json = join(outDir, 'faces.json');
writeFileSync(
  json,
  JSON.stringify(
    { cpu: cpuLine, date: new Date().toISOString(), modelsDir, styles: runs, baselines: Object.fromEntries(fixedOf), photos: results },
    null,
    1,
  ),
);
console.log(`\nIndex (${elapsed.toFixed(0)} s):`);
for (const p of results) {
  const sheet = sheets ? join(outDir, `${basename(p.file, extname(p.file))}.jpg`) : '(no sheet)';
  const worst = maxOf(
    p.runs.flatMap((r) => r.faces.map((f) => ({ r, f }))),
    ({ f }) => f.skin.deltaE,
  );
  console.log(
    `  ${sheet}  ${p.runs[0]?.found ?? 0}/${p.trueFaces} faces${worst ? `, worst skin ΔE ${fmt(worst.value)} (${worst.item.r.style}, face ${worst.item.f.index})` : ''}`,
  );
}
console.log(`  ${json}  per-face results`);
await engine.close();
