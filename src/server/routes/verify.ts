/**
 * POST /api/v1/verify (a plugin of the API scope): one image in, what Portoon marks it carries out:
 * the invisible watermark, a C2PA manifest and the XMP label. Answered at once (no job): reading the
 * marks takes a decode and a fraction of a second of work. An image without marks is an answer too
 * (`marked: false`), not an error.
 */
import type { FastifyPluginAsync, FastifySchemaCompiler, preValidationAsyncHookHandler } from 'fastify';
import { PortoonError, type ErrorCode } from '../../core/errors.js';
import { ACCEPTED_LABELS } from '../../core/formats.js';
import type { VerifyOptions, VerifyReport } from '../../node/verify.js';
import { uploadHandling, type UploadLimits } from '../upload.js';

export interface VerifyRouteOptions {
  /** The photo upload limit (the same as the cartoon route's); videos are not taken. */
  limits: Pick<UploadLimits, 'maxUploadBytes' | 'spoolDir'>;
  /** Images with more pixels are refused (422), as for cartoonization. */
  maxInputPixels: number;
  /** The key watermarks are read with (default: Portoon's public key). */
  watermarkKey?: string | undefined;
  /** Checks one image (in the service's verification threads, off the event loop). */
  verify: (bytes: Uint8Array, options: VerifyOptions) => Promise<VerifyReport>;
}

/** What the route can answer besides a report. */
const VERIFY_ERRORS: readonly ErrorCode[] = [
  'E_BAD_OPTION',
  'E_FILE_TOO_LARGE',
  'E_EMPTY_INPUT',
  'E_UNSUPPORTED_FORMAT',
  'E_IMAGE_TOO_LARGE',
  'E_DECODE_FAILED',
  'E_QUEUE_FULL',
];

/** The form: the image, and nothing else. */
export const verifyBodySchema = {
  type: 'object',
  required: ['image'],
  additionalProperties: false,
  properties: {
    image: {
      type: 'string',
      format: 'binary',
      description: `The image to check (${ACCEPTED_LABELS}), at most the upload limit`,
    },
  },
} as const;

const c2paSchema = {
  type: 'object',
  description: 'The C2PA manifest (Content Credentials), read and validated offline',
  required: ['present', 'valid', 'status', 'actions'],
  properties: {
    present: { type: 'boolean', description: 'The image carries a C2PA manifest' },
    valid: { type: 'boolean', description: 'Its signature and hashes verify (whether its certificate authority is trusted aside)' },
    status: { type: 'array', items: { type: 'string' }, description: 'Validation status codes, e.g. signingCredential.untrusted' },
    claimGenerator: { type: 'string', description: 'The software that made the manifest, e.g. Portoon/0.1.0' },
    digitalSourceType: { type: 'string' },
    actions: { type: 'array', items: { type: 'string' }, description: 'The actions it records, e.g. c2pa.created' },
    signer: { type: 'string', description: 'The issuer or common name of the signing certificate' },
    title: { type: 'string' },
    error: { type: 'string', description: 'Why a manifest that is there cannot be read' },
  },
} as const;

const watermarkSchema = {
  type: 'object',
  description: "Portoon's invisible watermark, read from the pixels",
  required: ['found', 'confidence'],
  properties: {
    found: { type: 'boolean', description: 'A valid watermark was read (its marker and checksum check)' },
    id: { type: 'string', pattern: '^[0-9a-f]{12}$', description: 'The output id it carries' },
    confidence: { type: 'number', minimum: 0, maximum: 1, description: 'How clearly it is there: about 0 unmarked, near 1 untouched' },
    correctedBits: { type: 'integer', minimum: 0, description: 'Bits error correction had to repair (of 127)' },
    gain: { type: 'number', description: 'The brightness change the reading undid (1: none)' },
    alignment: { type: 'string', description: 'The crop, rotation or shift the reading undid ("none" when it read as it is)' },
  },
} as const;

