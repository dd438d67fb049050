/** Frames of the shared clips for tests, decoded by the system's ffmpeg (independently of Portoon's reader). */
import { spawnSync } from 'node:child_process';
import type { RawImage } from '../../src/core/image.js';

/** The first `count` frames of a clip, scaled to `width` x `height`, as RGB. */
export function decodeFrames(file: string, width: number, height: number, count: number): RawImage[] {
  const result = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-vf', `scale=${width}:${height}:flags=area`, '-frames:v', String(count)].concat([
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ]),
    { maxBuffer: 512 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`ffmpeg failed on ${file}: ${result.stderr.toString()}`);
  const size = width * height * 3;
  const frames: RawImage[] = [];
  for (let i = 0; i + 1 <= result.stdout.length / size; i++) {
    frames.push({ width, height, channels: 3, data: new Uint8Array(result.stdout.subarray(i * size, (i + 1) * size)) });
  }
  if (frames.length !== count) throw new Error(`${file}: expected ${count} frames, decoded ${frames.length}`);
  return frames;
}
