/**
 * Schemas for the two kinds of data that describe what Portoon can do: model entries (one ONNX file
 * each, with everything needed to feed it) and style entries (which models make a style, and how).
 * Built-in entries live in `catalogue/*.json`; users add their own as `*.portoon.json` files in their
 * models folder. Validation errors name the file and the field.
 */
import { z } from 'zod';
import { PortoonError } from '../errors.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const rgbTriple = z.tuple([z.number(), z.number(), z.number()]);
const point = z.tuple([z.number().finite(), z.number().finite()]);

/**
 * How a face model expects its input framed: where the five landmarks (image-left eye, image-right
 * eye, nose tip, image-left and image-right mouth corner) sit in a square crop of `size` pixels,
 * and what fills the crop where it reaches past the photo. A face model draws good faces only on
 * the framing it was trained with, so this comes from the model's authors.
 */
export const faceFramingSchema = z
  .strictObject({
    size: z.number().int().min(16).max(4096),
    points: z.tuple([point, point, point, point, point]),
    /** "edge" repeats the photo's edge pixels; an RGB triple fills with that colour. */
    border: z.union([z.literal('edge'), rgbTriple]).default('edge'),
  })
  .refine((f) => f.points.every(([x, y]) => x >= 0 && y >= 0 && x <= f.size && y <= f.size), {
    message: 'expected every point inside the crop (0..size)',
    path: ['points'],
  })
  .refine((f) => Math.hypot(f.points[1][0] - f.points[0][0], f.points[1][1] - f.points[0][1]) >= 1, {
    message: 'expected the two eye points at least 1 px apart',
    path: ['points'],
  });

export const MODEL_TASKS = ['style', 'face-detection', 'face-parsing', 'person-segmentation', 'face-landmarks'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/**
 * The helper models the pipeline runs around the style models. A role names the output convention
 * the pipeline decodes, so any model that follows it can take the role:
 * - `face-detector-retinaface`: RetinaFace priors (biubug6): boxes `output0`, [background, face]
 *   scores `output1`, landmarks `output2`;
 * - `face-detector-yunet`: YuNet heads `cls_s`, `obj_s`, `bbox_s`, `kps_s` for strides 8, 16, 32;
 * - `face-parser`: one CelebAMask-HQ label (0..18) per pixel of a square face crop;
 * - `person-segmenter`: per-pixel scores over the PASCAL VOC classes (person = 15), NHWC.
 */
export const HELPER_ROLES = ['face-detector-retinaface', 'face-detector-yunet', 'face-parser', 'person-segmenter'] as const;
export type HelperRole = (typeof HELPER_ROLES)[number];

/** The task a model must have to take a role. */
export const ROLE_TASKS: Readonly<Record<HelperRole, ModelTask>> = {
  'face-detector-retinaface': 'face-detection',
  'face-detector-yunet': 'face-detection',
  'face-parser': 'face-parsing',
  'person-segmenter': 'person-segmentation',
};

/**
 * Roles whose networks take one input size, which the pipeline resizes to (`input.fixedSize`). The
 * parser's must be square: it labels the square face crop and its labels are scaled back onto it.
 */
const FIXED_SIZE_ROLES: Readonly<Partial<Record<HelperRole, 'square' | 'any'>>> = { 'face-parser': 'square', 'person-segmenter': 'any' };

export const modelEntrySchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lowercase letters, digits, ".", "_" or "-"'),
    file: z.string().regex(/^[^/\\]+\.onnx$/, 'expected a bare file name ending in .onnx'),
    sha256,
    bytes: z.number().int().positive(),
    license: z.string().min(1),
    /** Whether the licence allows commercial use; shown by `portoon styles` and the service. */
    commercialUse: z.boolean(),
    task: z.enum(MODEL_TASKS),
    /** The helper role the model can take (see {@link HELPER_ROLES}); style models have none. */
    role: z.enum(HELPER_ROLES).optional(),
    source: z.string().min(1),
    description: z.string().default(''),
    /** Installed by `portoon models pull` with no ids. */
    default: z.boolean().default(false),
    input: z.strictObject({
      name: z.string().min(1),
      layout: z.enum(['NHWC', 'NCHW']),
      /** Value range the network expects, as a human-readable note; `mean`/`std` are what is applied. */
      range: z.string(),
      /** Applied per channel, in the model's colour order, to 0..255 values: (x - mean) / std. */
      mean: rgbTriple,
      std: rgbTriple,
      colorOrder: z.enum(['RGB', 'BGR']),
      /** Height and width must be multiples of this (pad, never stretch). */
      sizeMultiple: z.number().int().positive(),
      /** Fixed [width, height] for models that only accept one size. */
      fixedSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    }),
    /** For face models: the face framing the model was trained on (styles may override it). */
    framing: faceFramingSchema.optional(),
    output: z
      .strictObject({
        name: z.string().min(1),
        /** For image outputs: y * scale + offset gives 0..255 (in `colorOrder`). */
        scale: z.number().default(127.5),
        offset: z.number().default(127.5),
      })
      .optional(),
  })
  .superRefine((model, ctx) => {
    if (model.role === undefined) return;
    const task = ROLE_TASKS[model.role];
    if (model.task !== task) {
      ctx.addIssue({ code: 'custom', path: ['role'], message: `role "${model.role}" is for ${task} models, not ${model.task}` });
    }
    const shape = FIXED_SIZE_ROLES[model.role];
    const size = model.input.fixedSize;
    if (shape !== undefined && (size === undefined || (shape === 'square' && size[0] !== size[1]))) {
      ctx.addIssue({
        code: 'custom',
        path: ['input', 'fixedSize'],
        message: `role "${model.role}" needs ${shape === 'square' ? 'a square' : 'an'} input.fixedSize`,
      });
    }
  });

