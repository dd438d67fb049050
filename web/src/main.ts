/**
 * Wires the page together: loads the service's limits and styles, takes a photo or a video, previews
 * styles on it (on a frame of a video), runs the full render as a job and shows the result. Each
 * piece lives in its own module; this file only holds the page's state and the order things happen in.
 */
import type { StyleInfo } from '../../src/core/style-info.js';
import { ApiClient, ApiError, type CartoonOptions, type ServiceInfo, type VideoOptions } from './api.js';
import { loadApiKey } from './api-key.js';
import { AuthPanel } from './auth-panel.js';
import { CompareView } from './compare.js';
import { Controls } from './controls.js';
import { deviceEngine, deviceModeSupported, onModelDownload } from './device-engine.js';
import { byId, h } from './dom.js';
import { resultFileName, setDownload } from './download.js';
import { grabFrame } from './frame-grab.js';
import { Gallery } from './gallery.js';
import { imageSize } from './image-size.js';
import { runJob, type JobListeners } from './job-runner.js';
import { Messages } from './messages.js';
import { PreviewQueue } from './preview-queue.js';
import { ProgressView } from './progress.js';
import { previewSource, type PreviewSource } from './shrink.js';
import { isAbortError } from './sleep.js';
import { setupUpload } from './upload.js';
import {
  acceptAttribute,
  checkContents,
  checkFile,
  checkVideoContents,
  checkVideoFile,
  DEFAULT_ACCEPTED_TYPES,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_MAX_VIDEO_UPLOAD_BYTES,
  describeTypes,
  formatBytes,
} from './validate-file.js';
import { VideoControls, type VideoFieldValues } from './video-controls.js';
import { videoFacts, videoSummary } from './video-report.js';
import { isVideoFile, VIDEO_ACCEPT, VIDEO_TYPE_LABELS } from './video-types.js';
import { VideoView, type VideoMeta } from './video-view.js';
import { requestVerification, VerifyPanel } from './verify-panel.js';

interface Photo {
  kind: 'photo';
  file: File;
  /** Object URL of the file, or null when the browser cannot display its format. */
  url: string | null;
  size: { width: number; height: number } | null;
}

interface Clip {
  kind: 'video';
  file: File;
  /** Object URL of the file (revoked when another file is chosen). */
  url: string;
  /** Size and length, once the browser has read them; null when it cannot play the format. */
  meta: VideoMeta | null;
  /** A still of the video for the style previews, when the browser could take one. */
  preview: PreviewSource | null;
}

/** What the user chose: a photo or a video. */
type Media = Photo | Clip;

const PREFERRED_STYLE = 'anime';

const api = new ApiClient({ apiKey: loadApiKey });
const messages = new Messages(byId('error'), byId('status'));
const auth = new AuthPanel(
  byId('auth'),
  byId<HTMLFormElement>('auth-form'),
  byId<HTMLInputElement>('api-key'),
  byId('auth-note'),
  byId<HTMLButtonElement>('forget-key'),
);
const compare = new CompareView(
  byId('compare'),
  byId<HTMLImageElement>('before-img'),
  byId<HTMLImageElement>('after-img'),
  byId('compare-handle'),
  byId('compare-tag-after'),
);
const progress = new ProgressView(
  byId('progress'),
  byId('progress-stage'),
  byId('progress-percent'),
  byId('progress-bar'),
  byId('progress-fill'),
  byId('progress-announce'),
);
const controls = new Controls({
  strength: byId<HTMLInputElement>('strength'),
  strengthValue: byId<HTMLOutputElement>('strength-value'),
  mixStyle: byId<HTMLSelectElement>('mix-style'),
  mixWeight: byId<HTMLInputElement>('mix-weight'),
  mixWeightValue: byId<HTMLOutputElement>('mix-weight-value'),
  background: byId<HTMLSelectElement>('background'),
  label: byId<HTMLSelectElement>('label'),
  format: byId<HTMLSelectElement>('format'),
});
const videoControls = new VideoControls({
  audio: byId<HTMLInputElement>('video-audio'),
  maxSide: byId<HTMLSelectElement>('video-max-side'),
  start: byId<HTMLInputElement>('video-start'),
  duration: byId<HTMLInputElement>('video-duration'),
});
const videoView = new VideoView({
  root: byId('video-view'),
  before: byId<HTMLVideoElement>('before-video'),
  after: byId<HTMLVideoElement>('after-video'),
  afterCell: byId('after-video-cell'),
  afterTag: byId('after-video-tag'),
  missing: byId('video-missing'),
});
const gallery = new Gallery(byId('gallery'), (style) => {
  controls.mainStyleChanged(style);
  updateRunButton();
});
const previews = new PreviewQueue(gallery, (error) => void onPreviewFailure(error));

