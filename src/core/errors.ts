/**
 * Every error Portoon reports comes from this one table: a stable code, the HTTP status the service
 * answers with, the exit code the CLI ends with, what it means, and whether a queue worker retries a
 * job that failed with it (`retry`: another attempt, perhaps on another worker, may succeed; a bad
 * input or a timeout fails the same way every time). The `docs/errors.md` reference is kept in sync
 * with it by a test.
 */
export const ERROR_TABLE = {
  E_BAD_OPTION: { status: 400, exit: 2, summary: 'An option or parameter has an invalid value.', retry: false },
  E_UNKNOWN_STYLE: { status: 400, exit: 2, summary: 'The requested style does not exist.', retry: false },
  E_BAD_REQUEST: { status: 400, exit: 2, summary: 'The request is malformed: broken HTTP or multipart/form-data framing.', retry: false },
  E_EMPTY_INPUT: { status: 415, exit: 3, summary: 'The input is empty (zero bytes).', retry: false },
  E_UNSUPPORTED_FORMAT: { status: 415, exit: 3, summary: 'The input is not an image in a supported format.', retry: false },
  E_FILE_TOO_LARGE: { status: 413, exit: 3, summary: 'The input file is larger than the allowed size.', retry: false },
  E_IMAGE_TOO_LARGE: { status: 422, exit: 3, summary: 'The image has more pixels than the pixel limit.', retry: false },
  E_DECODE_FAILED: { status: 422, exit: 3, summary: 'The image or video is damaged or truncated and cannot be decoded.', retry: false },
  E_VIDEO_NEEDS_JOB: {
    status: 415,
    exit: 2,
    summary: 'A video was sent to the synchronous image route; videos are processed as jobs (POST /api/v1/jobs).',
    retry: false,
  },
  E_FFMPEG_MISSING: { status: 503, exit: 1, summary: 'Video needs ffmpeg and ffprobe, and they are not installed.', retry: true },
  E_INPUT_NOT_FOUND: { status: 400, exit: 3, summary: 'An input file or folder does not exist or cannot be read.', retry: false },
  E_MODEL_MISSING: { status: 503, exit: 1, summary: 'A model the style needs is not installed.', retry: true },
  E_MODEL_CORRUPT: { status: 500, exit: 1, summary: 'An installed model file does not match its sha256.', retry: true },
  E_MODEL_SOURCE: { status: 500, exit: 1, summary: 'Models cannot be fetched: no mirror configured, or the mirror failed.', retry: true },
  E_BAD_MANIFEST: { status: 500, exit: 1, summary: 'A model or style manifest file is invalid.', retry: false },
  E_INFERENCE_FAILED: { status: 500, exit: 1, summary: 'The neural network runtime failed on this input.', retry: true },
  E_OUTPUT_FAILED: { status: 500, exit: 1, summary: 'The result could not be written.', retry: true },
  E_OUTPUT_EXISTS: { status: 409, exit: 2, summary: 'The output file exists and replacing it was not allowed.', retry: false },
  E_SIGNING_CONFIG: {
    status: 500,
    exit: 2,
    summary: 'The C2PA signing certificate or private key is missing, unreadable, unusable or mismatched.',
    retry: false,
  },
  E_QUEUE_FULL: { status: 503, exit: 1, summary: 'Too many images are waiting to be processed; try again shortly.', retry: true },
  E_CLOSED: { status: 503, exit: 1, summary: 'The engine was closed while work was pending.', retry: true },
  E_UNAUTHORIZED: { status: 401, exit: 2, summary: 'The request needs a valid API key.', retry: false },
  E_NOT_FOUND: { status: 404, exit: 2, summary: 'No such route or resource.', retry: false },
  E_JOB_NOT_FOUND: { status: 404, exit: 2, summary: 'The job does not exist or its result has expired.', retry: false },
  E_JOB_NOT_READY: { status: 409, exit: 1, summary: 'The job has not finished yet.', retry: false },
  E_RATE_LIMITED: { status: 429, exit: 1, summary: 'Too many requests from this client; slow down.', retry: true },
  E_HEADERS_TOO_LARGE: { status: 431, exit: 2, summary: 'The request headers are larger than the server accepts.', retry: false },
  E_REQUEST_TIMEOUT: { status: 408, exit: 1, summary: 'The request did not arrive completely within the time limit.', retry: true },
  E_TIMEOUT: { status: 504, exit: 1, summary: 'Processing took longer than the time limit.', retry: false },
  E_NOT_READY: { status: 503, exit: 1, summary: 'The service is still starting (loading models).', retry: true },
  E_QUEUE_UNAVAILABLE: { status: 503, exit: 1, summary: 'The job queue (Redis) cannot be reached.', retry: true },
  E_BLOB_STORE: {
    status: 503,
    exit: 1,
    summary: 'The store of job files (shared folder or S3 bucket) cannot be read or written.',
    retry: true,
  },
  E_ROOM_NOT_FOUND: { status: 404, exit: 2, summary: 'The video call room does not exist or has expired.', retry: false },
  E_ROOM_FULL: { status: 409, exit: 2, summary: 'The video call room already has two people in it.', retry: false },
  E_TOO_MANY_ROOMS: {
    status: 503,
    exit: 1,
    summary: 'The service has as many video call rooms open as it allows; try again later.',
    retry: true,
  },
  E_BAD_MESSAGE: {
    status: 400,
    exit: 2,
    summary: 'A call signalling message is not a JSON text message of a known type and shape.',
    retry: false,
  },
  E_INTERNAL: { status: 500, exit: 1, summary: 'An unexpected internal error.', retry: true },
} as const satisfies Record<string, { status: number; exit: 1 | 2 | 3; summary: string; retry: boolean }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface PortoonErrorOptions {
  cause?: unknown;
  /** Machine-readable facts (a path, a field name, a limit) that callers may show or log. */
  details?: Readonly<Record<string, unknown>>;
}

export class PortoonError extends Error {
  override readonly name = 'PortoonError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: PortoonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  get status(): number {
    return ERROR_TABLE[this.code].status;
  }

  get exitCode(): 1 | 2 | 3 {
    return ERROR_TABLE[this.code].exit;
  }

  /** Whether running the same job again (on this or another worker) may succeed. */
  get retryable(): boolean {
    return ERROR_TABLE[this.code].retry;
  }

  /** A plain object that survives structured cloning (worker threads, JSON). */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details: Readonly<Record<string, unknown>>;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);
}

/** Rebuilds a PortoonError from its serialized form (e.g. after crossing a worker-thread boundary). */
export function reviveError(value: unknown): PortoonError {
  if (value instanceof PortoonError) return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as Partial<SerializedError>;
    if (isErrorCode(v.code) && typeof v.message === 'string') {
      return new PortoonError(v.code, v.message, { details: v.details ?? {} });
    }
  }
  return toPortoonError(value);
}

/** Wraps anything thrown into a PortoonError, keeping the original as `cause`. */
export function toPortoonError(error: unknown, fallback: ErrorCode = 'E_INTERNAL'): PortoonError {
  if (error instanceof PortoonError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PortoonError(fallback, fallback === 'E_INTERNAL' ? `Internal error: ${message}` : message, {
    cause: error,
  });
}