const modelRef = z.string().min(1);

/** What a style's `head` is when the manifest leaves a field out. */
export const HEAD_DEFAULTS = { faceSize: 512, margin: 0.6, toneMatch: 0.5 } as const;

/**
 * The face passes the pipeline makes up for a style without a head model (see `facePlanOf`), in
 * the same terms as a head. `sizeMultiple` is for stylizers that have none of their own (procedural
 * filters, tone passes): crop sides in steps of 8 keep the distinct crop sizes, and the planes cached
 * per size, few.
 * - `keptPhoto`: over a kept photo (`background: keep`) the style's background stylizer redraws each
 *   face. Its margin is wider than a head's default: the crop is pasted over the untouched photo, so
 *   hair left outside the crop would stay a photo, where over a stylized picture the background pass
 *   has already drawn it.
 * - `polish`: over a stylized picture, a face-aware filter or a skin-tone restore, on the FFHQ
 *   framing.
 */
export const IMPLICIT_FACE_PASSES = {
  keptPhoto: { faceSize: HEAD_DEFAULTS.faceSize, minCropSize: 256, margin: 0.8, sizeMultiple: 8 },
  polish: { faceSize: 448, minCropSize: 256, sizeMultiple: 8 },
} as const;

export const styleEntrySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected lowercase letters, digits or "-"'),
  label: z.string().min(1),
  description: z.string().default(''),
  /** Stylizes each aligned face crop. Omit for styles that treat faces like the rest of the picture. */
  head: z
    .strictObject({
      model: modelRef,
      /** Largest side of the square aligned face crop fed to the head model (used for large faces). */
      faceSize: z.number().int().min(64).max(2048).default(HEAD_DEFAULTS.faceSize),
      /**
       * Smallest crop side. A face that covers fewer photo pixels gets a crop between this and
       * `faceSize` (about its own resolution), which costs the head model less; set it to the
       * smallest size at which the model still draws complete faces. Default: `faceSize` (fixed).
       */
      minCropSize: z.number().int().min(64).max(2048).optional(),
      /** Where the face sits in the crop; default: the head model's own `framing`, else one derived from `margin`. */
      framing: faceFramingSchema.optional(),
      /** Without a framing: crop margin around the face as a fraction of the face template (room for hair and chin). */
      margin: z.number().min(0).max(2).default(HEAD_DEFAULTS.margin),
      /** 0..1: how much of the original skin tone is restored after the head model (keeps identity). */
      toneMatch: z.number().min(0).max(1).default(HEAD_DEFAULTS.toneMatch),
    })
    .refine((head) => head.minCropSize === undefined || head.minCropSize <= head.faceSize, {
      message: 'expected minCropSize to be at most faceSize',
      path: ['minCropSize'],
    })
    .optional(),
  /** Stylizes the whole picture (in overlapping tiles). Either a model or a procedural filter. */
  background: z.union([
    z.strictObject({
      model: modelRef,
      /** Largest tile side; bigger tiles mean fewer seams to hide but more memory. */
      maxTile: z.number().int().min(64).max(4096).default(1024),
    }),
    z.strictObject({
      procedural: z.enum(['cel', 'watercolor']),
      params: z.record(z.string(), z.number()).default({}),
    }),
  ]),
  /**
   * Helper models the style picks for itself, by model id; each must have the role its field names
   * (see {@link STYLE_HELPER_ROLES}). A helper left out is the catalogue's model for the role.
   */
  helpers: z
    .strictObject({
      faceParser: modelRef.optional(),
      personSegmenter: modelRef.optional(),
    })
    .optional(),
  defaults: z
    .strictObject({
      strength: z.number().min(0).max(1).default(1),
    })
    .default({ strength: 1 }),
});