const ON_DEVICE_KEY = 'portoon.onDevice';
const onDevice = byId<HTMLInputElement>('on-device');
onDevice.checked = deviceModeSupported() && localStorage.getItem(ON_DEVICE_KEY) === '1';
onDevice.disabled = !deviceModeSupported();

const fileInput = byId<HTMLInputElement>('file-input');
const dropzone = byId('dropzone');
const viewer = byId('viewer');
const runButton = byId<HTMLButtonElement>('run-button');
const cancelButton = byId<HTMLButtonElement>('cancel-button');
const resultBox = byId('result');
const download = byId<HTMLAnchorElement>('download');
const videoFactsList = byId('video-facts');

let limits = {
  acceptedTypes: DEFAULT_ACCEPTED_TYPES,
  maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
  maxVideoUploadBytes: DEFAULT_MAX_VIDEO_UPLOAD_BYTES,
  maxInputPixels: 0,
};
let media: Media | null = null;
let render: AbortController | null = null;
let resultUrl: string | null = null;

/** Runs an API call, asking for an API key and trying again whenever the server answers 401. */
async function withAuth<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await auth.request(error.message);
    }
  }
}

function showError(error: unknown): void {
  if (error instanceof ApiError) messages.error(error.message, error.code);
  else if (codeOf(error) !== undefined) messages.error((error as Error).message, codeOf(error));
  else messages.error(`Something went wrong in the page: ${error instanceof Error ? error.message : String(error)}`);
}

function applyInfo(info: ServiceInfo): void {
  const videoLimit = info.maxVideoUploadBytes ?? 0;
  limits = {
    acceptedTypes: info.acceptedTypes.length > 0 ? info.acceptedTypes : DEFAULT_ACCEPTED_TYPES,
    maxUploadBytes: info.maxUploadBytes > 0 ? info.maxUploadBytes : DEFAULT_MAX_UPLOAD_BYTES,
    maxVideoUploadBytes: videoLimit > 0 ? videoLimit : DEFAULT_MAX_VIDEO_UPLOAD_BYTES,
    maxInputPixels: info.maxInputPixels,
  };
  byId('upload-hint').textContent = `${describeTypes(limits.acceptedTypes)}, up to ${formatBytes(limits.maxUploadBytes)}`;
  byId('video-hint').textContent = `Videos: ${VIDEO_TYPE_LABELS}, up to ${formatBytes(limits.maxVideoUploadBytes)}`;
  fileInput.accept = acceptList(limits.acceptedTypes);
  byId<HTMLInputElement>('verify-input').accept = acceptAttribute(limits.acceptedTypes);
  byId('version').textContent = info.version ? `v${info.version}` : '';
}

/** The file picker offers photos and videos. */
function acceptList(photoTypes: readonly string[]): string {
  return [acceptAttribute(photoTypes), ...VIDEO_ACCEPT].join(',');
}

/**
 * Switches the page between a photo and a video: the viewer, the settings that only one of them has
 * (a photo's file format, a video's sound and size) and the words that name what the user chose.
 */
function showKind(kind: Media['kind']): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-only]')) element.hidden = element.dataset.only !== kind;
  byId('controls').dataset.kind = kind;
  byId('compare').hidden = kind !== 'photo';
  byId('video-view').hidden = kind !== 'video';
  byId('change-button').textContent = kind === 'video' ? 'Change video' : 'Change photo';
  byId('ai-notice-text').textContent =
    kind === 'video'
      ? 'This video was made by an AI model from yours. Please say so when you share it.'
      : 'This picture was made by an AI model from your photo. Please say so when you share it.';
}

function applyStyles(styles: StyleInfo[]): void {
  gallery.setStyles(styles, PREFERRED_STYLE);
  controls.setStyles(styles, gallery.selected());
  if (!styles.some((s) => s.installed)) {
    messages.error('No style is available on this server yet: its models are not installed.');
  }
  updateRunButton();
  if (!media) startSamplePreviews();
}

/** Samples are the same for every photo: fetched once, then reused when the gallery goes back to them. */
const samples = new Map<string, Blob>();

