import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'

export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          // the core's worker threads, each a file of its own beside the entry (src/main/core-workers.ts)
          'activity-writer-worker': resolve(__dirname, 'src/core/activity/writer-worker.ts'),
          'activity-import-worker': resolve(__dirname, 'src/core/activity/import-worker.ts'),
          'activity-read-worker': resolve(__dirname, 'src/core/activity/read-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        // a sandboxed preload must be a single CommonJS file
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    // relative asset URLs: the same build loads from file:// in Electron and from /ui/ in a browser
    base: './',
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
  },
})
