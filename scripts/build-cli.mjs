// Bundles the plain-Node entry (the `mcpproxy` CLI, which also hosts `serve`) for Node 20.
// Packages stay external imports; only our own TypeScript is bundled. Code splitting keeps the
// core (fastify, the MCP SDK, OpenTelemetry) in chunks that only `serve`, `stdio` and `wrap`
// load, so the REST-only commands start about three times faster.
import { build } from 'esbuild'
import { chmodSync } from 'node:fs'

const outdir = 'out/cli'
await build({
  // each worker thread (the activity writer's, wrap's recording thread, import's parser, the heavy reads') needs a file of its own
  entryPoints: {
    mcpproxy: 'src/cli/main.ts',
    'activity-writer-worker': 'src/core/activity/writer-worker.ts',
    'wrap-worker': 'src/core/proxy/wrap-worker.ts',
    'activity-import-worker': 'src/core/activity/import-worker.ts',
    'activity-read-worker': 'src/core/activity/read-worker.ts',
  },
  outdir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
})
chmodSync(`${outdir}/mcpproxy.js`, 0o755)
