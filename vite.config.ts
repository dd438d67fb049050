/**
 * Builds the browser UI in web/ into dist/web, which the HTTP server serves at /. During `vite` dev,
 * API and docs requests go to a Portoon server on PORTOON_DEV_API (default http://127.0.0.1:8080).
 *
 * The UI imports shared types and tables from src/core by relative path ('../../src/core/formats.js';
 * Vite finds the .ts file). Only small platform-neutral modules may be imported at run time: the
 * request schema (src/core/request.ts) is for `import type` only, since it would pull zod into the
 * bundle, and the guard below fails the build if that happens.
 */
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const api = process.env.PORTOON_DEV_API ?? 'http://127.0.0.1:8080';

/** Packages the page must never bundle (the server-side request validation). */
const SERVER_ONLY = /^zod(?:\/|$)/;

function serverOnlyGuard(): Plugin {
  return {
    name: 'portoon:server-only-guard',
    enforce: 'pre',
    resolveId(source, importer) {
      if (SERVER_ONLY.test(source)) {
        this.error(
          `${source} would be bundled into the page (imported by ${importer ?? 'the web UI'}): import the request schema's types with \`import type\` only`,
        );
      }
      return null;
    },
  };
}

export default defineConfig({
  root: 'web',
  base: '/',
  plugins: [serverOnlyGuard()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve('web/index.html'),
        live: resolve('web/live.html'),
        call: resolve('web/call.html'),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/api': api, '/docs': api },
  },
});
