/**
 * Rolling statistics of the live display: frames drawn per second and mean capture-to-drawn latency
 * over a sliding window of the last few seconds. Fixed-size ring buffers: nothing is allocated per
 * frame.
 */
export class FrameWindow {
  private readonly times: Float64Array;
  private readonly latencies: Float64Array;
  private start = 0;
  private count = 0;

  constructor(
    /** Length of the window, in ms. */
    private readonly windowMs = 2000,
    /** Most frames remembered (the window holds fewer at any sane frame rate). */
    capacity = 512,
  ) {
    this.times = new Float64Array(capacity);
    this.latencies = new Float64Array(capacity);
  }

  /** Records a frame drawn at `timeMs` (performance.now()), `latencyMs` after its capture (NaN when unknown). */
  add(timeMs: number, latencyMs: number): void {
    const capacity = this.times.length;
    if (this.count === capacity) {
      this.start = (this.start + 1) % capacity;
      this.count--;
    }
    const i = (this.start + this.count) % capacity;
    this.times[i] = timeMs;
    this.latencies[i] = latencyMs;
    this.count++;
  }

  /** Frames per second and mean latency (ms, 0 when unknown) over the window ending at `nowMs`. */
  summary(nowMs: number): { fps: number; latencyMs: number } {
    this.evict(nowMs);
    const capacity = this.times.length;
    if (this.count === 0) return { fps: 0, latencyMs: 0 };
    let latencySum = 0;
    let latencyCount = 0;
    for (let k = 0; k < this.count; k++) {
      const latency = this.latencies[(this.start + k) % capacity]!;
      if (Number.isFinite(latency)) {
        latencySum += latency;
        latencyCount++;
      }
    }
    const first = this.times[this.start]!;
    // Frames per second over the span they cover (n frames span n - 1 intervals). When frames stop
    // coming, the time since the last one counts too (beyond one usual interval), so the rate falls.
    const span = this.count > 1 ? this.times[(this.start + this.count - 1) % capacity]! - first : 0;
    const interval = span / Math.max(1, this.count - 1);
    const fps = span > 0 ? ((this.count - 1) * 1000) / Math.max(span, nowMs - first - interval) : 0;
    return { fps, latencyMs: latencyCount > 0 ? latencySum / latencyCount : 0 };
  }

  private evict(nowMs: number): void {
    const capacity = this.times.length;
    while (this.count > 0 && this.times[this.start]! < nowMs - this.windowMs) {
      this.start = (this.start + 1) % capacity;
      this.count--;
    }
  }
}
