/** `portoon serve` as configured: one process that runs its own jobs, or an API node of a cluster (`--queue`). */
import { createClusterService } from './cluster-service.js';
import type { ServerConfig } from './config.js';
import { createService, type RunningService } from './service.js';

export function startService(config: Readonly<ServerConfig>): Promise<RunningService> {
  return config.queue === undefined ? createService(config) : createClusterService(config);
}