function startSamplePreviews(): void {
  const ids = gallery.previewOrder().filter((id) => gallery.sampleUrl(id));
  void previews.start('sample', ids, async (style, signal) => {
    const cached = samples.get(style);
    if (cached) return cached;
    const blob = await api.stylePreview(gallery.sampleUrl(style) ?? '', signal);
    samples.set(style, blob);
    return blob;
  });
}

/** Previews of each style on the user's photo, or on a still of their video. */
function startPhotoPreviews(source: PreviewSource): void {
  void previews.start('photo', gallery.previewOrder(), async (style, signal) => {
    const result = await api.cartoon(source.blob, source.fileName, { style, preview: true }, signal);
    return result.blob;
  });
}

async function loadService(): Promise<void> {
  try {
    const info = await withAuth(() => api.info());
    applyInfo(info);
    if (info.authRequired && !loadApiKey()) await auth.request();
    applyStyles(await withAuth(() => api.styles()));
  } catch (error) {
    showError(error);
  }
}

async function takeFile(file: File): Promise<void> {
  if (isVideoFile(file)) return takeVideo(file);
  return takePhoto(file);
}

async function takePhoto(file: File): Promise<void> {
  messages.clear();
  const basic = checkFile(file, limits);
  if (!basic.ok) return messages.error(basic.message, 'E_CLIENT_CHECK');
  const contents = await checkContents(file);
  if (!contents.ok) return messages.error(contents.message, 'E_CLIENT_CHECK');

  const url = URL.createObjectURL(file);
  const size = await imageSize(url);
  if (size && limits.maxInputPixels > 0 && size.width * size.height > limits.maxInputPixels) {
    URL.revokeObjectURL(url);
    const megapixels = (limits.maxInputPixels / 1e6).toFixed(1);
    return messages.error(
      `“${file.name}” is ${size.width} × ${size.height} pixels; the limit is ${megapixels} megapixels.`,
      'E_CLIENT_CHECK',
    );
  }

  render?.abort();
  previews.stop();
  clearResult();
  releaseMedia();
  if (!size) URL.revokeObjectURL(url);
  const current: Photo = { kind: 'photo', file, url: size ? url : null, size };
  media = current;

  showKind('photo');
  compare.showOriginal(current.url, size?.width ?? null, size?.height ?? null);
  dropzone.hidden = true;
  viewer.hidden = false;
  const dims = size ? ` · ${size.width} × ${size.height}` : '';
  byId('photo-meta').textContent = `${file.name}${dims} · ${formatBytes(file.size)}`;
  byId('gallery-hint').textContent = 'Each preview shows your photo in that style.';
  updateRunButton();

  if (onDevice.checked) {
    showDevicePreviewHint();
    return;
  }
  const source = await previewSource(file);
  if (media === current) startPhotoPreviews(source);
}

/** On this device the photo is never sent, so the previews show the server's sample photo instead. */
function showDevicePreviewHint(): void {
  byId('gallery-hint').textContent = 'Your photo stays on this device: the previews show each style on a sample photo.';
  startSamplePreviews();
}

/** Switching on-device processing on or off while a photo is shown changes what the previews use. */
async function onDeviceChanged(): Promise<void> {
  localStorage.setItem(ON_DEVICE_KEY, onDevice.checked ? '1' : '0');
  if (media?.kind !== 'photo') return;
  previews.stop();
  if (onDevice.checked) {
    showDevicePreviewHint();
    return;
  }
  const current = media;
  byId('gallery-hint').textContent = 'Each preview shows your photo in that style.';
  const source = await previewSource(current.file);
  if (media === current && !onDevice.checked) startPhotoPreviews(source);
}

async function takeVideo(file: File): Promise<void> {
  messages.clear();
  const basic = checkVideoFile(file, limits);
  if (!basic.ok) return messages.error(basic.message, 'E_CLIENT_CHECK');
  const contents = await checkVideoContents(file);
  if (!contents.ok) return messages.error(contents.message, 'E_CLIENT_CHECK');

  render?.abort();
  previews.stop();
  clearResult();
  releaseMedia();
  const current: Clip = { kind: 'video', file, url: URL.createObjectURL(file), meta: null, preview: null };
  media = current;

  showKind('video');
  dropzone.hidden = true;
  viewer.hidden = false;
  byId('photo-meta').textContent = `${file.name} · ${formatBytes(file.size)}`;
  byId('gallery-hint').textContent = 'Each preview shows a frame of your video in that style.';
  updateRunButton();

  const meta = await videoView.showOriginal(current.url);
  if (media !== current) return;
  current.meta = meta;
  if (meta) {
    byId('photo-meta').textContent =
      `${file.name} · ${meta.width} × ${meta.height} · ${formatSeconds(meta.duration)} · ${formatBytes(file.size)}`;
  }
  current.preview = meta ? await grabFrame(current.url) : null;
  if (media !== current) return;
  if (current.preview) {
    startPhotoPreviews(current.preview);
  } else {
    // Without a still there is nothing of the user's to preview: the samples show what each style does.
    byId('gallery-hint').textContent = 'This browser cannot show a frame of this video: the previews show a sample photo.';
    startSamplePreviews();
  }
}

