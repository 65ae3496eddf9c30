import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Tauri loads the built files from disk (relative base) and, in development, from the dev server
// on a fixed port (src-tauri/tauri.conf.json: devUrl http://localhost:1420, frontendDist ../ui/dist).
export default defineConfig({
  plugins: [react()],
  base: './',
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    watch: {
      // The Rust side is rebuilt by Tauri; do not watch it from here.
      ignored: ['**/src-tauri/**'],
    },
  },
  preview: {
    port: 1420,
    strictPort: true,
  },
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebView2 on Windows, WebKitGTK on Linux, WKWebView on macOS.
    target: ['es2021', 'chrome105', 'safari15'],
    sourcemap: false,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
