/**
 * Typed client for the Portoon HTTP API (same origin). Every failure becomes an ApiError carrying the
 * server's error code and message, so the UI can show the server's own words; busy answers (503, 429)
 * are retried after the server's Retry-After, because the service sheds load with a bounded queue.
 */
import type { PublicJobStatus } from '../../src/core/job.js';
import type { CartoonizeParams } from '../../src/core/request.js';
import type { StyleInfo } from '../../src/core/style-info.js';
import type { VideoFields } from '../../src/core/video/params.js';
import { sleep } from './sleep.js';

/** The body of GET /api/v1/info (the fields the page uses). */
export interface ServiceInfo {
  version: string;
  maxUploadBytes: number;
  /** Largest video upload (absent from servers older than video support). */
  maxVideoUploadBytes?: number;
  maxInputPixels: number;
  acceptedTypes: string[];
  authRequired: boolean;
}

/** The request fields the page sets: a subset of what the API takes, under the same names. */
export type CartoonOptions = Pick<
  CartoonizeParams,
  'style' | 'strength' | 'mix' | 'mixWeight' | 'background' | 'format' | 'preview' | 'detector' | 'label'
>;

/** The settings of a video job: the style's settings (no photo format or preview), the size and the video options. */
export type VideoOptions = Omit<CartoonOptions, 'format' | 'preview'> &
  Pick<CartoonizeParams, 'maxSide'> &
  Pick<VideoFields, 'audio' | 'start' | 'duration'>;

/** A finished render as the server sent it: an image, or the video of a video job. */
export interface ImageResult {
  blob: Blob;
  type: string;
  /** The name the server gives the file (Content-Disposition), when it gives one. */
  fileName?: string;
}

/** Codes the client invents itself (the server's own codes all start with E_ too). */
export const NETWORK_ERROR = 'E_NETWORK';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds the server asked us to wait (Retry-After), when it said. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Told when the server is busy and the request will be retried after `seconds`. */
export type BusyListener = (seconds: number, error: ApiError) => void;

export interface ApiClientOptions {
  /** Returns the API key to send as a bearer token, if the user entered one. */
  apiKey: () => string | null;
  /** How many times a busy answer (503/429) is retried before giving up. Default 10. */
  busyRetries?: number;
  /** Upper bound on one wait between retries, whatever Retry-After says. Default 15 s. */
  maxRetryWaitMs?: number;
}

const NETWORK_MESSAGE = 'Could not reach the Portoon server. Check your connection and try again.';

/** 503 answers that waiting does not cure: a model or ffmpeg that is not installed. */
const NOT_TRANSIENT = new Set(['E_MODEL_MISSING', 'E_FFMPEG_MISSING']);

export class ApiClient {
  private readonly busyRetries: number;
  private readonly maxRetryWaitMs: number;

  constructor(private readonly options: ApiClientOptions) {
    this.busyRetries = options.busyRetries ?? 10;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 15_000;
  }

  info(signal?: AbortSignal): Promise<ServiceInfo> {
    return this.json<ServiceInfo>('/api/v1/info', () => ({ signal: signal ?? null }));
  }

  async styles(signal?: AbortSignal): Promise<StyleInfo[]> {
    const body = await this.json<{ styles: StyleInfo[] }>('/api/v1/styles', () => ({ signal: signal ?? null }));
    return body.styles;
  }

  /** A style's sample thumbnail (the previewUrl of a style). Only same-origin URLs: the API key goes with it. */
  async stylePreview(url: string, signal?: AbortSignal): Promise<Blob> {
    const target = new URL(url, location.href);
    if (target.origin !== location.origin) throw new ApiError(0, 'E_CLIENT_CHECK', `Refusing to send the API key to ${target.origin}`);
    const response = await this.send(target.pathname + target.search, () => ({ signal: signal ?? null }));
    return response.blob();
  }

  /** Synchronous render: the image bytes come back in the response (used for cheap gallery previews). */
  async cartoon(image: Blob, fileName: string, options: CartoonOptions, signal?: AbortSignal): Promise<ImageResult> {
    const response = await this.send('/api/v1/cartoon', () => ({
      method: 'POST',
      body: toFormData(image, fileName, options),
      signal: signal ?? null,
    }));
    return imageResult(response);
  }

  /** Starts a job; the server answers with its status (queued) and the links to follow. */
  createJob(image: Blob, fileName: string, options: CartoonOptions, signal?: AbortSignal, onBusy?: BusyListener): Promise<PublicJobStatus> {
    return this.json<PublicJobStatus>(
      '/api/v1/jobs',
      () => ({ method: 'POST', body: toFormData(image, fileName, options), signal: signal ?? null }),
      onBusy,
    );
  }

  /** Starts a video job (the file goes in the field "video"); answers like createJob. */
  createVideoJob(
    video: Blob,
    fileName: string,
    options: VideoOptions,
    signal?: AbortSignal,
    onBusy?: BusyListener,
  ): Promise<PublicJobStatus> {
    return this.json<PublicJobStatus>(
      '/api/v1/jobs',
      () => ({ method: 'POST', body: toVideoFormData(video, fileName, options), signal: signal ?? null }),
      onBusy,
    );
  }

