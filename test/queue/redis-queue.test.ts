/**
 * The Redis (BullMQ) queue against the same conformance suite as the in-process queue, on a real
 * Redis server and a shared folder store. A "node" here is an API-side queue and a worker on the same
 * jobs, in this process; the cases only a cluster has (several nodes, killed workers, restarts) are in
 * redis-cluster.test.ts.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { CartoonEngine } from '../../src/core/engine-port.js';
import type { CartoonizeRequest } from '../../src/core/request.js';
import { parseCartoonizeRequest } from '../../src/core/request.js';
import { FsBlobStore } from '../../src/queue/blob/fs-blob-store.js';
import type { JobQueue } from '../../src/queue/job-queue.js';
import type { QueueNamespace } from '../../src/queue/redis/job-data.js';
import { portrait, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { ClusterNode } from './cluster-node.js';
import { describeQueueConformance, MISSING_MODEL_STYLE, QUICK_STYLE, type ConformanceOptions, type QueueBackend } from './conformance.js';
import { FakeEngine } from './fake-engine.js';

let redis: RedisServer;
const storeDir = join(TEST_OUTPUT_DIR, `redis-queue-store-${process.pid}`);

beforeAll(async () => {
  redis = await startRedisServer();
  rmSync(storeDir, { recursive: true, force: true });
  mkdirSync(storeDir, { recursive: true });
});
afterAll(async () => {
  await redis?.destroy();
  rmSync(storeDir, { recursive: true, force: true });
});

let queues = 0;
const namespaces = new WeakMap<JobQueue, QueueNamespace>();

async function node(engine: CartoonEngine, options: ConformanceOptions, namespace: QueueNamespace): Promise<JobQueue> {
  const queue = await ClusterNode.start({ url: redis.url, namespace, store: new FsBlobStore(storeDir), engine, ...options });
  namespaces.set(queue, namespace);
  return queue;
}

const redisBackend: QueueBackend = {
  // Each queue gets its own name: the tests share one Redis server and never see each other's jobs.
  create: (engine, options) => node(engine, options, { prefix: 'test', name: `conformance-${(queues += 1)}` }),
  successor: (closed, engine, options) => node(engine, options, namespaces.get(closed)!),
};

const photo = (): Uint8Array => readFileSync(portrait('01-woman-mask-peace.jpg'));

describeQueueConformance('Redis (BullMQ), fake engine', redisBackend, async () => {
  const engine = new FakeEngine({ workers: 1, styles: [QUICK_STYLE], missingModel: [MISSING_MODEL_STYLE] });
  return {
    engine,
    held: () => {
      const { style, release } = engine.hold();
      const request: CartoonizeRequest = parseCartoonizeRequest({ style });
      return { input: photo(), request, release };
    },
    deadlineMs: 15_000,
    close: async () => undefined,
  };
});
