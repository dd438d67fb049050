/**
 * Video: flicker, landmark jitter, sound, speed and memory, each against a baseline measured in the
 * same run.
 *
 * 1. Flicker, per shared clip and style: E_warp (Lai et al. 2018; flow on the input frames by a
 *    different algorithm than the one the blending uses, occluded pixels masked) of Portoon's video
 *    path (tracked faces, temporal blending) against per-frame stylization (the stills path on every
 *    frame: detection on each frame, no blending), and the PSNR of the video path against that
 *    per-frame output (blur or ghosting would show there).
 * 2. Landmark jitter of tracked faces against per-frame detection on the same frames.
 * 3. Sound and frames: the clip with a sound track, end to end through `Portoon.cartoonizeVideo`:
 *    codec, sample rate, duration and frame count of the output against the input's.
 * 4. Speed, end to end through `Portoon.cartoonizeVideo`: frames per second per style at 360p and
 *    720p, the share of time outside the models, and the part that dominates.
 * 5. Memory: peak RSS of a whole process cartoonizing the 9.5 s clip against the same clip's first
 *    2 s.
 *
 *   npm run bench:video -- [--models-dir dir] [--max-side 360] [--seconds 2] [--styles anime,cartoon]
 *     [--speed-styles anime,cartoon,sketch,cel,watercolor] [--speed-frames 12] [--clips 01,03]
 *     [--skip flicker,jitter,audio,speed,memory]
 */
import { OutputMarks } from '../src/core/provenance/output-marks.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Face, Point } from '../src/core/face/detect.js';
import { FaceTracker } from '../src/core/face/tracker.js';
import type { RawImage } from '../src/core/image.js';
import type { FrameSink, FrameSource } from '../src/core/media-port.js';
import { cartoonizeImage, detectorFaceSource } from '../src/core/pipeline.js';
import { planRun } from '../src/core/pipeline/plan.js';
import { PipelineRun } from '../src/core/pipeline/run.js';
import { parseCartoonizeRequest } from '../src/core/request.js';
import { cartoonizeFrames } from '../src/core/video/frame-loop.js';
import { landmarkJitter } from '../src/core/video/jitter.js';
import { PsnrMeter, WarpErrorMeter } from '../src/core/video/metrics.js';
import { TemporalBlender } from '../src/core/video/temporal-blend.js';
import type { VideoFrame } from '../src/core/video/types.js';
import { NodeEngine } from '../src/node/engine.js';
import { defaultModelsDir } from '../src/node/model-store.js';
import { Portoon } from '../src/node/portoon.js';
import { openFrameReader } from '../src/node/video/frame-reader.js';
import { evaluationFlow, processingFlow } from '../src/node/video/opencv-flow.js';
import { probeVideo } from '../src/node/video/probe.js';
import { machineLine } from './machine.js';

