import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortoonError } from '../src/core/errors.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { ModelStore } from '../src/node/model-store.js';
import { describeWithModels, MODEL_MIRROR } from './helpers/env.js';

const SMALL = 'yunet-face'; // 230 kB: quick to copy many times

function freshStore(): ModelStore {
  const dir = mkdtempSync(join(tmpdir(), 'portoon-store-'));
  return new ModelStore(loadCatalogue(dir), dir);
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof PortoonError ? e.code : `untyped: ${String(e)}`),
  );
}

describe('model store without a source', () => {
  it('offline with no mirror: a clear error naming the command, never a hang', async () => {
    const store = freshStore();
    const error = await store.pull([SMALL], {}).catch((e: unknown) => e as PortoonError);
    expect(error).toBeInstanceOf(PortoonError);
    expect((error as PortoonError).code).toBe('E_MODEL_SOURCE');
    expect((error as PortoonError).message).toContain(`npx portoon models pull ${SMALL} --from`);
  });
  it('a missing model is reported with the command to install it', async () => {
    const store = freshStore();
    const error = await store.verifiedPath(SMALL).catch((e: unknown) => e as PortoonError);
    expect((error as PortoonError).code).toBe('E_MODEL_MISSING');
    expect((error as PortoonError).message).toContain(`portoon models pull ${SMALL}`);
  });
  it('unknown model ids are rejected', async () => {
    expect(await codeOf(freshStore().pull(['no-such-model'], { from: MODEL_MIRROR }))).toBe('E_BAD_OPTION');
  });
});

describeWithModels([SMALL])('model store with the mirror', () => {
  it('installs from a mirror folder, verifies, and skips what is installed', async () => {
    const store = freshStore();
    const first = await store.pull([SMALL], { from: MODEL_MIRROR });
    expect(first[0]!.action).toBe('installed');
    expect((await store.verify(SMALL)).ok).toBe(true);
    const again = await store.pull([SMALL], { from: MODEL_MIRROR });
    expect(again[0]!.action).toBe('already-installed');
    // Nothing temporary is left behind.
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('detects a corrupted model file and reports its path', async () => {
    const store = freshStore();
    await store.pull([SMALL], { from: MODEL_MIRROR });
    const path = store.pathOf(SMALL);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0xff; // same size, one flipped byte
    writeFileSync(path, bytes);
    const result = await store.verify(SMALL);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatch(/sha256/);
    const error = await store.verifiedPath(SMALL).catch((e: unknown) => e as PortoonError);
    expect((error as PortoonError).code).toBe('E_MODEL_CORRUPT');
    expect((error as PortoonError).message).toContain(path);
    // pull repairs it
    expect((await store.pull([SMALL], { from: MODEL_MIRROR }))[0]!.action).toBe('installed');
    expect((await store.verify(SMALL)).ok).toBe(true);
  });

  it('refuses a mirror file that does not match the catalogue, leaving nothing installed', async () => {
    const badMirror = mkdtempSync(join(tmpdir(), 'portoon-badmirror-'));
    writeFileSync(join(badMirror, `${SMALL}.onnx`), Buffer.alloc(1000, 7));
    const store = freshStore();
    expect(await codeOf(store.pull([SMALL], { from: badMirror }))).toBe('E_MODEL_CORRUPT');
    expect(existsSync(store.pathOf(SMALL))).toBe(false);
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  describe('over HTTP (loopback)', () => {
    let server: Server;
    let base = '';
    let mode: 'ok' | 'stall' | '404' = 'ok';
    beforeAll(async () => {
      server = createServer((req, res) => {
        const file = join(MODEL_MIRROR, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/models\//, ''));
        if (mode === '404' || !existsSync(file)) {
          res.writeHead(404).end('not found');
        } else if (mode === 'stall') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.write(Buffer.alloc(1000)); // then nothing, forever (until the client gives up)
        } else {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          createReadStream(file).pipe(res);
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('installs over HTTP with progress and sha256 verification', async () => {
      mode = 'ok';
      const store = freshStore();
      const seen: number[] = [];
      await store.pull([SMALL], { from: base, onProgress: (p) => seen.push(p.received) });
      expect((await store.verify(SMALL)).ok).toBe(true);
      expect(seen.at(-1)).toBe(store.entry(SMALL).bytes);
    });
    it('a 404 is a clear E_MODEL_SOURCE error', async () => {
      mode = '404';
      expect(await codeOf(freshStore().pull([SMALL], { from: base }))).toBe('E_MODEL_SOURCE');
    });
    it('a stalled server fails after the stall timeout instead of hanging', async () => {
      mode = 'stall';
      const store = freshStore();
      const started = performance.now();
      expect(await codeOf(store.pull([SMALL], { from: base, stallTimeoutMs: 300 }))).toBe('E_MODEL_SOURCE');
      const elapsedMs = performance.now() - started;
      // It did wait for the stall timeout (the first bytes arrived), and gave up soon after it.
      expect(elapsedMs).toBeGreaterThanOrEqual(290);
      expect(elapsedMs).toBeLessThan(10_000);
      expect(existsSync(store.pathOf(SMALL))).toBe(false);
      expect(readdirSync(store.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    });
    it('an unreachable port fails quickly: at the refused connection, not after the stall timeout', async () => {
      // A loopback port that was just free: connecting to it is refused at once.
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      // A stall timeout far above the bound below: an implementation that waits for it (or for any
      // timer of that order) instead of failing on the refused connection takes 60 s and fails here.
      const stallTimeoutMs = 60_000;
      const started = performance.now();
      const code = await codeOf(freshStore().pull([SMALL], { from: `http://127.0.0.1:${port}/`, stallTimeoutMs }));
      const elapsedMs = performance.now() - started;
      expect(code).toBe('E_MODEL_SOURCE');
      // A refused loopback connection fails in milliseconds; 10 s leaves room for a loaded machine.
      expect(elapsedMs).toBeLessThan(10_000);
    });
  });
});
