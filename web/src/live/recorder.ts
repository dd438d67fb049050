/**
 * Records the live canvas to WebM with MediaRecorder. VP8 first: it encodes with a fraction of VP9's
 * CPU time, which the live display needs more (VP9, then the browser's default WebM, when VP8 is
 * not there).
 */

const TYPES = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'];

export interface Recording {
  blob: Blob;
  durationMs: number;
}

/** The WebM type this browser records, or undefined when it cannot record a canvas. */
export function recordingType(): string | undefined {
  if (typeof MediaRecorder === 'undefined' || typeof HTMLCanvasElement.prototype.captureStream !== 'function') return undefined;
  return TYPES.find((type) => MediaRecorder.isTypeSupported(type));
}

export class CanvasRecorder {
  private readonly stream: MediaStream;
  private readonly recorder: MediaRecorder;
  private readonly chunks: Blob[] = [];
  private readonly startedAt = performance.now();
  private readonly done: Promise<Recording>;

  constructor(canvas: HTMLCanvasElement, frameRate = 30) {
    const type = recordingType();
    if (!type) throw new Error('This browser cannot record the live picture (no WebM MediaRecorder).');
    this.stream = canvas.captureStream(frameRate);
    this.recorder = new MediaRecorder(this.stream, { mimeType: type, videoBitsPerSecond: 2_500_000 });
    this.done = new Promise<Recording>((resolve, reject) => {
      this.recorder.addEventListener('dataavailable', (event) => {
        if (event.data.size > 0) this.chunks.push(event.data);
      });
      this.recorder.addEventListener('stop', () => {
        for (const track of this.stream.getTracks()) track.stop();
        resolve({
          blob: new Blob(this.chunks, { type: this.recorder.mimeType || 'video/webm' }),
          durationMs: performance.now() - this.startedAt,
        });
      });
      this.recorder.addEventListener('error', (event) => {
        for (const track of this.stream.getTracks()) track.stop();
        const error = (event as ErrorEvent).error as unknown;
        reject(error instanceof Error ? error : new Error('The recording failed.'));
      });
    });
    // Chunks every second, so a long recording is not one huge buffer at the end.
    this.recorder.start(1000);
  }

  /** Milliseconds since the recording started. */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Stops recording; resolves with the WebM once the last chunk is in. */
  stop(): Promise<Recording> {
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    return this.done;
  }
}

/** 65 000 → "1:05". */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
