/**
 * Portoon in the browser, measured in headless Chromium (Debian's, through playwright-core) on this
 * machine, against the Node engine in the same run.
 *
 * a. models: each catalogue model's inference time in onnxruntime-web (WebAssembly, SIMD, threads
 *    1 and 2 in a cross-origin isolated page) and in onnxruntime-node (the same thread counts and the
 *    session options the Node engine uses), random input, median of --runs after one warm-up run; at
 *    256² and 512² for the models that take any size, at their one size for the others. Ratio =
 *    web / node (1.0 = as fast as Node).
 * b. live: the /live page of the real server at 640x480 with a fake camera (a Y4M made from a
 *    talking-head clip): display FPS (frames drawn / seconds) with a model-free style alone and with
 *    neural face styles on top, the stylized-face refresh rate and the tracking rate, measured over
 *    --live-seconds after a warm-up (targets: display ≥ 24 FPS, face refresh ≥ 5/s).
 * c. cache: a second visit of the live page with a neural face style: model bytes fetched (target 0).
 * d. call: two pages in a WebRTC call through the server's signalling (bench/browser-call.ts):
 *    received FPS, latency p50/p95 and dropped frames over 20 s (targets ≥ 15 FPS, p95 < 250 ms, 0).
 *
 *   npm run build && npm run bench:browser -- [--parts models,live,cache,call] [--runs 3] [--models id,id]
 *     [--live-seconds 15] [--face-size 128] [--call-seconds 20]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import type { ModelEntry } from '../src/core/models/manifest.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { REPO_ROOT, TEST_MODELS_DIR } from '../test/helpers/env.js';
import { launchWithFakeCamera, makeFakeCameraY4m } from '../test/helpers/fake-camera.js';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { machineLine } from './machine.js';

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: 'models,live,cache,call' },
    runs: { type: 'string', default: '3' },
    models: { type: 'string' },
    'models-dir': { type: 'string', default: TEST_MODELS_DIR },
    'live-seconds': { type: 'string', default: '15' },
    'face-size': { type: 'string', default: '128' },
    'call-seconds': { type: 'string', default: '20' },
  },
});
const parts = new Set(values.parts.split(','));
const RUNS = Number(values.runs);
const MODELS_DIR = resolve(values['models-dir']);
const ORT_WEB_DIST = join(REPO_ROOT, 'node_modules/onnxruntime-web/dist');
/** A loopback origin the bench page is served on by request interception (nothing listens there). */
const PROBE_ORIGIN = 'http://127.0.0.1:9';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

interface Shape {
  label: string;
  dims: number[];
}

/** The input sizes a model is measured at. */
function shapesOf(entry: ModelEntry): Shape[] {
  const fixed = entry.input.fixedSize;
  const sizes: Array<[number, number]> = fixed ? [fixed] : [256, 512].map((s): [number, number] => [s, s]);
  // SCRFD takes exactly 640x640 though its manifest does not say so (it is not a helper role with a fixed size).
  if (entry.id.startsWith('scrfd')) sizes.splice(0, sizes.length, [640, 640]);
  return sizes.map(([w, h]) => ({
    label: `${w}x${h}`,
    dims: entry.input.layout === 'NHWC' ? [1, h, w, 3] : [1, 3, h, w],
  }));
}

function randomInput(dims: number[]): Float32Array {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  return data;
}

