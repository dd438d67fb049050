/**
 * The service's bound on one request's cost. Model time grows with the pixels processed and with the
 * faces stylized one by one, so the service processes at most `--max-side` on the long side and at
 * most `--max-faces` faces. A request without `maxSide` gets the service's; a request asking for more
 * is refused rather than silently shrunk.
 */
import { PortoonError } from '../core/errors.js';
import type { CartoonizeRequest } from '../core/request.js';

/** Largest request body that is not a photo upload (no route needs one; multipart uploads have their own limit). */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface ServiceLimits {
  maxSide: number;
  maxFaces: number;
}

export function withServiceLimits(request: CartoonizeRequest, limits: ServiceLimits): CartoonizeRequest {
  const { maxSide, maxFaces } = limits;
  if (request.maxSide !== undefined && request.maxSide > maxSide) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected maxSide of at most ${maxSide} (this service's limit) but received ${request.maxSide}; omit it to get ${maxSide}`,
      { details: { maxSide } },
    );
  }
  return { ...request, maxSide: request.maxSide ?? maxSide, maxFaces };
}