const xmpSchema = {
  type: 'object',
  description: 'The XMP label',
  required: ['present'],
  properties: {
    present: { type: 'boolean', description: 'The image carries an XMP packet' },
    digitalSourceType: { type: 'string', description: 'The IPTC digital source type (…/trainedAlgorithmicMedia: made by AI)' },
    software: { type: 'string' },
    version: { type: 'string' },
    style: { type: 'string' },
    models: { type: 'array', items: { type: 'string' } },
    id: { type: 'string', description: 'The output id (the one its watermark carries)' },
  },
} as const;

export const verifyReportSchema = {
  type: 'object',
  description: "Which of Portoon's provenance marks the image carries",
  required: ['marked', 'format', 'width', 'height', 'xmp', 'c2pa', 'watermark', 'summary'],
  properties: {
    marked: {
      type: 'boolean',
      description:
        'A Portoon mark was found: a valid watermark, a valid C2PA manifest made by Portoon, or an XMP label by Portoon saying it is AI-generated',
    },
    format: { type: 'string', description: 'The image format, by content (jpeg, png, webp, gif, tiff, heif)' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    xmp: xmpSchema,
    c2pa: c2paSchema,
    watermark: watermarkSchema,
    summary: { type: 'string', description: 'The findings in one line, for people' },
  },
  examples: [
    {
      marked: true,
      format: 'jpeg',
      width: 1024,
      height: 1024,
      xmp: {
        present: true,
        digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
        software: 'Portoon',
        version: '0.1.0',
        style: 'anime',
        models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
        id: '3f2a9c01d4e7',
      },
      c2pa: { present: false, valid: false, status: [], actions: [] },
      watermark: { found: true, id: '3f2a9c01d4e7', confidence: 0.97, correctedBits: 0, gain: 1, alignment: 'none' },
      summary: 'Portoon watermark 3f2a9c01d4e7 (confidence 0.97); XMP: AI-generated by Portoon (style anime)',
    },
  ],
} as const;

/** The form's validator: the file in "image" and no other field. */
const verifyFormValidator: FastifySchemaCompiler<unknown> = () => (fields) => {
  const names = Object.keys((fields ?? {}) as Record<string, unknown>);
  const other = names.find((name) => name !== 'image');
  if (other !== undefined) {
    return { error: new PortoonError('E_BAD_OPTION', `Unknown parameter "${other}": send only the image, in the field "image"`) };
  }
  return { value: fields };
};

export const verifyRoutes: FastifyPluginAsync<VerifyRouteOptions> = async (app, { limits, maxInputPixels, watermarkKey, verify }) => {
  const handling = uploadHandling({ maxUploadBytes: limits.maxUploadBytes, spoolDir: limits.spoolDir });
  /** A video is refused like any other file that is not an image: there is no job to send it to. */
  const readUpload: preValidationAsyncHookHandler = async function (request, reply) {
    try {
      await handling.preValidation.call(this, request, reply);
    } catch (error) {
      if (!(error instanceof PortoonError) || error.code !== 'E_VIDEO_NEEDS_JOB') throw error;
      throw new PortoonError(
        'E_UNSUPPORTED_FORMAT',
        `Videos cannot be checked here; send an image (${ACCEPTED_LABELS}) in the field "image"`,
      );
    }
  };
  app.post(
    '/verify',
    {
      schema: {
        operationId: 'verifyImage',
        summary: "Check an image for Portoon's provenance marks",
        description:
          "Reads the invisible watermark from the pixels and the C2PA manifest and XMP label from the file, and says whether any of them shows the image was made with Portoon. An image without marks is answered 200 with `marked: false`. Watermarks made with another key than this service's are not found.",
        tags: ['provenance'],
        consumes: ['multipart/form-data'],
        body: verifyBodySchema,
        response: { 200: verifyReportSchema },
      },
      // It decodes the image and reads the watermark: work, counted by the rate limit like a cartoon.
      config: { createsWork: true, errors: VERIFY_ERRORS },
      onRequest: handling.onRequest,
      preValidation: readUpload,
      validatorCompiler: verifyFormValidator,
    },
    async (request) => {
      const upload = request.upload;
      if (upload?.kind !== 'image') throw new PortoonError('E_BAD_OPTION', 'Missing parameter "image" (the image file)');
      return verify(upload.bytes, { maxInputPixels, watermarkKey });
    },
  );
};
