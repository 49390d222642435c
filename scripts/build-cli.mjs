// Bundles the plain-Node entry (the `mcpproxy` CLI, which also hosts `serve`) for Node 20.
// Packages stay external imports; only our own TypeScript is bundled.
import { build } from 'esbuild'
import { chmodSync } from 'node:fs'

const outfile = 'out/cli/mcpproxy.js'
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
})
chmodSync(outfile, 0o755)
