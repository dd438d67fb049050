import { Portoon } from '../../src/node/portoon.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { describeWithModels, TEST_MODELS_DIR } from '../helpers/env.js';
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