export const manifestFileSchema = z.strictObject({
  $schema: z.string().optional(),
  models: z.array(modelEntrySchema).default([]),
  styles: z.array(styleEntrySchema).default([]),
});

export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type FaceFraming = z.infer<typeof faceFramingSchema>;
export type StyleEntry = z.infer<typeof styleEntrySchema>;
/** A field of a style's `helpers`. */
export type StyleHelper = keyof NonNullable<StyleEntry['helpers']>;

/** The role a model named in each field of a style's `helpers` must have. Detectors are the request's choice, not the style's. */
export const STYLE_HELPER_ROLES = {
  faceParser: 'face-parser',
  personSegmenter: 'person-segmenter',
} as const satisfies Record<StyleHelper, HelperRole>;
export type ManifestFile = z.infer<typeof manifestFileSchema>;
export type ModelBackground = Extract<StyleEntry['background'], { model: string }>;
export type ProceduralBackground = Extract<StyleEntry['background'], { procedural: string }>;

/**
 * Validates parsed JSON as a manifest file.
 * @param source file name or URL, used in the error message so the user knows what to fix.
 * @throws PortoonError E_BAD_MANIFEST naming the file and the first invalid field.
 */
export function parseManifest(json: unknown, source: string): ManifestFile {
  const result = manifestFileSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new PortoonError('E_BAD_MANIFEST', `${source}: field "${field}": ${issue.message}`, {
    details: { file: source, field },
  });
}

/** Parses manifest text (JSON) with an error that names the file on a syntax error too. */
export function parseManifestText(text: string, source: string): ManifestFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PortoonError('E_BAD_MANIFEST', `${source}: not valid JSON (${(error as Error).message})`, {
      cause: error,
      details: { file: source, field: '(root)' },
    });
  }
  return parseManifest(json, source);
}

/**
 * The manifest format as a JSON schema (what a file may contain, before defaults are applied), for
 * editors: the catalogue's files and users' `*.portoon.json` point at it with `$schema`.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(manifestFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'Portoon manifest', description: 'Models and styles: see README.md, "Adding your own style".' };
}