/** "8.4 s", "2:05", "1:02:05": a clip's length for the line under it. */
function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const clock = `${Math.floor((whole % 3600) / 60)}:${String(whole % 60).padStart(2, '0')}`;
  return whole >= 3600 ? `${Math.floor(whole / 3600)}:${clock.padStart(5, '0')}` : clock;
}

/** What the previews are rendered from: a small copy of the photo, or the still of the video. */
async function previewSourceOf(current: Media): Promise<PreviewSource | null> {
  return current.kind === 'photo' ? previewSource(current.file) : current.preview;
}

async function onPreviewFailure(error: ApiError): Promise<void> {
  if (error.status === 401) {
    await auth.request(error.message);
    const source = media ? await previewSourceOf(media) : null;
    if (source) startPhotoPreviews(source);
    return;
  }
  if (media?.kind === 'video') {
    // The still was refused, not the video (which the job checks on its own): show the samples instead.
    startSamplePreviews();
    return;
  }
  // The server cannot use this photo (too large, not an image, damaged): no style will do better.
  discardPhoto();
  showError(error);
}

/** Lets go of the chosen file's object URL and, for a video, of the players. */
function releaseMedia(): void {
  if (media?.url) URL.revokeObjectURL(media.url);
  if (media?.kind === 'video') videoView.clear();
}

/** Back to the empty drop zone, as before any photo was chosen. */
function discardPhoto(): void {
  render?.abort();
  previews.stop();
  clearResult();
  releaseMedia();
  media = null;
  showKind('photo');
  viewer.hidden = true;
  dropzone.hidden = false;
  byId('gallery-hint').textContent = 'Add a photo or a video to see every style on it.';
  updateRunButton();
  startSamplePreviews();
}

/** On a phone the viewer is above the controls, off screen when the render ends: bring it into view. */
function revealViewer(): void {
  const box = viewer.getBoundingClientRect();
  if (box.top >= 0 && box.top < window.innerHeight / 2) return;
  const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  viewer.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'start' });
}

function updateRunButton(): void {
  runButton.disabled = render !== null || media === null || gallery.selected() === null;
}

function clearResult(): void {
  resultBox.hidden = true;
  download.hidden = true;
  download.removeAttribute('href');
  videoFactsList.hidden = true;
  videoFactsList.replaceChildren();
  videoView.clearResult();
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  resultUrl = null;
}

const jobListeners: JobListeners = {
  onStatus: (status) => progress.update(status),
  onBusy: (seconds) => progress.busy(seconds),
};

async function runRender(): Promise<void> {
  const style = gallery.selected();
  const current = media;
  if (!current || !style || render) return;
  messages.clear();
  // A video's settings are checked before its upload, which may be long.
  const videoSettings = current.kind === 'video' ? videoControls.read(current.meta?.duration || null) : null;
  if (videoSettings && !videoSettings.ok) {
    messages.error(videoSettings.message, 'E_CLIENT_CHECK');
    videoSettings.field.focus();
    return;
  }
  const controller = new AbortController();
  render = controller;
  updateRunButton();
  runButton.textContent = 'Working…';
  cancelButton.hidden = false;
  previews.pause();
  if (!(current.kind === 'photo' && onDevice.checked)) progress.uploading(current.kind);
  const started = performance.now();
  try {
    if (current.kind === 'photo' && onDevice.checked) await renderPhotoOnDevice(current, style, controller.signal, started);
    else if (current.kind === 'photo') await renderPhoto(current, style, controller.signal, started);
    else if (videoSettings?.ok) await renderVideo(current, style, videoSettings.fields, controller.signal, started);
  } catch (error) {
    if (isAbortError(error)) messages.info('Cancelled.');
    else showError(error);
  } finally {
    if (render === controller) render = null;
    progress.hide();
    runButton.textContent = 'Cartoonize';
    cancelButton.hidden = true;
    updateRunButton();
    previews.resume();
  }
}

