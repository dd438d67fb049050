/**
 * A fake camera for browser tests: a clip of the shared test videos converted to a Y4M file, which
 * Chromium plays (in a loop) as the only camera, with camera permission granted without a prompt.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './browser.js';
import { TEST_OUTPUT_DIR, video } from './env.js';

export interface FakeCameraOptions {
  /** Length of the Y4M; a shorter clip is looped to fill it. Default 6. */
  seconds?: number;
  /** Frame size: the clip is scaled to cover it and cropped to it (no distortion). Default 640x480. */
  width?: number;
  height?: number;
  /** Frames per second. Default 30. */
  fps?: number;
}

export const FAKE_CAMERA_DIR = join(TEST_OUTPUT_DIR, 'fake-camera');

/**
 * `clipName` of the shared test videos (e.g. '03-talking-head-woman.mp4') as a Y4M camera feed in
 * test-output/fake-camera/, made once per clip and options and reused afterwards.
 */
export async function makeFakeCameraY4m(clipName: string, options: FakeCameraOptions = {}): Promise<string> {
  const { seconds = 6, width = 640, height = 480, fps = 30 } = options;
  const stem = basename(clipName).replace(/\.[^.]*$/, '');
  const out = join(FAKE_CAMERA_DIR, `${stem}-${width}x${height}-${fps}fps-${seconds}s.y4m`);
  if (existsSync(out)) return out;
  const source = video(clipName);
  if (!existsSync(source)) throw new Error(`No test video ${source} (set PORTOON_TEST_VIDEOS to the shared videos folder)`);
  mkdirSync(FAKE_CAMERA_DIR, { recursive: true });
  // Written beside the target and renamed, so a concurrent run never reads half a file.
  const partial = `${out}.${process.pid}.partial.y4m`;
  const args = ['-v', 'error', '-y', '-stream_loop', '-1', '-i', source, '-t', String(seconds), '-an'];
  args.push('-vf', `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},fps=${fps}`);
  args.push('-pix_fmt', 'yuv420p', partial);
  try {
    await run('ffmpeg', args);
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  return out;
}

/** Chromium (the tests' flags) with `y4mPath` as its camera and camera access always allowed. */
export function launchWithFakeCamera(y4mPath: string): Promise<Browser> {
  if (!existsSync(y4mPath)) throw new Error(`No fake camera file ${y4mPath}: make it with makeFakeCameraY4m`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...CHROMIUM_ARGS,
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${y4mPath}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`))));
  });
}
