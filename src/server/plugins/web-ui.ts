/**
 * The web UI at `/` (with the live camera page at `/live` and the call page at `/call`): the built
 * files, or, when the UI has not been built, a line saying how to build it.
 */
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface WebUiOptions {
  /** Folder of the built web UI; undefined or missing: `/` explains how to build it. */
  root: string | undefined;
}

/** Pages of the UI besides `/`, served at their short paths. */
export const UI_PAGES = { '/live': 'live.html', '/call': 'call.html' } as const;

/** Serves the built UI with cache headers per file type, or the fallback line at `/`. */
export const webUi: FastifyPluginAsync<WebUiOptions> = async (app, { root }) => {
  if (root && existsSync(root)) {
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      // Cache-Control is set below, per file type.
      cacheControl: false,
      setHeaders: (response, path) => {
        // Vite puts a content hash in every asset name, so assets never change; the page itself may.
        response.setHeader('cache-control', /[/\\]assets[/\\]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    for (const [path, file] of Object.entries(UI_PAGES)) {
      app.get(path, { schema: { hide: true } }, async (_request, reply) => reply.sendFile(file));
    }
    return;
  }
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/plain; charset=utf-8')
      .send('Portoon API is running; the web UI is not built (run `npm run build`). API docs: /docs\n'),
  );
};
