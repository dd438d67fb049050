/** Sniffing a video file's head (the byte rules are in src/core/video/sniff.ts). */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { PortoonError } from '../../core/errors.js';
import { isGifHeader, scanGif, sniffVideo, type VideoContainer } from '../../core/video/sniff.js';

export { ACCEPTED_VIDEO_LABELS, DEMUXER, sniffVideo, VIDEO_CONTAINERS, type VideoContainer } from '../../core/video/sniff.js';

/** Bytes read to sniff a file; a GIF is read further, up to `MAX_GIF_SCAN_BYTES`, to find a second frame. */
const HEAD_BYTES = 64 * 1024;
const MAX_GIF_SCAN_BYTES = 64 * 1024 * 1024;

/**
 * Reads the head of a file and says whether it is a video Portoon reads. An animated GIF counts as a
 * video, a single-frame GIF does not: the file is read until a second frame shows (its first frame
 * may be megabytes), at most 64 MB.
 * @throws {PortoonError} E_INPUT_NOT_FOUND when the file cannot be read.
 */
export async function isVideoFile(path: string): Promise<boolean> {
  return (await sniffVideoFile(path)) !== undefined;
}

/** `sniffVideo` on the head of a file (see `isVideoFile`). */
export async function sniffVideoFile(path: string): Promise<VideoContainer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    let head = await readHead(handle, HEAD_BYTES);
    let container = sniffVideo(head);
    while (container === undefined && isGifHeader(head) && head.length < MAX_GIF_SCAN_BYTES && scanGif(head, 2).needsMore) {
      const next = await readHead(handle, Math.min(head.length * 4, MAX_GIF_SCAN_BYTES));
      if (next.length === head.length) break;
      head = next;
      container = sniffVideo(head);
    }
    return container;
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    await handle.close();
  }
}

async function readHead(handle: FileHandle, length: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

function unreadable(path: string, error: unknown): PortoonError {
  if (error instanceof PortoonError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${(error as Error).message})`;
  return new PortoonError('E_INPUT_NOT_FOUND', `The video ${basename(path)} ${reason}`, { cause: error, details: { path } });
}
