/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The Rust binary embeds web/dist and serves it at `/` with the API at `/api/v1`,
// so the dev server only needs to forward `/api` to a locally running `tollgate serve`.
export default defineConfig({
  plugins: [vue()],
  base: '/',
  // vue-i18n feature flags: composition API only, no devtools hooks in the embedded build.
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Keep asset names stable-ish and the bundle small; no source maps in the embedded build.
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