async function renderPhoto(current: Photo, style: string, signal: AbortSignal, started: number): Promise<void> {
  const options = controls.options(style);
  const { result, status } = await withAuth(() =>
    runJob(api, (s, onBusy) => api.createJob(current.file, current.file.name, options, s, onBusy), jobListeners, signal),
  );
  await showPhotoResult(current, result.blob, result.type, options, status.report?.faces.length, started);
}

/** The same render in this browser: the photo is never uploaded (only models are downloaded, once). */
async function renderPhotoOnDevice(current: Photo, style: string, signal: AbortSignal, started: number): Promise<void> {
  const options = controls.options(style);
  progress.stage({ stage: 'decode', progress: 0 });
  onModelDownload((download) => {
    if (!download.cached) progress.downloading(download.model, download.loaded, download.total);
  });
  try {
    for (;;) {
      try {
        const engine = await deviceEngine(loadApiKey() ?? undefined);
        const { image, report } = await engine.cartoonize(current.file, { ...options, signal, onProgress: (p) => progress.stage(p) });
        await showPhotoResult(current, image, image.type, options, report.faces.length, started, 'on this device');
        return;
      } catch (error) {
        if (signal.aborted) throw new DOMException('Cancelled', 'AbortError');
        if (codeOf(error) !== 'E_UNAUTHORIZED') throw error;
        await auth.request((error as Error).message);
      }
    }
  } finally {
    onModelDownload(undefined);
  }
}

/** The error code of a PortoonError from the on-device engine. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function showPhotoResult(
  current: Photo,
  blob: Blob,
  type: string,
  options: CartoonOptions,
  faces: number | undefined,
  started: number,
  where = '',
): Promise<void> {
  if (media !== current) return;
  clearResult();
  resultUrl = URL.createObjectURL(blob);
  const size = (await imageSize(resultUrl)) ?? current.size ?? { width: 1, height: 1 };
  compare.showResult(resultUrl, size.width, size.height, controls.describe(options));
  setDownload(download, resultUrl, resultFileName(current.file.name, options.style, type));
  resultBox.hidden = false;
  download.hidden = false;
  revealViewer();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const faceNote = faces === undefined ? '' : faces === 1 ? ' 1 face found.' : ` ${faces} faces found.`;
  messages.info(`Done${where ? ` ${where}` : ''} in ${seconds} s.${faceNote}`);
}

async function renderVideo(current: Clip, style: string, fields: VideoFieldValues, signal: AbortSignal, started: number): Promise<void> {
  const options: VideoOptions = { ...controls.styleOptions(style), ...fields };
  const { result, status } = await withAuth(() =>
    runJob(api, (s, onBusy) => api.createVideoJob(current.file, current.file.name, options, s, onBusy), jobListeners, signal),
  );
  if (media !== current) return;
  clearResult();
  const url = URL.createObjectURL(result.blob);
  resultUrl = url;
  await videoView.showResult(url, controls.describe(options), fields.start ?? 0);
  // Another file chosen while the result loaded: clearResult has let go of it.
  if (resultUrl !== url) return;
  setDownload(download, url, result.fileName ?? resultFileName(current.file.name, style, result.type));
  if (status.video) {
    videoFactsList.replaceChildren(...videoFacts(status.video).map((fact) => h('li', {}, fact)));
    videoFactsList.hidden = false;
  }
  resultBox.hidden = false;
  download.hidden = false;
  revealViewer();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  messages.info(`Done in ${seconds} s.${status.video ? ` ${videoSummary(status.video)}` : ''}`);
}

setupUpload(
  { input: fileInput, pickers: [byId('pick-button'), byId('change-button')], dropTargets: [dropzone, viewer] },
  (file) => void takeFile(file).catch(showError),
);
byId<HTMLFormElement>('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  void runRender();
});
cancelButton.addEventListener('click', () => render?.abort());
onDevice.addEventListener('change', () => void onDeviceChanged().catch(showError));
fileInput.accept = acceptList(limits.acceptedTypes);
new VerifyPanel(
  {
    drop: byId('verify-drop'),
    pick: byId<HTMLButtonElement>('verify-pick'),
    input: byId<HTMLInputElement>('verify-input'),
    verdict: byId('verify-verdict'),
    findings: byId('verify-findings'),
    error: byId('verify-error'),
  },
  (file, signal) => withAuth(() => requestVerification(file, file.name, loadApiKey(), signal)),
  () => limits.maxUploadBytes,
);
void loadService();
