/**
 * The call page (/call): a video call between two people who see each other as cartoons. Each side
 * draws its camera in a camera style (camera-stylizer.ts), copies every drawn frame onto a "send"
 * canvas and sends that canvas's stream to the other side over WebRTC; the service only introduces
 * the two (a room, and a WebSocket that relays their negotiation).
 *
 * "Start a call" opens a room and puts its link, `/call#<room>`, on screen; opening a link joins that
 * room. The room id stays in the fragment, which browsers never send to a server.
 *
 * With `?probe=1`, each sent frame carries a stamp (frame-probe.ts) and the received frames are
 * measured: `window.__portoonCallStats` then holds { received, decoded, dropped, fps, latencyP50,
 * latencyP95, lastCounter, sent } (updated twice a second). `?capture=timer` sends the canvas at a
 * steady 30 fps instead of one frame per drawn frame (for comparison); `?style=<id>` picks the style.
 */
import { CALL_CLOSE_CODES, type PeerSignal, type ReceivedSignal } from '../../../src/core/call-signal.js';
import { loadApiKey } from '../api-key.js';
import { AuthPanel } from '../auth-panel.js';
import { byId, h } from '../dom.js';
import { openCamera, SHADER_STYLES, startCameraStylizer, type CameraStylizer } from '../live/camera-stylizer.js';
import {
  decodeProbe,
  drawProbe,
  encodeProbe,
  ProbeReader,
  probeArea,
  probeRoundTrip,
  readProbe,
  type CallProbeStats,
  type ProbeStamp,
} from './frame-probe.js';
import { CallPeer } from './peer.js';
import { Signalling, signallingUrl, type SignallingClosed } from './signalling.js';

const SEND_WIDTH = 640;
const SEND_HEIGHT = 480;
const SEND_FPS = 30;
const STATS_INTERVAL_MS = 500;
const DEFAULT_STYLE = 'cel';

/** What `window.__portoonCallStats` holds with `?probe=1`. */
export interface CallStats extends CallProbeStats {
  /** Frames this side has sent (drawn onto the send canvas). */
  sent: number;
  /** This side's camera frames drawn per second (the most it can send). */
  drawFps: number;
  /** When these numbers were taken (Date.now()). */
  at: number;
  /** The receiving side's WebRTC numbers, for telling where frames are lost. */
  webrtc: Record<string, number | string>;
}

/** A frame as the tests compare them: RGBA pixels at a small size. */
interface FramePixels {
  counter: number;
  width: number;
  height: number;
  /** Base64 of the RGBA bytes. */
  rgba: string;
}

declare global {
  interface Window {
    __portoonCallStats?: CallStats;
    /** With `?probe=1`: measurement helpers (see the frame probe). */
    __portoonCallProbe?: {
      resetLatency(): void;
      /**
       * The raw camera frame and the frame sent for each of `count` consecutive sent frames from number
       * `from` on (a run, so that a received frame can be matched even when the network drops some).
       */
      sentFrames(from: number, count: number): Promise<{ camera: FramePixels; sent: FramePixels }[]>;
      /** The first received frame whose stamp reads `counter` or later. */
      receivedFrame(counter: number): Promise<FramePixels>;
      /** The stamp's encoding, for checking it. */
      codec: {
        encode: typeof encodeProbe;
        decode: (bits: number[]) => ProbeStamp | null;
        roundTrip: typeof probeRoundTrip;
      };
    };
  }
}

const screen = byId('call-screen');
const remoteVideo = byId<HTMLVideoElement>('remote-video');
const cameraVideo = byId<HTMLVideoElement>('camera-video');
/** The self-view is the canvas that is sent (what the other person sees). */
const sendCanvas = byId<HTMLCanvasElement>('local-canvas');
const localFigure = byId('call-local');
const placeholderText = byId('call-placeholder-text');
const startButton = byId<HTMLButtonElement>('start-button');
const hangUpButton = byId<HTMLButtonElement>('hangup-button');
const stateLine = byId('call-state');
const errorBox = byId('call-error');
const share = byId('call-share');
const shareLink = byId<HTMLInputElement>('share-link');
const copyButton = byId<HTMLButtonElement>('copy-button');
const copyStatus = byId('copy-status');
const styleSelect = byId<HTMLSelectElement>('call-style');
const statFps = byId('stat-fps');
const statLatency = byId('stat-latency');
const statDropped = byId('stat-dropped');

