import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Portoon } from '../../src/node/portoon.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from '../helpers/env.js';
import { describeQueueConformance } from './conformance.js';

describeWithModels(['whitebox-cartoon', 'animeganv3-jpface-v1', 'animeganv3-hayao36'])('in-process queue', () => {
  describeQueueConformance('in-process', async () => {
    // One engine with one worker for the whole suite; each test gets a fresh queue on it.
    const portoon = await Portoon.create({ modelsDir: TEST_MODELS_DIR, workers: 1, threads: 2 });
    return {
      create: async (options) => new InProcessQueue(portoon, options),
      teardown: () => portoon.close(),
    };
  });
});

describeWithModels([])('in-process queue memory budget', () => {
  it('forgets the oldest finished results first when they exceed the memory budget, never the newest', async () => {
    const portoon = await Portoon.create({ modelsDir: TEST_MODELS_DIR, workers: 1, threads: 2 });
    const queue = new InProcessQueue(portoon, { maxResultBytes: 1 });
    try {
      const photo = readFileSync(portrait('01-woman-mask-peace.jpg'));
      const first = await queue.enqueue(photo, { style: 'cel', maxSide: 128 });
      await queue.wait(first.id);
      expect(await queue.result(first.id)).toBeDefined();
      const second = await queue.enqueue(photo, { style: 'cel', maxSide: 128 });
      await queue.wait(second.id);
      expect(await queue.status(first.id)).toBeUndefined();
      expect(await queue.result(second.id)).toBeDefined();
    } finally {
      await queue.close(0);
      await portoon.close();
    }
  });
});
