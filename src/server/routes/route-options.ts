/** What the app factory hands every route plugin besides the queue. */
import type { onRequestHookHandler } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route starts image work: it counts against the client's rate limit. */
    createsWork?: boolean;
  }
}

export interface RouteOptions {
  /** Refuses an upload whose declared length is over the limit before reading it. */
  uploadGuard: onRequestHookHandler;
}