const auth = new AuthPanel(
  byId('auth'),
  byId<HTMLFormElement>('auth-form'),
  byId<HTMLInputElement>('api-key'),
  byId('auth-note'),
  byId<HTMLButtonElement>('forget-key'),
);

const params = new URLSearchParams(location.search);
const probing = params.get('probe') === '1';
const captureMode = params.get('capture') === 'timer' ? 'timer' : 'frame';
const requestedStyle = params.get('style');
let style = SHADER_STYLES.some((s) => s.id === requestedStyle) ? requestedStyle! : DEFAULT_STYLE;

type ScreenState = 'idle' | 'starting' | 'waiting' | 'connecting' | 'connected' | 'ended';

/** Everything one call holds; undone by `endCall`. */
interface Call {
  room: string;
  stream: MediaStream;
  stylizer: CameraStylizer;
  sendTrack: MediaStreamTrack;
  sendStream: MediaStream;
  signalling: Signalling;
  iceServers: RTCIceServer[];
  polite: boolean;
  peer: CallPeer | undefined;
  reader: ProbeReader | undefined;
  statsTimer: number;
  webrtc: Record<string, number | string>;
}

let call: Call | undefined;
let busy = false;

function setState(state: ScreenState, message: string): void {
  screen.dataset.state = state;
  document.body.dataset.callState = state;
  stateLine.textContent = message;
}

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = message === '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The room id of a `/call#<room>` link (base64url, as the service makes them); undefined otherwise. */
function roomFromHash(): string | undefined {
  const room = decodeURIComponent(location.hash.replace(/^#/, '')).trim();
  return /^[A-Za-z0-9_-]{1,64}$/.test(room) ? room : undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A JSON request to the API with the user's key; a 401 asks for the key and tries again. */
async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  for (;;) {
    const headers = new Headers(init.headers);
    headers.set('accept', 'application/json');
    const key = loadApiKey();
    if (key) headers.set('authorization', `Bearer ${key}`);
    let response: Response;
    try {
      response = await fetch(path, { ...init, headers });
    } catch {
      throw new HttpError(0, 'E_NETWORK', 'Could not reach the Portoon server. Check your connection and try again.');
    }
    if (response.ok) return (await response.json()) as T;
    let code = `E_HTTP_${response.status}`;
    let message = `The server answered ${response.status}.`;
    try {
      const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      // Not JSON: keep the status.
    }
    if (response.status !== 401) throw new HttpError(response.status, code, message);
    setState(call ? 'connecting' : 'idle', 'Waiting for an API key…');
    await auth.request(message);
  }
}

function createRoom(): Promise<{ room: string; expiresAt: string }> {
  return api('/api/v1/calls', { method: 'POST' });
}

async function iceServers(): Promise<RTCIceServer[]> {
  const config = await api<{ iceServers: RTCIceServer[] }>('/api/v1/calls/config');
  return config.iceServers;
}

function showShareLink(room: string): void {
  shareLink.value = `${location.origin}/call#${room}`;
  share.hidden = false;
}

/** Opens the camera and starts drawing it, styled, onto the send canvas. */
async function startSending(): Promise<Pick<Call, 'stream' | 'stylizer' | 'sendTrack' | 'sendStream'> & { counter: () => number }> {
  const stream = await openCamera({ width: SEND_WIDTH, height: SEND_HEIGHT, frameRate: SEND_FPS });
  try {
    cameraVideo.srcObject = stream;
    await cameraVideo.play();
    [sendCanvas.width, sendCanvas.height] = [SEND_WIDTH, SEND_HEIGHT];
    const context = sendCanvas.getContext('2d', { alpha: false });
    if (!context) throw new Error('This browser cannot draw the picture to send (no 2D canvas).');
    // The stylizer draws off screen; its frames reach the page only through the send canvas (showing
    // both would cost a second copy of every frame: measured 16 instead of 18 fps on a 2-core machine).
    const styled = h('canvas');
    // One frame per drawn frame (requestFrame), or the canvas sampled at a steady rate.
    const sendStream = sendCanvas.captureStream(captureMode === 'timer' ? SEND_FPS : 0);
    const sendTrack = sendStream.getVideoTracks()[0];
    if (!sendTrack) throw new Error('This browser cannot send a canvas as video (no captureStream).');
    let counter = 0;
    const stylizer = startCameraStylizer({
      video: cameraVideo,
      canvas: styled,
      shaderStyle: style,
      onFrame: () => {
        counter++;
        context.drawImage(styled, 0, 0, SEND_WIDTH, SEND_HEIGHT);
        if (probing) {
          drawProbe(context, counter, Date.now(), SEND_WIDTH);
          sentRuns.drawn(counter, () => ({ camera: pixelsOf(cameraVideo, counter), sent: pixelsOf(sendCanvas, counter) }));
        }
        if (captureMode === 'frame') (sendTrack as CanvasCaptureMediaStreamTrack).requestFrame();
      },
    });
    return { stream, stylizer, sendTrack, sendStream, counter: () => counter };
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    throw error;
  }
}

/** Starts a call: a new room, or the room of the link. */
async function startCall(joinRoom: string | undefined): Promise<void> {
  if (busy || call) return;
  busy = true;
  showError('');
  startButton.disabled = true;
  setState('starting', joinRoom ? 'Joining the call…' : 'Starting a call…');
  try {
    const room = joinRoom ?? (await createRoom()).room;
    if (!joinRoom) history.replaceState(null, '', `#${room}`);
    const servers = await iceServers();
    showShareLink(room);
    setState('starting', 'Starting your camera…');
    const sending = await startSending();
    localFigure.hidden = false;
    const current: Call = {
      room,
      ...sending,
      // Its events come later, once `current` is set.
      signalling: new Signalling(signallingUrl(room, loadApiKey()), {
        onMessage: (message) => onSignal(current, message),
        onClose: (closed) => onSignallingClosed(current, closed),
      }),
      iceServers: servers,
      polite: false,
      peer: undefined,
      reader: undefined,
      statsTimer: 0,
      webrtc: {},
    };
    call = current;
    current.statsTimer = window.setInterval(() => void updateStats(current, sending.counter()), STATS_INTERVAL_MS);
    hangUpButton.hidden = false;
    setState('waiting', 'Connecting to the call…');
  } catch (error) {
    showError(messageOf(error));
    setState('idle', 'Not in a call.');
    startButton.disabled = false;
  } finally {
    busy = false;
  }
}

function onSignal(current: Call, message: ReceivedSignal): void {
  if (call !== current) return;
  switch (message.type) {
    case 'joined':
      current.polite = message.polite;
      if (message.peers > 1) connectPeer(current);
      else setState('waiting', 'Waiting for the other person to join. Send them the link.');
      return;
    case 'peer-joined':
      connectPeer(current);
      return;
    case 'bye':
    case 'peer-left':
      closePeer(current);
      setState('waiting', 'The other person left. Waiting for someone to join…');
      return;
    case 'error':
      // Refusals that end the call come with the socket's close; this one only skipped a message.
      if (message.code !== 'E_ROOM_NOT_FOUND' && message.code !== 'E_ROOM_FULL') console.warn(`Call: ${message.message}`);
      return;
    default:
      if (!current.peer) connectPeer(current);
      void current.peer?.handle(message);
  }
}

/** A fresh connection to the person who (re)joined. */
function connectPeer(current: Call): void {
  closePeer(current);
  setState('connecting', 'Connecting…');
  current.peer = new CallPeer({
    polite: current.polite,
    iceServers: current.iceServers,
    track: current.sendTrack,
    stream: current.sendStream,
    signal: (message: PeerSignal) => current.signalling.send(message),
    onRemoteStream: (stream) => {
      remoteVideo.srcObject = stream;
      void remoteVideo.play().catch(() => undefined);
      if (probing && !current.reader) current.reader = new ProbeReader(remoteVideo);
    },
    onStateChange: (state) => {
      if (call !== current) return;
      if (state === 'connected') setState('connected', 'Connected.');
      else if (state === 'connecting') setState('connecting', 'Connecting…');
      else if (state === 'disconnected') setState('connecting', 'The connection is unstable; trying to restore it…');
      else if (state === 'failed') {
        setState('waiting', 'The connection failed. Calls between different networks may need a TURN server (see the README).');
      }
    },
    onError: (error) => console.warn('Call negotiation:', error),
  });
}

function closePeer(current: Call): void {
  current.peer?.close();
  current.peer = undefined;
  current.reader?.stop();
  current.reader = undefined;
  remoteVideo.srcObject = null;
}

function onSignallingClosed(current: Call, closed: SignallingClosed): void {
  if (call !== current) return;
  const refused = closed.code === CALL_CLOSE_CODES.roomNotFound || closed.code === CALL_CLOSE_CODES.roomFull;
  endCall(current);
  if (refused) {
    share.hidden = true;
    history.replaceState(null, '', location.pathname + location.search);
  }
  showError(closed.message);
  setState('ended', refused ? 'Not in a call.' : 'The call has ended.');
}

function endCall(current: Call): void {
  closePeer(current);
  window.clearInterval(current.statsTimer);
  current.stylizer.stop();
  for (const track of [...current.stream.getTracks(), current.sendTrack]) track.stop();
  cameraVideo.srcObject = null;
  localFigure.hidden = true;
  hangUpButton.hidden = true;
  startButton.disabled = false;
  startButton.textContent = 'Start a new call';
  placeholderText.textContent = 'The call has ended. Start a new call, or open a call link again.';
  call = undefined;
}

/** Leaves the call; `forgetLink`: the page no longer shows (or is at) the call's link. */
function hangUp(forgetLink = true): void {
  const current = call;
  if (!current) return;
  current.signalling.hangUp();
  endCall(current);
  if (forgetLink) {
    share.hidden = true;
    history.replaceState(null, '', location.pathname + location.search);
  }
  setState('ended', 'You hung up.');
}

/** The receiving side's WebRTC numbers: frame rate, frames dropped, a delay estimate (without the probe). */
async function webrtcStats(peer: CallPeer): Promise<Record<string, number | string>> {
  const { connectionState, iceConnectionState, signalingState } = peer.connection;
  const numbers: Record<string, number | string> = { connectionState, iceConnectionState, signalingState };
  const report = await peer.connection.getStats();
  report.forEach((entry: Record<string, unknown>) => {
    if (entry.type === 'inbound-rtp' && entry.kind === 'video') {
      for (const name of [
        'framesPerSecond',
        'framesReceived',
        'framesDecoded',
        'framesDropped',
        'frameWidth',
        'frameHeight',
        'jitterBufferDelay',
        'jitterBufferEmittedCount',
      ]) {
        if (typeof entry[name] === 'number') numbers[`in.${name}`] = entry[name];
      }
    }
    if (entry.type === 'outbound-rtp' && entry.kind === 'video') {
      for (const name of [
        'framesPerSecond',
        'framesSent',
        'framesEncoded',
        'frameWidth',
        'frameHeight',
        'totalEncodeTime',
        'qualityLimitationReason',
        'encoderImplementation',
      ]) {
        const value = entry[name];
        if (typeof value === 'number' || typeof value === 'string') numbers[`out.${name}`] = value;
      }
    }
    if (entry.type === 'candidate-pair' && entry.nominated === true && typeof entry.currentRoundTripTime === 'number') {
      numbers.roundTripMs = entry.currentRoundTripTime * 1000;
    }
  });
  return numbers;
}

function show(fps: number | undefined, latencyMs: number | undefined, dropped: number | undefined): void {
  statFps.textContent = fps === undefined ? '–' : fps.toFixed(0);
  statLatency.textContent = latencyMs === undefined ? '–' : latencyMs.toFixed(0);
  statDropped.textContent = dropped === undefined ? '–' : String(dropped);
}

async function updateStats(current: Call, sent: number): Promise<void> {
  const peer = current.peer;
  if (!peer) {
    show(undefined, undefined, undefined);
    if (probing)
      window.__portoonCallStats = { ...NO_PROBE_STATS, sent, drawFps: current.stylizer.stats().displayFps, at: Date.now(), webrtc: {} };
    return;
  }
  current.webrtc = await webrtcStats(peer).catch(() => ({}));
  const at = Date.now();
  if (call !== current) return;
  const w = current.webrtc;
  if (probing) {
    const probe = current.reader?.stats() ?? NO_PROBE_STATS;
    window.__portoonCallStats = { ...probe, sent, drawFps: current.stylizer.stats().displayFps, at, webrtc: w };
    show(probe.fps, probe.decoded > 0 ? probe.latencyP50 : undefined, probe.dropped);
    return;
  }
  // Without the probe: the receiver's own count, and the delay it adds (jitter buffer) plus half the round trip.
  const emitted = Number(w['in.jitterBufferEmittedCount'] ?? 0);
  const buffer = emitted > 0 ? (Number(w['in.jitterBufferDelay']) / emitted) * 1000 : undefined;
  const latency = buffer === undefined ? undefined : buffer + Number(w.roundTripMs ?? 0) / 2;
  const fps = w['in.framesPerSecond'];
  show(typeof fps === 'number' ? fps : undefined, latency, typeof w['in.framesDropped'] === 'number' ? w['in.framesDropped'] : undefined);
}

/* ---------- Measurement helpers (?probe=1) ---------- */

const NO_PROBE_STATS: CallProbeStats = {
  received: 0,
  decoded: 0,
  dropped: 0,
  fps: 0,
  latencyP50: 0,
  latencyP95: 0,
  lastCounter: -1,
  unseen: 0,
};

const FRAME_W = 160;
const FRAME_H = 120;

function pixelsOf(source: CanvasImageSource, counter: number): FramePixels {
  const canvas = h('canvas', { width: String(FRAME_W), height: String(FRAME_H) });
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(source, 0, 0, FRAME_W, FRAME_H);
  const bytes = context.getImageData(0, 0, FRAME_W, FRAME_H).data;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { counter, width: FRAME_W, height: FRAME_H, rgba: btoa(binary) };
}

/** Frames asked for by counter, captured when they are drawn. */
class Captures<T> {
  #waiting: { counter: number; resolve: (value: T) => void }[] = [];

  wait(counter: number): Promise<T> {
    return new Promise((resolve) => this.#waiting.push({ counter, resolve }));
  }

  /** Resolves the waiters due at `counter` with what `take` makes (called only when one is due). */
  due(counter: number, take: () => T): void {
    const due = this.#waiting.filter((w) => w.counter <= counter);
    if (due.length === 0) return;
    this.#waiting = this.#waiting.filter((w) => w.counter > counter);
    const value = take();
    for (const waiter of due) waiter.resolve(value);
  }
}

/** Runs of consecutive frames asked for by their first counter, captured as they are drawn. */
class Runs<T> {
  #runs: { from: number; count: number; frames: T[]; resolve: (frames: T[]) => void }[] = [];

  capture(from: number, count: number): Promise<T[]> {
    return new Promise((resolve) => this.#runs.push({ from, count: Math.max(1, count), frames: [], resolve }));
  }

  /** Adds frame `counter` (made by `take`, once) to every run it belongs to; resolves the runs it completes. */
  drawn(counter: number, take: () => T): void {
    const open = this.#runs.filter((run) => counter >= run.from);
    if (open.length === 0) return;
    const frame = take();
    for (const run of open) {
      run.frames.push(frame);
      if (run.frames.length >= run.count) run.resolve(run.frames);
    }
    this.#runs = this.#runs.filter((run) => run.frames.length < run.count);
  }
}

const sentRuns = new Runs<{ camera: FramePixels; sent: FramePixels }>();
const receivedCaptures = new Captures<FramePixels>();

/** Reads the stamp of each received frame for `receivedFrame` (only while someone waits for one). */
function watchReceived(): void {
  const [areaW, areaH] = probeArea(SEND_WIDTH);
  const area = h('canvas', { width: String(areaW), height: String(areaH) });
  const context = area.getContext('2d', { willReadFrequently: true })!;
  const step: VideoFrameRequestCallback = (_now, metadata) => {
    remoteVideo.requestVideoFrameCallback(step);
    if (!pending) return;
    const [w, hgt] = probeArea(metadata.width);
    context.drawImage(remoteVideo, 0, 0, w, hgt, 0, 0, areaW, areaH);
    const stamp = readProbe(context.getImageData(0, 0, areaW, areaH).data, areaW, areaH);
    if (stamp) receivedCaptures.due(stamp.counter, () => pixelsOf(remoteVideo, stamp.counter));
  };
  remoteVideo.requestVideoFrameCallback(step);
}
let pending = 0;

if (probing) {
  // Measured from each frame's stamp: from the other side's drawing to the display here.
  byId('stat-latency-label').textContent = 'Latency';
  byId('stats-hint').textContent =
    'Measured from the stamp on every frame: frames shown per second, latency from the other side’s drawing to this screen, frames never shown.';
  window.__portoonCallProbe = {
    resetLatency: () => call?.reader?.resetLatency(),
    sentFrames: (from, count) => sentRuns.capture(from, count),
    receivedFrame: async (counter) => {
      pending++;
      try {
        return await receivedCaptures.wait(counter);
      } finally {
        pending--;
      }
    },
    codec: { encode: encodeProbe, decode: (bits) => decodeProbe(bits) ?? null, roundTrip: probeRoundTrip },
  };
  watchReceived();
}

/* ---------- Page wiring ---------- */

for (const option of SHADER_STYLES) {
  const element = h('option', { value: option.id }, option.label);
  element.selected = option.id === style;
  styleSelect.append(element);
}
styleSelect.addEventListener('change', () => {
  style = styleSelect.value;
  call?.stylizer.setShaderStyle(style);
});
startButton.addEventListener('click', () => void startCall(roomFromHash()));
hangUpButton.addEventListener('click', () => hangUp());
copyButton.addEventListener('click', () => {
  shareLink.select();
  navigator.clipboard
    .writeText(shareLink.value)
    .then(() => (copyStatus.textContent = 'Link copied. Send it to the person you want to call.'))
    .catch(() => (copyStatus.textContent = 'Copy the selected link (Ctrl+C or ⌘C) and send it.'));
});
window.addEventListener('hashchange', () => {
  // Another call's link opened in this tab: leave this call for that one.
  const room = roomFromHash();
  if (room && room !== call?.room) {
    hangUp(false);
    void startCall(room);
  }
});
window.addEventListener('pagehide', () => {
  if (call) call.signalling.hangUp();
});

async function loadVersion(): Promise<void> {
  try {
    const response = await fetch('/api/v1/info', { headers: { accept: 'application/json' } });
    if (!response.ok) return;
    const info = (await response.json()) as { version?: unknown };
    if (typeof info.version === 'string' && info.version !== '') byId('version').textContent = `v${info.version}`;
  } catch {
    // Offline: no version shown.
  }
}

setState('idle', 'Not in a call.');
void loadVersion();
const linkedRoom = roomFromHash();
if (linkedRoom) {
  startButton.textContent = 'Join the call';
  void startCall(linkedRoom);
}
