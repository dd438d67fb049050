/**
 * What a route says about itself in its `config`, beyond its schema: whether it starts image work,
 * which error codes it can answer, and whether it needs an API key. The plugins that add a behaviour
 * (the key check, the rate limit, draining) add the matching facts to the routes they apply to, and
 * the OpenAPI document is written from them, so it lists exactly what each operation can answer.
 */
import type { RouteOptions } from 'fastify';
import type { ErrorCode } from '../core/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route starts image work: it counts against the client's rate limit and is refused while draining. */
    createsWork?: boolean;
    /** The error codes the route itself can answer with (the ones every route can are implied). */
    errors?: readonly ErrorCode[];
    /** The route needs an API key (set by the API scope when keys are configured). */
    needsKey?: boolean;
  }
}

/**
 * Codes every route can answer: a request the HTTP layer refuses before the route's own work (no Host
 * header, an undecodable URL) and a failure of the service's own.
 */
export const ERRORS_OF_EVERY_ROUTE: readonly ErrorCode[] = ['E_BAD_REQUEST', 'E_INTERNAL'];

/** For onRoute hooks: records that the route can also answer with these codes. */
export function addRouteErrors(route: RouteOptions, codes: readonly ErrorCode[]): void {
  const config = route.config ?? {};
  route.config = { ...config, errors: [...(config.errors ?? []), ...codes] };
}
