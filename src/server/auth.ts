/**
 * API keys. The check is a hook of the plugin the API routes are registered in, so it guards routes
 * by where they live, not by what the URL string looks like: however a client spells a path
 * (percent-escapes, absolute-form targets), the router either finds an API handler, and then this
 * hook runs first, or finds nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { PortoonError } from '../core/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Opaque id of the valid API key the request presented (a hash, never the key). Undefined when the
     * service has no keys or the request is not under the API plugin.
     */
    apiKeyId?: string;
  }
}

/** The key a request presents: `Authorization: Bearer <key>`, else `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^Bearer\s+/i.test(authorization)) return authorization.replace(/^Bearer\s+/i, '').trim();
  const header = request.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Matches a presented key against the configured ones in constant time (every key is compared, and
 * only fixed-length digests are), returning the id of the matching key.
 */
export function keyIdentifier(keys: readonly string[]): (presented: string) => string | undefined {
  const known = keys.map((key) => ({ digest: digest(key), id: digest(`portoon-key-id:${key}`).toString('hex').slice(0, 32) }));
  return (presented) => {
    const candidate = digest(presented);
    let found: string | undefined;
    for (const key of known) if (timingSafeEqual(key.digest, candidate)) found = key.id;
    return found;
  };
}

/** The onRequest hook of the API plugin: 401 without a valid key; otherwise records which key it was. */
export function requireApiKey(keys: readonly string[]): onRequestHookHandler {
  const identify = keyIdentifier(keys);
  return async (request) => {
    const presented = presentedKey(request);
    const id = presented ? identify(presented) : undefined;
    if (!id) {
      throw new PortoonError('E_UNAUTHORIZED', 'This service needs an API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`');
    }
    request.apiKeyId = id;
  };
}
