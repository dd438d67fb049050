/**
 * The live camera page (/live): the camera drawn in a model-free style on every frame (see
 * camera-stylizer.ts), a style switcher, live numbers, snapshots and recordings labelled as
 * AI-generated.
 *
 * While the camera runs, the document gets a `portoon:live-camera` event whose detail is
 * `{ stylizer, video, stream }` (and `portoon:live-camera-stopped` when it stops): the neural face
 * styles attach to it (`stylizer.setFaces(...)`), filling #neural-styles with their choices.
 */
import { byId } from '../dom.js';
import { openCamera, SHADER_STYLES, startCameraStylizer, type CameraStylizer } from './camera-stylizer.js';
import { CanvasRecorder, formatDuration, recordingType } from './recorder.js';
import { encodeSnapshot, frameCopy, timestampedName } from './snapshot.js';
import { renderStyleSwitcher } from './style-switcher.js';
// Neural face styles attach themselves to the camera through the portoon:live-camera event.
import './neural-faces.js';

/** What the `portoon:live-camera` event carries. */
interface LiveCameraDetail {
  stylizer: CameraStylizer;
  video: HTMLVideoElement;
  stream: MediaStream;
}

const DEFAULT_STYLE = 'cel';
const STATS_INTERVAL_MS = 500;
/** Least time between two announcements of the numbers to screen readers. */
const ANNOUNCE_INTERVAL_MS = 15_000;

const screen = byId('live-screen');
const video = byId<HTMLVideoElement>('live-video');
const canvas = byId<HTMLCanvasElement>('live-canvas');
const startButton = byId<HTMLButtonElement>('start-button');
const snapshotButton = byId<HTMLButtonElement>('snapshot-button');
const recordButton = byId<HTMLButtonElement>('record-button');
const recordTime = byId('record-time');
const snapshotLink = byId<HTMLAnchorElement>('snapshot-link');
const recordingLink = byId<HTMLAnchorElement>('recording-link');
const stats = byId('live-stats');
const statFps = byId('stat-fps');
const statLatency = byId('stat-latency');
const statFace = byId('stat-face');
const announcer = byId('live-stats-announce');
const errorBox = byId('live-error');
const statusLine = byId('live-status');
const neuralStyles = byId('neural-styles');

interface Session {
  stream: MediaStream;
  stylizer: CameraStylizer;
  statsTimer: number;
  startedAt: number;
}

interface FrameWaiter {
  resolve: (copy: HTMLCanvasElement) => void;
  reject: (error: Error) => void;
}

const params = new URLSearchParams(location.search);
const requestedStyle = params.get('style');
let style = SHADER_STYLES.some((s) => s.id === requestedStyle) ? requestedStyle! : DEFAULT_STYLE;
let session: Session | undefined;
let starting = false;
let recorder: CanvasRecorder | undefined;
let recordTimer = 0;
let version = 'web';
let lastAnnounced = 0;
let snapshotUrl: string | undefined;
let recordingUrl: string | undefined;
/** Snapshots waiting for the next drawn frame (the canvas is read during the frame that drew it). */
let snapshotWaiters: FrameWaiter[] = [];

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = message === '';
}