  job(id: string, signal?: AbortSignal): Promise<PublicJobStatus> {
    return this.json<PublicJobStatus>(`/api/v1/jobs/${encodeURIComponent(id)}`, () => ({ signal: signal ?? null }));
  }

  async jobResult(id: string, signal?: AbortSignal): Promise<ImageResult> {
    const response = await this.send(`/api/v1/jobs/${encodeURIComponent(id)}/result`, () => ({ signal: signal ?? null }));
    return imageResult(response);
  }

  async cancelJob(id: string): Promise<void> {
    await this.send(`/api/v1/jobs/${encodeURIComponent(id)}`, () => ({ method: 'DELETE' }));
  }

  private async json<T>(path: string, init: () => RequestInit, onBusy?: BusyListener): Promise<T> {
    const response = await this.send(path, init, onBusy);
    return (await response.json()) as T;
  }

  /**
   * Sends a request (built afresh for each attempt, since a FormData body cannot be replayed safely
   * everywhere) and retries while the server says it is busy.
   */
  private async send(path: string, init: () => RequestInit, onBusy?: BusyListener): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const request = init();
      let response: Response;
      try {
        response = await fetch(path, { ...request, headers: this.headers(request.headers) });
      } catch (error) {
        if (request.signal?.aborted) throw error;
        throw new ApiError(0, NETWORK_ERROR, NETWORK_MESSAGE, undefined);
      }
      if (response.ok) return response;
      const error = await toApiError(response);
      const busy = (response.status === 503 || response.status === 429) && !NOT_TRANSIENT.has(error.code);
      if (!busy || attempt >= this.busyRetries) throw error;
      const waitMs = Math.min((error.retryAfter ?? Math.min(2 ** attempt, 8)) * 1000, this.maxRetryWaitMs);
      onBusy?.(Math.ceil(waitMs / 1000), error);
      await sleep(waitMs, request.signal ?? undefined);
    }
  }

  private headers(extra: HeadersInit | undefined): Headers {
    const headers = new Headers(extra);
    headers.set('Accept', 'application/json, image/*, video/*');
    const key = this.options.apiKey();
    if (key) headers.set('Authorization', `Bearer ${key}`);
    return headers;
  }
}

/** The settings photos and videos share, in the order the form sends them. */
function appendStyleFields(form: FormData, options: Omit<CartoonOptions, 'format' | 'preview'>): void {
  form.append('style', options.style);
  if (options.strength !== undefined) form.append('strength', String(options.strength));
  if (options.mix) {
    form.append('mix', options.mix);
    if (options.mixWeight !== undefined) form.append('mixWeight', String(options.mixWeight));
  }
  if (options.background) form.append('background', options.background);
  if (options.detector) form.append('detector', options.detector);
  if (options.label !== undefined) form.append('label', String(options.label));
}

/** Text fields go before the file, so the server knows the options before it streams the upload. */
function toFormData(image: Blob, fileName: string, options: CartoonOptions): FormData {
  const form = new FormData();
  appendStyleFields(form, options);
  if (options.format) form.append('format', options.format);
  if (options.preview) form.append('preview', 'true');
  form.append('image', image, fileName);
  return form;
}

/** As for a photo, text fields first: the server writes the video to disk as it arrives. */
function toVideoFormData(video: Blob, fileName: string, options: VideoOptions): FormData {
  const form = new FormData();
  appendStyleFields(form, options);
  if (options.maxSide !== undefined) form.append('maxSide', String(options.maxSide));
  if (options.audio !== undefined) form.append('audio', String(options.audio));
  if (options.start !== undefined) form.append('start', String(options.start));
  if (options.duration !== undefined) form.append('duration', String(options.duration));
  form.append('video', video, fileName);
  return form;
}

async function imageResult(response: Response): Promise<ImageResult> {
  const blob = await response.blob();
  const result: ImageResult = { blob, type: response.headers.get('Content-Type')?.split(';')[0]?.trim() || blob.type };
  const fileName = fileNameFromDisposition(response.headers.get('Content-Disposition'));
  if (fileName) result.fileName = fileName;
  return result;
}

/** The file name in a Content-Disposition header (`filename*=UTF-8''…` preferred, then `filename="…"`). */
function fileNameFromDisposition(header: string | null): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header)?.[1];
  if (extended) {
    try {
      return decodeURIComponent(extended.trim());
    } catch {
      // Badly encoded: fall back to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(header);
  const name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2];
  // Only a name, never a path.
  return name ? name.split(/[\\/]/).pop() || undefined : undefined;
}

/** The API's error answer as an `ApiError` (its code and message, else the status line). */
export async function toApiError(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
  let code = `E_HTTP_${response.status}`;
  let message = `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string' && body.error.message) message = body.error.message;
  } catch {
    // Not JSON (e.g. a proxy's HTML error page): keep the status-based message.
  }
  return new ApiError(response.status, code, message, retryAfter);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
