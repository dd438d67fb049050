/**
 * Graceful shutdown as a load balancer and a client see it, over a real socket: while accepted work
 * finishes the listener stays open, /readyz answers 503 and new work is refused with 503 E_CLOSED and
 * Retry-After; work still unfinished when the grace period ends is answered 503 E_CLOSED (retry can
 * help), never as a missing job.
 */
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from '../helpers/env.js';
import { cartoonForm } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const MODELS = ['animeganv3-jpface-v1', 'animeganv3-hayao36', 'bisenetv2-faceparsing-448', 'retinaface-mnet025', 'yunet-face'];
const GROUP = readFileSync(portrait('12-group-selfie-cafe.jpeg'));
const PHOTO = readFileSync(portrait('01-woman-mask-peace.jpg'));

let service: Service | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function listen(flags: RawSettings): Promise<{ service: Service; url: string }> {
  const config = resolveServerConfig(
    { modelsDir: TEST_MODELS_DIR, styles: 'anime,cel', logLevel: process.env.DEBUG_LOG ?? 'silent', ...flags },
    {},
  );
  const started = await createService(config);
  service = started;
  const url = await started.app.listen({ host: '127.0.0.1', port: 0 });
  await started.warmUp();
  return { service: started, url };
}

/** Sends a long job (anime on a five-face photo) and waits until a worker is running it. */
async function startLongRequest(url: string, svc: Service): Promise<{ inFlight: Promise<Response> }> {
  const inFlight = fetch(`${url}/api/v1/cartoon`, {
    method: 'POST',
    body: cartoonForm(GROUP, { style: 'anime' }),
    signal: AbortSignal.timeout(150_000),
  });
  await waitFor(
    'the request to start running',
    () => svc.queue.counts(),
    (counts) => counts.running === 1,
    { timeoutMs: 20_000 },
  );
  // Wrapped: an async function returning the bare promise would wait for the response itself.
  return { inFlight };
}

async function errorOf(response: Response): Promise<{ status: number; code: string; retryAfter: number }> {
  const body = (await response.json()) as { error: { code: string } };
  return { status: response.status, code: body.error.code, retryAfter: Number(response.headers.get('retry-after')) };
}

describeWithModels(MODELS)('graceful shutdown', () => {
  it('drains: /readyz 503 and new work 503 E_CLOSED while the accepted image finishes on the open listener', async () => {
    const { service: svc, url } = await listen({ shutdownGrace: '120' });
    const { inFlight } = await startLongRequest(url, svc);
    const closed = svc.close();

    const ready = await fetch(`${url}/readyz`);
    expect(await errorOf(ready)).toMatchObject({ status: 503, code: 'E_CLOSED' });
    expect(Number(ready.headers.get('retry-after'))).toBeGreaterThan(0);
    // Health still answers: the process is alive and finishing work.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const refused = await fetch(`${url}/api/v1/cartoon`, { method: 'POST', body: cartoonForm(PHOTO, { style: 'cel' }) });
    const refusal = await errorOf(refused);
    expect([refusal.status, refusal.code]).toEqual([503, 'E_CLOSED']);
    expect(refusal.retryAfter).toBeGreaterThan(0);
    // The job API still reports on work already accepted.
    expect((await fetch(`${url}/api/v1/styles`)).status).toBe(200);
    // Everything we asked was answered before the accepted image finished.
    expect((await svc.queue.counts()).running).toBe(1);

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
    expect(response.headers.get('x-portoon-faces')).toBe('5');
    await closed;
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    service = undefined;
  });

  it('a request still running when the grace period ends gets 503 E_CLOSED with Retry-After, not 404', async () => {
    const { service: svc, url } = await listen({ shutdownGrace: '0' });
    const { inFlight } = await startLongRequest(url, svc);
    const closed = svc.close();
    const answer = await errorOf(await inFlight);
    expect([answer.status, answer.code]).toEqual([503, 'E_CLOSED']);
    expect(answer.retryAfter).toBeGreaterThan(0);
    await closed;
    service = undefined;
  });
});

describeWithModels(MODELS)('job status numbers', () => {
  it('progress is rounded for people: at most three decimals', async () => {
    const { service: svc, url } = await listen({});
    const accepted = await fetch(`${url}/api/v1/jobs`, { method: 'POST', body: cartoonForm(GROUP, { style: 'anime' }) });
    expect(accepted.status).toBe(202);
    const { statusUrl } = (await accepted.json()) as { statusUrl: string };
    const seen: number[] = [];
    await waitFor(
      'the job to finish',
      async () => {
        const status = (await (await fetch(`${url}${statusUrl}`)).json()) as {
          state: string;
          overall: number;
          progress: Record<string, number>;
        };
        seen.push(status.overall, ...Object.values(status.progress));
        return status.state;
      },
      (state) => state === 'completed',
      { timeoutMs: 150_000, intervalMs: 20 },
    );
    expect(seen.length).toBeGreaterThan(10);
    const unrounded = seen.filter((value) => Math.round(value * 1000) !== value * 1000);
    expect(unrounded).toEqual([]);
    await svc.close();
    service = undefined;
  });
});