async function nodeTime(entry: ModelEntry, dims: number[], threads: number): Promise<number> {
  const session = await ort.InferenceSession.create(join(MODELS_DIR, entry.file), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const feeds = { [entry.input.name]: new ort.Tensor('float32', randomInput(dims), dims) };
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  await session.release();
  return median(times);
}

/** The probe page: onnxruntime-web's ESM build and a `timeModel` function, served with isolation headers. */
const PROBE_HTML = `<!doctype html><meta charset="utf-8"><title>probe</title>
<script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
window.timeModel = async (url, inputName, dims, threads, runs) => {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = '/ort/';
  const session = await ort.InferenceSession.create(url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  const feeds = { [inputName]: new ort.Tensor('float32', data, dims) };
  await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) { const t = performance.now(); await session.run(feeds); times.push(performance.now() - t); }
  await session.release();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
};
window.probeReady = { isolated: crossOriginIsolated, threadsAvailable: navigator.hardwareConcurrency };
</script>`;

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/** A fresh isolated page (onnxruntime-web's thread count is fixed by the first session a page creates). */
async function probePage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.route(`${PROBE_ORIGIN}/**`, async (route) => {
    const { pathname } = new URL(route.request().url());
    if (pathname === '/') return route.fulfill({ status: 200, contentType: 'text/html', headers: ISOLATION, body: PROBE_HTML });
    if (pathname.startsWith('/ort/')) {
      const file = join(ORT_WEB_DIST, pathname.slice('/ort/'.length));
      const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      return route.fulfill({ status: 200, contentType: type, headers: ISOLATION, body: readFileSync(file) });
    }
    if (pathname.startsWith('/models/')) {
      const body = readFileSync(join(MODELS_DIR, pathname.slice('/models/'.length)));
      return route.fulfill({ status: 200, contentType: 'application/octet-stream', headers: ISOLATION, body });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  await page.goto(`${PROBE_ORIGIN}/`);
  const ready = (await page.waitForFunction('window.probeReady', null, { timeout: 60_000 }).then((h) => h.jsonValue())) as {
    isolated: boolean;
  };
  if (!ready.isolated) throw new Error('The probe page is not cross-origin isolated: WebAssembly threads would be off');
  return page;
}

async function benchModels(): Promise<void> {
  const catalogue = loadCatalogue(MODELS_DIR);
  const wanted = values.models?.split(',');
  const entries = catalogue.models.filter((m) => existsSync(join(MODELS_DIR, m.file)) && (!wanted || wanted.includes(m.id)));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  console.log(`\n## a. Inference: onnxruntime-web (WASM, SIMD) vs onnxruntime-node, median of ${RUNS} runs\n`);
  console.log('| model | input | threads | web ms | node ms | web / node |');
  console.log('|---|---|---|---|---|---|');
  try {
    for (const threads of [1, 2]) {
      for (const entry of entries) {
        for (const shape of shapesOf(entry)) {
          const page = await probePage(browser);
          try {
            const args = [`/models/${entry.file}`, entry.input.name, shape.dims, threads, RUNS].map((a) => JSON.stringify(a)).join(', ');
            const web = (await page.evaluate(`window.timeModel(${args})`)) as number;
            const node = await nodeTime(entry, shape.dims, threads);
            console.log(`| ${entry.id} | ${shape.label} | ${threads} | ${fmt(web)} | ${fmt(node)} | ${(web / node).toFixed(2)} |`);
          } catch (error) {
            console.log(`| ${entry.id} | ${shape.label} | ${threads} | failed: ${(error as Error).message.split('\n')[0]} | | |`);
          } finally {
            await page.close();
          }
        }
      }
    }
  } finally {
    await browser.close();
  }
}

interface LiveSample {
  frames: number;
  refresh: number;
  track: number;
  styleMs: number;
}

async function liveSample(page: Page): Promise<LiveSample> {
  return (await page.evaluate(`(() => {
    const s = document.getElementById('live-stats').dataset;
    const n = document.getElementById('neural-styles').dataset;
    return { frames: Number(s.frames ?? 0), refresh: Number(n.refreshRate ?? 0), track: Number(n.trackRate ?? 0), styleMs: Number(n.styleMs ?? 0) };
  })()`)) as LiveSample;
}

async function waitFor(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function benchLive(server: ServerProcess, browser: Browser): Promise<void> {
  // One context: the models downloaded by the first case come from Cache Storage in the others.
  const context = await browser.newContext();
  const seconds = Number(values['live-seconds']);
  const faceSize = Number(values['face-size']);
  console.log(`\n## b. Live page at 640x480 (fake camera), ${seconds} s measured after warm-up, face crop ${faceSize}²\n`);
  console.log('| camera style | face style | display FPS | face refresh /s | tracking /s | face model ms (last) |');
  console.log('|---|---|---|---|---|---|');
  const cases: Array<[string, string]> = [
    ['cel', 'none'],
    ['watercolor', 'none'],
    ['original', 'cartoon'],
    ['cel', 'cartoon'],
    ['original', 'anime'],
  ];
  for (const [shader, face] of cases) {
    const page = await context.newPage();
    try {
      await page.goto(`${server.url}/live?autostart=1&style=${shader}&face=${face}&faceSize=${faceSize}`);
      await waitFor(page, `Number(document.getElementById('live-stats').dataset.frames ?? 0) > 30`, 60_000);
      if (face !== 'none') await waitFor(page, `Number(document.getElementById('neural-styles').dataset.refreshRate ?? 0) > 0`, 120_000);
      // Warm-up: the first face runs include model loading and WebAssembly compilation.
      await new Promise((r) => setTimeout(r, 3000));
      const first = await liveSample(page);
      const start = performance.now();
      const samples: LiveSample[] = [];
      while (performance.now() - start < seconds * 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        samples.push(await liveSample(page));
      }
      const last = samples.at(-1)!;
      const fps = (last.frames - first.frames) / ((performance.now() - start) / 1000);
      const mean = (pick: (s: LiveSample) => number): number => samples.reduce((a, s) => a + pick(s), 0) / samples.length;
      const faceCells =
        face === 'none' ? '– | – | –' : `${mean((s) => s.refresh).toFixed(1)} | ${mean((s) => s.track).toFixed(1)} | ${last.styleMs}`;
      console.log(`| ${shader} | ${face} | ${fps.toFixed(1)} | ${faceCells} |`);
    } finally {
      await page.close();
    }
  }
  await context.close();
}

async function benchCache(server: ServerProcess, browser: Browser): Promise<void> {
  console.log('\n## c. Second visit of the live page (neural face style): model bytes fetched\n');
  // A new browser profile context: empty Cache Storage for the first visit, kept for the second.
  const context = await browser.newContext();
  const visit = async (): Promise<{ requests: number; bytes: number }> => {
    const page = await context.newPage();
    let requests = 0;
    let bytes = 0;
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/api/v1/models/')) {
        requests++;
        bytes += Number(response.headers()['content-length'] ?? 0);
      }
    });
    await page.goto(`${server.url}/live?autostart=1&style=original&face=cartoon`);
    await waitFor(page, `Number(document.getElementById('neural-styles').dataset.refreshRate ?? 0) > 0`, 120_000);
    await page.close();
    return { requests, bytes };
  };
  const first = await visit();
  const second = await visit();
  await context.close();
  console.log('| visit | model requests | model bytes |');
  console.log('|---|---|---|');
  console.log(`| first | ${first.requests} | ${first.bytes} |`);
  console.log(`| second | ${second.requests} | ${second.bytes} |`);
}

async function benchCallPart(): Promise<void> {
  const { benchCall } = (await import('./browser-call.js')) as typeof import('./browser-call.js');
  const seconds = Number(values['call-seconds']);
  console.log(`\n## d. WebRTC call between two pages on loopback, 640x480, ${seconds} s\n`);
  console.log('| style | received FPS | latency p50 ms | latency p95 ms | dropped | received |');
  console.log('|---|---|---|---|---|---|');
  for (const style of ['original', 'cel']) {
    const r = await benchCall({ seconds, style });
    console.log(
      `| ${style} | ${r.receivedFps.toFixed(1)} | ${r.latencyP50.toFixed(0)} | ${r.latencyP95.toFixed(0)} | ${r.dropped} | ${r.received} |`,
    );
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  const chromiumVersion = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }).then(async (b) => {
    const version = b.version();
    await b.close();
    return version;
  });
  console.log(
    `Chromium ${chromiumVersion} (headless, software GL); onnxruntime-web ${readPackageVersion('onnxruntime-web')}, onnxruntime-node ${readPackageVersion('onnxruntime-node')}`,
  );
  if (parts.has('models')) await benchModels();
  if (parts.has('live') || parts.has('cache')) {
    const server = await startServerProcess(['--models-dir', MODELS_DIR, '--styles', 'cartoon,anime,cel']);
    const y4m = await makeFakeCameraY4m('03-talking-head-woman.mp4', { seconds: 20 });
    const browser = await launchWithFakeCamera(y4m);
    try {
      if (parts.has('live')) await benchLive(server, browser);
      if (parts.has('cache')) await benchCache(server, browser);
    } finally {
      await browser.close();
      await server.stop();
    }
  }
  if (parts.has('call')) await benchCallPart();
}

function readPackageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
