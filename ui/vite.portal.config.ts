import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web portal: the same design system as the app, served by the sync server at /portal/
// (ANOLA_PORTAL_DIR=ui/dist-portal). Same-origin API calls; no mock backend in the build.
export default defineConfig({
  plugins: [react()],
  root: 'portal',
  base: '/portal/',
  publicDir: false,
  clearScreen: false,
  build: {
    outDir: '../dist-portal',
    emptyOutDir: true,
    target: ['es2021', 'chrome105', 'safari15', 'firefox115'],
    sourcemap: false,
  },
  server: {
    port: 1421,
    strictPort: true,
    // `npm run dev:portal` talks to a local sync server.
    proxy: { '/portal/api': 'http://127.0.0.1:8787', '/admin': 'http://127.0.0.1:8787', '/auth': 'http://127.0.0.1:8787', '/money': 'http://127.0.0.1:8787' },
  },
});
