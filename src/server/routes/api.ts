/**
 * The API scope: the route groups that need a key (cartoon, jobs, styles, verify) are plugins
 * registered inside this one, so its hooks run for every one of their routes, however a client spells
 * the URL (see auth.ts). /api/v1/info is registered beside it, not in it, and stays open.
 */
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { CartoonEngine, ModelFiles } from '../../core/engine-port.js';
import { PortoonError } from '../../core/errors.js';
import type { StyleInfo } from '../../core/style-info.js';
import type { JobQueue } from '../../queue/job-queue.js';
import { requireApiKey } from '../auth.js';
import { addRouteErrors } from '../route-config.js';
import type { ServerConfig } from '../config.js';
import type { SubmitContext } from '../submit.js';
import { callRoutes, keyFromQuery } from './call.js';
import { cartoonRoutes } from './cartoon.js';
import type { Readiness } from './health.js';
import { jobRoutes } from './jobs.js';
import { modelRoutes } from './models.js';
import { styleRoutes } from './styles.js';
import { verifyRoutes } from './verify.js';
import { VerifyPool } from '../../node/verify-pool.js';

export interface ApiOptions {
  config: Pick<
    ServerConfig,
    | 'apiKeys'
    | 'maxUploadBytes'
    | 'maxVideoUploadBytes'
    | 'maxPixels'
    | 'watermarkKey'
    | 'styles'
    | 'maxSide'
    | 'maxFaces'
    | 'queue'
    | 'iceServers'
    | 'callRoomTtlMs'
    | 'maxCallRooms'
  >;
  queue: JobQueue;
  /** Checks requests against the installed styles and probes uploads (the queue's engine). */
  engine: Pick<CartoonEngine, 'check' | 'probe' | 'probeVideo'>;
  /** Where video uploads are written while they arrive. */
  spoolDir: string;
  readiness: Pick<Readiness, 'draining'>;
  styles: () => StyleInfo[];
  /** The catalogue and model files the browser engine downloads. */
  models: ModelFiles;
  /** Photo the style previews are rendered from; undefined: previews are unavailable. */
  previewImage: string | undefined;
}

/** An onRequest hook: while draining, new work is refused before its upload is read; polls and results still work. */
function refuseWorkWhileDraining(readiness: Pick<Readiness, 'draining'>): onRequestHookHandler {
  return async (request) => {
    if (readiness.draining && request.routeOptions.config.createsWork === true) {
      throw new PortoonError('E_CLOSED', 'The service is shutting down and accepts no new work; retry on another instance');
    }
  };
}

/**
 * The API scope, registered under the API prefix: the key check (when keys are configured) and the
 * draining check as its hooks, and the route groups that need them as its child plugins.
 */
export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (
  api,
  { config, queue, engine, spoolDir, readiness, styles, models, previewImage },
) => {
  const keyed = config.apiKeys.length > 0;
  // The call socket may present its key in the query (see call.ts), then checked like any other.
  if (keyed) api.addHook('onRequest', keyFromQuery);
  if (keyed) api.addHook('onRequest', requireApiKey(config.apiKeys));
  api.addHook('onRequest', refuseWorkWhileDraining(readiness));
  // The routes say so too, for the OpenAPI document: they need a key, and can be refused for it or
  // for a shutdown under way.
  // In a cluster every route reads or writes the shared queue and store, which may be out of reach.
  const clustered = config.queue !== undefined;
  api.addHook('onRoute', (route) => {
    if (keyed) route.config = { ...route.config, needsKey: true };
    addRouteErrors(route, [
      ...(keyed ? (['E_UNAUTHORIZED'] as const) : []),
      ...(route.config?.createsWork ? (['E_CLOSED'] as const) : []),
      ...(clustered ? (['E_QUEUE_UNAVAILABLE', 'E_BLOB_STORE'] as const) : []),
    ]);
  });

  const submit: SubmitContext = { queue, engine, styles: config.styles, maxSide: config.maxSide, maxFaces: config.maxFaces };
  // The synchronous route takes photos only: a video is answered E_VIDEO_NEEDS_JOB as soon as its first bytes show it.
  await api.register(cartoonRoutes, { submit, limits: { maxUploadBytes: config.maxUploadBytes, spoolDir } });
  await api.register(jobRoutes, {
    submit,
    limits: { maxUploadBytes: config.maxUploadBytes, maxVideoUploadBytes: config.maxVideoUploadBytes, spoolDir },
  });
  await api.register(styleRoutes, { submit, styles, previewImage });
  await api.register(callRoutes, { config });
  await api.register(modelRoutes, { models, served: config.styles });
  const verifier = new VerifyPool();
  api.addHook('onClose', async () => verifier.close());
  await api.register(verifyRoutes, {
    limits: { maxUploadBytes: config.maxUploadBytes, spoolDir },
    maxInputPixels: config.maxPixels,
    watermarkKey: config.watermarkKey,
    verify: (bytes, options) => verifier.verify(bytes, options),
  });
};
