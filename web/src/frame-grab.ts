/**
 * A still from the chosen video, for the style gallery: each preview then shows the user's own video
 * in that style, as it does for a photo. The frame comes from a second, detached video element, so
 * the one on the page does not jump; a format the browser cannot play simply gives no still.
 */
import { mediaEvent } from './media-events.js';
import type { PreviewSource } from './shrink.js';

/** As for a photo's preview copy (see shrink.ts): the server shrinks previews to 256 px anyway. */
const FRAME_SIDE = 512;
/** Far enough in to be past a fade from black, early enough to be in any clip. */
const FRAME_TIME_SECONDS = 1;

export async function grabFrame(url: string): Promise<PreviewSource | null> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.preload = 'auto';
  try {
    const loaded = mediaEvent(video, 'loadeddata');
    video.src = url;
    if (!(await loaded) || video.videoWidth === 0) return null;
    const duration = Number.isFinite(video.duration) ? video.duration : 0;
    const time = Math.min(FRAME_TIME_SECONDS, duration / 4);
    if (time > 0) {
      const seeked = mediaEvent(video, 'seeked');
      video.currentTime = time;
      if (!(await seeked)) return null;
    }
    const scale = Math.min(1, FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
    canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
    const context = canvas.getContext('2d');
    if (!context) return null;
    context.imageSmoothingQuality = 'high';
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    return blob ? { blob, fileName: 'frame.jpg' } : null;
  } finally {
    // Let the browser drop its decoder and buffers now rather than at garbage collection.
    video.removeAttribute('src');
    video.load();
  }
}
