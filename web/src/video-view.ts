/**
 * The video viewer: the original alone, then the original and the cartoon side by side. The two play,
 * pause and seek together, so the same moment shows in both; the original is muted and the cartoon
 * carries the sound. When only part of the clip was cartoonized, the cartoon's time 0 is the
 * original's start time.
 */
import { mediaEvent } from './media-events.js';

export interface VideoMeta {
  width: number;
  height: number;
  /** Seconds. */
  duration: number;
}

export interface VideoViewElements {
  root: HTMLElement;
  before: HTMLVideoElement;
  after: HTMLVideoElement;
  /** Holds the cartoon and its caption. */
  afterCell: HTMLElement;
  /** The cartoon's caption: what it was made in. */
  afterTag: HTMLElement;
  /** Shown instead of the original when the browser cannot play its format. */
  missing: HTMLElement;
}

/** Seeks closer than this are left alone: two players never land on exactly the same time. */
const SYNC_TOLERANCE_SECONDS = 0.15;

export class VideoView {
  /** Seconds into the original where the cartoon begins. */
  private offset = 0;
  /** Whether the two players follow each other (only with a result). */
  private linked = false;

  constructor(private readonly el: VideoViewElements) {
    this.follow(el.before, el.after, (time) => time - this.offset);
    this.follow(el.after, el.before, (time) => time + this.offset);
  }

  /** Shows the original alone; its size and length once the browser has read them, null when it cannot play it. */
  async showOriginal(url: string): Promise<VideoMeta | null> {
    this.clearResult();
    const { before, missing, root } = this.el;
    root.dataset.mode = 'original';
    before.hidden = false;
    missing.hidden = true;
    const loaded = mediaEvent(before, 'loadedmetadata');
    before.src = url;
    const meta = (await loaded) ? metaOf(before) : null;
    // A newer file may have been chosen while this one loaded.
    if (before.src !== url) return null;
    before.hidden = meta === null;
    missing.hidden = meta !== null;
    if (meta) setAspect(root, meta);
    return meta;
  }

  /**
   * Shows the cartoon beside the original. `name` says what it is (the style's label); `offset` is
   * the original's time where the cartoon starts.
   */
  async showResult(url: string, name: string, offset: number): Promise<VideoMeta | null> {
    const { after, afterCell, afterTag, before, root } = this.el;
    this.offset = offset;
    afterTag.textContent = name;
    after.setAttribute('aria-label', `${name} version of your video`);
    const loaded = mediaEvent(after, 'loadeddata');
    after.src = url;
    afterCell.hidden = false;
    const meta = (await loaded) ? metaOf(after) : null;
    root.dataset.mode = before.hidden ? 'result' : 'compare';
    if (meta) setAspect(root, meta);
    before.pause();
    if (!before.hidden) before.currentTime = Math.min(offset, before.duration || 0);
    this.linked = !before.hidden;
    return meta;
  }

  clearResult(): void {
    const { after, afterCell, root } = this.el;
    this.linked = false;
    this.offset = 0;
    after.pause();
    after.removeAttribute('src');
    after.load();
    afterCell.hidden = true;
    if (root.dataset.mode !== 'original') root.dataset.mode = 'original';
  }

  /** Lets go of both files (when the video is discarded or a photo takes its place). */
  clear(): void {
    this.clearResult();
    const { before } = this.el;
    before.pause();
    before.removeAttribute('src');
    before.load();
  }

  /** Makes `follower` play, pause and seek with `leader`; `toFollower` turns the leader's time into the follower's. */
  private follow(leader: HTMLVideoElement, follower: HTMLVideoElement, toFollower: (time: number) => number): void {
    leader.addEventListener('play', () => {
      if (!this.linked) return;
      if (!this.align(leader, follower, toFollower)) return;
      // The follower may refuse (autoplay rules): the leader plays on alone.
      if (follower.paused) follower.play().catch(() => undefined);
    });
    leader.addEventListener('pause', () => {
      if (this.linked && !follower.paused) follower.pause();
    });
    leader.addEventListener('seeked', () => {
      if (this.linked) this.align(leader, follower, toFollower);
    });
  }

  /** Puts the follower at the leader's moment; false when that moment is outside the follower (a trimmed cartoon). */
  private align(leader: HTMLVideoElement, follower: HTMLVideoElement, toFollower: (time: number) => number): boolean {
    const target = toFollower(leader.currentTime);
    if (target < 0 || !(target <= follower.duration)) return false;
    if (Math.abs(follower.currentTime - target) > SYNC_TOLERANCE_SECONDS) follower.currentTime = target;
    return true;
  }
}

function metaOf(video: HTMLVideoElement): VideoMeta | null {
  if (video.videoWidth === 0 || video.videoHeight === 0) return null;
  return { width: video.videoWidth, height: video.videoHeight, duration: Number.isFinite(video.duration) ? video.duration : 0 };
}

/** The players' box follows the video's shape, as the photo viewer does. */
function setAspect(root: HTMLElement, { width, height }: VideoMeta): void {
  root.style.setProperty('--aspect', `${width} / ${height}`);
  root.style.setProperty('--ratio', String(width / height));
}
