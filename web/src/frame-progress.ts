/**
 * A video job's progress in words: "Frame 42 of 126 · 3.1 fps · about 28 s left". The time left is
 * the frames still to draw at the speed so far; it is left out until there is a speed to go by.
 */
import type { FrameProgress } from '../../src/core/job.js';

/** "3.1 fps"; slow models on a big video draw less than one frame a second, so keep two digits there. */
function formatFps(fps: number): string {
  return `${fps >= 0.1 ? fps.toFixed(1) : fps.toFixed(2)} fps`;
}

/** "about 28 s left", "about 4 min left", "about 1 h 20 min left". */
export function formatTimeLeft(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} min left`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

export function describeFrames({ done, total, fps }: FrameProgress): string {
  if (total > 0 && done >= total) return `All ${total} frames drawn · finishing the video`;
  const parts = [total > 0 ? `Frame ${done} of ${total}` : `Frame ${done}`];
  if (fps > 0 && done > 0) {
    parts.push(formatFps(fps));
    if (total > done) parts.push(formatTimeLeft((total - done) / fps));
  }
  return parts.join(' · ');
}