const { values } = parseArgs({
  options: {
    'models-dir': { type: 'string' },
    'max-side': { type: 'string', default: '360' },
    seconds: { type: 'string', default: '2' },
    styles: { type: 'string', default: 'anime,cartoon' },
    'speed-styles': { type: 'string', default: 'anime,cartoon,sketch,cel,watercolor' },
    'speed-frames': { type: 'string', default: '12' },
    skip: { type: 'string', default: '' },
    clips: { type: 'string' },
  },
});
const modelsDir = values['models-dir'] ?? defaultModelsDir();
const maxSide = Number(values['max-side']);
const seconds = Number(values.seconds);
const skip = new Set(values.skip.split(',').filter(Boolean));
const VIDEOS = new URL('../../shared/videos/', import.meta.url).pathname;
const ALL_CLIPS = ['01-boy-chalkboard-720p.mp4', '02-railway-people-audio.mp4', '03-talking-head-woman.mp4', '04-talking-head-man.mp4'];
const CLIPS = values.clips ? ALL_CLIPS.filter((clip) => values.clips!.split(',').some((name) => clip.startsWith(name))) : ALL_CLIPS;
const OUT = new URL('../test-output/bench-video/', import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

const fmt = (value: number, digits = 2): string => value.toFixed(digits);

console.log(machineLine());
console.log(`models ${modelsDir}; clips ${VIDEOS}; max side ${maxSide}; ${seconds} s per clip\n`);

const engine = new NodeEngine({ modelsDir });

/** The frames of a clip's first `seconds`, at the bench's size, as a source that replays them. */
async function framesOf(clip: string, duration = seconds): Promise<{ frames: VideoFrame[]; fps: number }> {
  const info = await probeVideo(join(VIDEOS, clip));
  const reader = openFrameReader(join(VIDEOS, clip), info, { maxSide, duration });
  const frames: VideoFrame[] = [];
  for await (const frame of reader.frames()) frames.push(frame);
  await reader.close();
  return { frames, fps: reader.fps };
}

function replay(frames: readonly VideoFrame[], fps: number): FrameSource {
  const first = frames[0]!.image;
  return {
    width: first.width,
    height: first.height,
    fps,
    expectedFrames: frames.length,
    frames: async function* () {
      yield* frames;
    },
    close: async () => undefined,
  };
}

if (!skip.has('flicker')) {
  console.log('## Flicker: video path vs per-frame stylization (E_warp, lower is steadier; PSNR vs per-frame, dB)\n');
  console.log('| clip | style | frames | E_warp per-frame | E_warp video | reduction | PSNR vs per-frame | cuts |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const clip of CLIPS) {
    const { frames, fps } = await framesOf(clip);
    for (const style of values.styles.split(',')) {
      const request = parseCartoonizeRequest({ style });
      const context = { backend: engine.backend, catalogue: engine.catalogue, now: () => performance.now() };
      // Baseline: the stills path on every frame (each frame detected and stylized on its own).
      const perFrame: RawImage[] = [];
      for (const { image } of frames) perFrame.push((await cartoonizeImage(image, request, context)).image);
      const baselineMeter = new WarpErrorMeter(await evaluationFlow());
      for (const [i, { image }] of frames.entries()) await baselineMeter.add(image, perFrame[i]!);
      // The video path: the product's frame loop, its outputs captured by the sink.
      const outputs: RawImage[] = [];
      const sink: FrameSink = { write: async (frame) => void outputs.push(frame) };
      const report = await cartoonizeFrames(replay(frames, fps), sink, request, {
        ...context,
        faces: new FaceTracker({ fps }),
        blender: new TemporalBlender(await processingFlow()),
        flicker: new WarpErrorMeter(await evaluationFlow()),
        marks: new OutputMarks(),
      });
      const fidelity = new PsnrMeter();
      for (const [i, output] of outputs.entries()) fidelity.add(output, perFrame[i]!);
      const base = baselineMeter.value();
      const ours = report.warpError!;
      console.log(
        `| ${clip} | ${style} | ${frames.length} | ${base.toExponential(3)} | ${ours.toExponential(3)} | ${fmt((1 - ours / base) * 100, 1)} % | ${fmt(fidelity.value(), 1)} | ${report.sceneCuts} |`,
      );
    }
  }
  console.log();
}

if (!skip.has('jitter')) {
  console.log('## Landmark jitter: tracked vs per-frame detection (eye distances per frame², lower is steadier)\n');
  console.log('| clip | frames | per-frame detection | tracked | ratio |');
  console.log('|---|---|---|---|---|');
  const request = parseCartoonizeRequest({ style: 'cel' });
  const plan = planRun(engine.catalogue, request);
  for (const clip of ['03-talking-head-woman.mp4', '04-talking-head-man.mp4', '01-boy-chalkboard-720p.mp4']) {
    const { frames, fps } = await framesOf(clip, 4);
    const run = new PipelineRun({ backend: engine.backend, catalogue: engine.catalogue });
    const tracker = new FaceTracker({ fps });
    const detected: Point[][] = [];
    const tracked: Point[][] = [];
    for (const { image } of frames) {
      // The largest face of each frame: these clips show one person.
      const largest = (faces: readonly Face[]): Point[] => [...faces].sort((a, b) => b.box[2] - a.box[2])[0]!.landmarks;
      detected.push(largest((await detectorFaceSource.find(image, plan, run)).faces));
      tracked.push(largest((await tracker.find(image, plan, run)).faces));
    }
    const [a, b] = [landmarkJitter(detected), landmarkJitter(tracked)];
    console.log(`| ${clip} | ${frames.length} | ${a.toExponential(3)} | ${b.toExponential(3)} | ${fmt(a / b, 1)}x lower |`);
  }
  console.log();
}

interface StreamFacts {
  codec_name?: string;
  codec_type?: string;
  sample_rate?: string;
  duration?: string;
  nb_read_frames?: string;
}

function streams(path: string): StreamFacts[] {
  const out = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', path], { encoding: 'utf8' });
  return (JSON.parse(out.stdout) as { streams: StreamFacts[] }).streams;
}

const portoon = await Portoon.create({ modelsDir, workers: 1 });
try {
  if (!skip.has('audio')) {
    console.log('## Sound and frames, end to end (02-railway-people-audio.mp4, whole clip, cel)\n');
    const input = join(VIDEOS, '02-railway-people-audio.mp4');
    const output = join(OUT, 'railway-cel.mp4');
    const report = await portoon.cartoonizeVideo(input, output, { style: 'cel', maxSide });
    const [inVideo, inAudio] = [
      streams(input).find((s) => s.codec_type === 'video')!,
      streams(input).find((s) => s.codec_type === 'audio')!,
    ];
    const [outVideo, outAudio] = [
      streams(output).find((s) => s.codec_type === 'video')!,
      streams(output).find((s) => s.codec_type === 'audio')!,
    ];
    const frameSeconds = 1 / report.fps;
    console.log('| | input | output |');
    console.log('|---|---|---|');
    console.log(`| frames | ${inVideo.nb_read_frames} | ${outVideo.nb_read_frames} |`);
    console.log(`| audio codec | ${inAudio.codec_name} | ${outAudio.codec_name} (${report.audio}) |`);
    console.log(`| sample rate | ${inAudio.sample_rate} | ${outAudio.sample_rate} |`);
    console.log(
      `| audio duration (s) | ${inAudio.duration} | ${outAudio.duration} (${fmt(Math.abs(Number(outAudio.duration) - Number(inAudio.duration)) / frameSeconds, 2)} frames apart) |`,
    );
    console.log();
  }

  if (!skip.has('speed')) {
    const frames = Number(values['speed-frames']);
    console.log(`## Speed, end to end (01-boy-chalkboard-720p.mp4, first ${frames} frames; one worker, all cores)\n`);
    console.log('| style | size | fps | ms per frame | outside the models | dominant part |');
    console.log('|---|---|---|---|---|---|');
    const input = join(VIDEOS, '01-boy-chalkboard-720p.mp4');
    for (const style of values['speed-styles'].split(',')) {
      for (const side of [640, 1280]) {
        // Warm-up run: the models load once, outside the measurement.
        await portoon.cartoonizeVideo(input, join(OUT, 'warm.mp4'), { style, maxSide: side, duration: 2 / 25 });
        const report = await portoon.cartoonizeVideo(input, join(OUT, `speed-${style}-${side}.mp4`), {
          style,
          maxSide: side,
          duration: frames / 25,
        });
        const model = Object.values(report.inference).reduce((a, b) => a + b, 0);
        const { total, ...parts } = report.timings;
        // Model time is counted inside "stylize" and "faces"; the dominant part names where the time went.
        const [dominant] = Object.entries(parts).sort(([, a], [, b]) => b - a)[0]!;
        console.log(
          `| ${style} | ${report.width}x${report.height} | ${fmt(report.frames / (total / 1000))} | ${fmt(total / report.frames, 0)} | ${fmt((1 - model / total) * 100, 1)} % | ${dominant} |`,
        );
      }
    }
    console.log();
  }
} finally {
  await portoon.close();
  await engine.close();
}

if (!skip.has('memory')) {
  console.log('## Peak RSS of a whole process (02-railway-people-audio.mp4 at 360p, cel)\n');
  const rss = (duration: string): number => {
    const script = `
      import { Portoon } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).pathname)};
      const portoon = await Portoon.create({ modelsDir: ${JSON.stringify(modelsDir)}, workers: 1 });
      await portoon.cartoonizeVideo(${JSON.stringify(join(VIDEOS, '02-railway-people-audio.mp4'))}, ${JSON.stringify(join(OUT, 'rss.mp4'))}, { style: 'cel', maxSide: ${maxSide}${duration ? `, duration: ${duration}` : ''} });
      await portoon.close();
      console.log(process.resourceUsage().maxRSS);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(child.stderr);
    return Number(child.stdout.trim().split('\n').at(-1)) / 1024;
  };
  const short = rss('2');
  const long = rss('');
  console.log('| clip part | peak RSS (MB) |');
  console.log('|---|---|');
  console.log(`| first 2 s | ${fmt(short, 0)} |`);
  console.log(`| whole 9.5 s | ${fmt(long, 0)} (${fmt((long / short - 1) * 100, 1)} % more) |`);
  console.log();
}
