/**
 * Builds the browser UI in web/ into dist/web, which the HTTP server serves at /. During `vite` dev,
 * API and docs requests go to a Portoon server on PORTOON_DEV_API (default http://127.0.0.1:8080).
 */
import { defineConfig } from 'vite';

const api = process.env.PORTOON_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'web',
  base: '/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: { '/api': api, '/docs': api },
  },
});