function say(message: string): void {
  statusLine.textContent = message;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function onFrame(): void {
  if (snapshotWaiters.length === 0) return;
  const waiters = snapshotWaiters;
  snapshotWaiters = [];
  try {
    const copy = frameCopy(canvas);
    for (const waiter of waiters) waiter.resolve(copy);
  } catch (error) {
    for (const waiter of waiters) waiter.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function setStats(fps: number, latencyMs: number, faceRefresh: number, frames: number): void {
  stats.dataset.fps = fps.toFixed(1);
  stats.dataset.latency = latencyMs.toFixed(1);
  stats.dataset.faceRefresh = faceRefresh.toFixed(1);
  stats.dataset.frames = String(frames);
  const running = session !== undefined;
  statFps.textContent = running ? fps.toFixed(0) : '–';
  statLatency.textContent = running && latencyMs > 0 ? latencyMs.toFixed(0) : '–';
  statFace.textContent = faceRefresh > 0 ? `${faceRefresh.toFixed(1)}/s` : '–';
}

function updateStats(): void {
  if (!session) return;
  const s = session.stylizer.stats();
  setStats(s.displayFps, s.latencyMs, s.faceRefreshPerSecond, s.frames);
  const now = performance.now();
  // Screen readers hear the numbers now and then (2 s after the start, then at most every 15 s),
  // not twice a second.
  if (now - session.startedAt > 2000 && now - lastAnnounced > ANNOUNCE_INTERVAL_MS) {
    lastAnnounced = now;
    const face = s.faceRefreshPerSecond > 0 ? `, faces redrawn ${s.faceRefreshPerSecond.toFixed(1)} times a second` : '';
    announcer.textContent = `${s.displayFps.toFixed(0)} frames a second, ${s.latencyMs.toFixed(0)} ms behind the camera${face}.`;
  }
}

function setRunning(running: boolean): void {
  screen.dataset.state = running ? 'running' : 'idle';
  startButton.textContent = running ? 'Stop camera' : 'Start camera';
  startButton.classList.toggle('button-primary', !running);
  snapshotButton.disabled = !running;
  recordButton.disabled = !running || recordingType() === undefined;
  recordButton.title = recordingType() === undefined ? 'This browser cannot record the live picture' : '';
}

async function start(): Promise<void> {
  if (session || starting) return;
  starting = true;
  showError('');
  screen.dataset.state = 'starting';
  startButton.disabled = true;
  say('Starting the camera…');
  let stream: MediaStream | undefined;
  try {
    stream = await openCamera();
    video.srcObject = stream;
    await video.play();
    const stylizer = startCameraStylizer({ video, canvas, shaderStyle: style, onFrame });
    session = { stream, stylizer, statsTimer: window.setInterval(updateStats, STATS_INTERVAL_MS), startedAt: performance.now() };
    canvas.dataset.style = style;
    lastAnnounced = 0;
    setRunning(true);
    say('');
    const detail: LiveCameraDetail = { stylizer, video, stream };
    document.dispatchEvent(new CustomEvent('portoon:live-camera', { detail }));
  } catch (error) {
    for (const track of stream?.getTracks() ?? []) track.stop();
    video.srcObject = null;
    setRunning(false);
    say('');
    showError(messageOf(error));
  } finally {
    starting = false;
    startButton.disabled = false;
  }
}

async function stop(): Promise<void> {
  const current = session;
  if (!current) return;
  if (recorder) await finishRecording();
  session = undefined;
  window.clearInterval(current.statsTimer);
  current.stylizer.stop();
  for (const track of current.stream.getTracks()) track.stop();
  video.srcObject = null;
  const waiters = snapshotWaiters;
  snapshotWaiters = [];
  for (const waiter of waiters) waiter.reject(new Error('The camera stopped before the snapshot was taken.'));
  setRunning(false);
  setStats(0, 0, 0, current.stylizer.stats().frames);
  document.dispatchEvent(new CustomEvent('portoon:live-camera-stopped'));
}

function selectStyle(id: string): void {
  style = id;
  canvas.dataset.style = id;
  session?.stylizer.setShaderStyle(id);
}

/** The style and models a snapshot records: the camera style, plus the face style when one is on. */
function provenance(): { style: string; models: string[] } {
  const faceStyle = neuralStyles.dataset.style;
  const models = (neuralStyles.dataset.models ?? '').split(',').filter((model) => model !== '');
  return { style: faceStyle ? `${style}+${faceStyle}` : style, models };
}

async function takeSnapshot(): Promise<void> {
  if (!session) return;
  showError('');
  // Registered now, taken in the next frame's onFrame (same task as its drawing).
  const copy = new Promise<HTMLCanvasElement>((resolve, reject) => snapshotWaiters.push({ resolve, reject }));
  snapshotButton.disabled = true;
  try {
    const blob = await encodeSnapshot(await copy, { version, ...provenance() });
    if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
    snapshotUrl = URL.createObjectURL(blob);
    const name = timestampedName('png');
    snapshotLink.href = snapshotUrl;
    snapshotLink.download = name;
    snapshotLink.textContent = `Download snapshot (${name})`;
    snapshotLink.hidden = false;
    say('Snapshot ready to download.');
  } catch (error) {
    showError(messageOf(error));
  } finally {
    snapshotButton.disabled = session === undefined;
  }
}

function startRecording(): void {
  if (!session || recorder) return;
  showError('');
  try {
    recorder = new CanvasRecorder(canvas, 30);
  } catch (error) {
    showError(messageOf(error));
    return;
  }
  const current = recorder;
  recordButton.textContent = 'Stop recording';
  recordButton.setAttribute('aria-pressed', 'true');
  recordTime.textContent = '0:00';
  recordTime.hidden = false;
  recordTimer = window.setInterval(() => {
    recordTime.textContent = formatDuration(current.elapsedMs());
  }, 250);
  say('Recording…');
}

async function finishRecording(): Promise<void> {
  const current = recorder;
  if (!current) return;
  recorder = undefined;
  window.clearInterval(recordTimer);
  recordButton.textContent = 'Record';
  recordButton.setAttribute('aria-pressed', 'false');
  recordTime.hidden = true;
  try {
    const { blob, durationMs } = await current.stop();
    if (recordingUrl) URL.revokeObjectURL(recordingUrl);
    recordingUrl = URL.createObjectURL(blob);
    const name = timestampedName('webm');
    recordingLink.href = recordingUrl;
    recordingLink.download = name;
    recordingLink.textContent = `Download recording (${formatDuration(durationMs)}, ${(blob.size / 1e6).toFixed(1)} MB)`;
    recordingLink.hidden = false;
    say('Recording ready to download.');
  } catch (error) {
    showError(messageOf(error));
  }
}

async function loadVersion(): Promise<void> {
  try {
    const response = await fetch('/api/v1/info', { headers: { accept: 'application/json' } });
    if (!response.ok) return;
    const info = (await response.json()) as { version?: unknown };
    if (typeof info.version === 'string' && info.version !== '') {
      version = info.version;
      byId('version').textContent = `v${version}`;
    }
  } catch {
    // Offline or no server: snapshots say "web" as their version.
  }
}

renderStyleSwitcher(byId('camera-styles'), 'camera-style', SHADER_STYLES, style, selectStyle);
setStats(0, 0, 0, 0);
setRunning(false);
startButton.addEventListener('click', () => void (session ? stop() : start()));
snapshotButton.addEventListener('click', () => void takeSnapshot());
recordButton.addEventListener('click', () => (recorder ? void finishRecording() : startRecording()));
window.addEventListener('pagehide', () => {
  for (const track of session?.stream.getTracks() ?? []) track.stop();
});
void loadVersion();
if (params.get('autostart') === '1') void start();
