/**
 * Wires the page together: loads the service's limits and styles, takes a photo, previews styles on
 * it, runs the full render as a job and shows the result. Each piece lives in its own module; this
 * file only holds the page's state and the order things happen in.
 */
import type { StyleInfo } from '../../src/core/style-info.js';
import { ApiClient, ApiError, type ServiceInfo } from './api.js';
import { loadApiKey } from './api-key.js';
import { AuthPanel } from './auth-panel.js';
import { CompareView } from './compare.js';
import { Controls } from './controls.js';
import { byId } from './dom.js';
import { resultFileName, setDownload } from './download.js';
import { Gallery } from './gallery.js';
import { imageSize } from './image-size.js';
import { runJob } from './job-runner.js';
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
  DEFAULT_ACCEPTED_TYPES,
  DEFAULT_MAX_UPLOAD_BYTES,
  describeTypes,
  formatBytes,
} from './validate-file.js';

interface Photo {
  file: File;
  /** Object URL of the file, or null when the browser cannot display its format. */
  url: string | null;
  size: { width: number; height: number } | null;
}

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
);
const controls = new Controls({
  strength: byId<HTMLInputElement>('strength'),
  strengthValue: byId<HTMLOutputElement>('strength-value'),
  mixStyle: byId<HTMLSelectElement>('mix-style'),
  mixWeight: byId<HTMLInputElement>('mix-weight'),
  mixWeightValue: byId<HTMLOutputElement>('mix-weight-value'),
  background: byId<HTMLSelectElement>('background'),
  format: byId<HTMLSelectElement>('format'),
});
const gallery = new Gallery(byId('gallery'), (style) => {
  controls.mainStyleChanged(style);
  updateRunButton();
});
const previews = new PreviewQueue(gallery, (error) => void onPreviewFailure(error));

const fileInput = byId<HTMLInputElement>('file-input');
const dropzone = byId('dropzone');
const viewer = byId('viewer');
const runButton = byId<HTMLButtonElement>('run-button');
const cancelButton = byId<HTMLButtonElement>('cancel-button');
const resultBox = byId('result');
const download = byId<HTMLAnchorElement>('download');

let limits = { acceptedTypes: DEFAULT_ACCEPTED_TYPES, maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES, maxInputPixels: 0 };
let photo: Photo | null = null;
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
  else messages.error(`Something went wrong in the page: ${error instanceof Error ? error.message : String(error)}`);
}

function applyInfo(info: ServiceInfo): void {
  limits = {
    acceptedTypes: info.acceptedTypes.length > 0 ? info.acceptedTypes : DEFAULT_ACCEPTED_TYPES,
    maxUploadBytes: info.maxUploadBytes > 0 ? info.maxUploadBytes : DEFAULT_MAX_UPLOAD_BYTES,
    maxInputPixels: info.maxInputPixels,
  };
  byId('upload-hint').textContent = `${describeTypes(limits.acceptedTypes)}, up to ${formatBytes(limits.maxUploadBytes)}`;
  fileInput.accept = acceptAttribute(limits.acceptedTypes);
  byId('version').textContent = info.version ? `v${info.version}` : '';
}

function applyStyles(styles: StyleInfo[]): void {
  gallery.setStyles(styles, PREFERRED_STYLE);
  controls.setStyles(styles, gallery.selected());
  if (!styles.some((s) => s.installed)) {
    messages.error('No style is available on this server yet: its models are not installed.');
  }
  updateRunButton();
  if (!photo) startSamplePreviews();
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
  if (photo?.url) URL.revokeObjectURL(photo.url);
  if (!size) URL.revokeObjectURL(url);
  const current: Photo = { file, url: size ? url : null, size };
  photo = current;

  compare.showOriginal(current.url, size?.width ?? null, size?.height ?? null);
  dropzone.hidden = true;
  viewer.hidden = false;
  const dims = size ? ` · ${size.width} × ${size.height}` : '';
  byId('photo-meta').textContent = `${file.name}${dims} · ${formatBytes(file.size)}`;
  byId('gallery-hint').textContent = 'Each preview shows your photo in that style.';
  updateRunButton();

  const source = await previewSource(file);
  if (photo === current) startPhotoPreviews(source);
}

async function onPreviewFailure(error: ApiError): Promise<void> {
  if (error.status === 401) {
    await auth.request(error.message);
    if (photo) startPhotoPreviews(await previewSource(photo.file));
    return;
  }
  // The server cannot use this photo (too large, not an image, damaged): no style will do better.
  discardPhoto();
  showError(error);
}

/** Back to the empty drop zone, as before any photo was chosen. */
function discardPhoto(): void {
  render?.abort();
  previews.stop();
  clearResult();
  if (photo?.url) URL.revokeObjectURL(photo.url);
  photo = null;
  viewer.hidden = true;
  dropzone.hidden = false;
  byId('gallery-hint').textContent = 'Add a photo to see every style on it.';
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
  runButton.disabled = render !== null || photo === null || gallery.selected() === null;
}

function clearResult(): void {
  resultBox.hidden = true;
  download.hidden = true;
  download.removeAttribute('href');
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  resultUrl = null;
}

async function runRender(): Promise<void> {
  const style = gallery.selected();
  const current = photo;
  if (!current || !style || render) return;
  messages.clear();
  const controller = new AbortController();
  render = controller;
  updateRunButton();
  runButton.textContent = 'Working…';
  cancelButton.hidden = false;
  previews.pause();
  progress.uploading();
  const started = performance.now();
  try {
    const options = controls.options(style);
    const { result, status } = await withAuth(() =>
      runJob(
        api,
        current.file,
        current.file.name,
        options,
        { onStatus: (s) => progress.update(s), onBusy: (seconds) => progress.busy(seconds) },
        controller.signal,
      ),
    );
    if (photo !== current) return;
    clearResult();
    resultUrl = URL.createObjectURL(result.blob);
    const size = (await imageSize(resultUrl)) ?? current.size ?? { width: 1, height: 1 };
    compare.showResult(resultUrl, size.width, size.height, controls.describe(options));
    setDownload(download, resultUrl, resultFileName(current.file.name, style, result.type));
    resultBox.hidden = false;
    download.hidden = false;
    revealViewer();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const faces = status.report?.faces.length;
    const faceNote = faces === undefined ? '' : faces === 1 ? ' 1 face found.' : ` ${faces} faces found.`;
    messages.info(`Done in ${seconds} s.${faceNote}`);
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

setupUpload(
  { input: fileInput, pickers: [byId('pick-button'), byId('change-button')], dropTargets: [dropzone, viewer] },
  (file) => void takePhoto(file).catch(showError),
);
byId<HTMLFormElement>('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  void runRender();
});
cancelButton.addEventListener('click', () => render?.abort());
fileInput.accept = acceptAttribute(limits.acceptedTypes);
void loadService();
