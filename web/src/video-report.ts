/**
 * A finished video's key facts in words, from the job's report: how many frames, the size, the faces
 * followed through the clip and what became of the sound.
 */
import type { VideoReport } from '../../src/core/video/types.js';

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function describeSound(report: Pick<VideoReport, 'audio' | 'audioCodec' | 'audioNote'>): string {
  switch (report.audio) {
    case 'copied':
      return 'Sound kept as it was';
    case 're-encoded':
      return report.audioCodec ? `Sound re-encoded (${report.audioCodec.toUpperCase()})` : 'Sound re-encoded';
    case 'dropped':
      return report.audioNote ? `No sound: ${report.audioNote.replace(/^./, (c) => c.toLowerCase())}` : 'Sound left out';
    case 'none':
      return 'No sound track in the original';
  }
}

export function describeFaces(report: Pick<VideoReport, 'tracks'>): string {
  const faces = report.tracks.length;
  return faces === 0 ? 'No face found: the whole picture is in the style' : `${plural(faces, 'face', 'faces')} tracked`;
}

/** The facts shown under the result, one short phrase each. */
export function videoFacts(report: VideoReport): string[] {
  const fps = Number.isInteger(report.fps) ? String(report.fps) : report.fps.toFixed(2).replace(/0$/, '');
  return [
    `${plural(report.frames, 'frame', 'frames')} at ${fps} fps · ${report.duration.toFixed(1)} s`,
    `${report.width} × ${report.height}`,
    describeFaces(report),
    describeSound(report),
  ];
}

/** One sentence for the status line once the video is done. */
export function videoSummary(report: VideoReport): string {
  const sound = report.audio === 'copied' ? 'sound copied' : report.audio === 're-encoded' ? 'sound re-encoded' : 'no sound';
  const faces = report.tracks.length;
  return `${plural(report.frames, 'frame', 'frames')}, ${plural(faces, 'face', 'faces')} tracked, ${sound}.`;
}
