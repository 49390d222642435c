// Runs a TypeScript entry (a benchmark or a fixture) under plain Node 20: bundles our own code
// with esbuild into .tmp/ (packages stay external) and imports the result with the given args.
import { build } from 'esbuild'
import { mkdirSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args...]')
  process.exit(2)
}
mkdirSync('.tmp/run-ts', { recursive: true })
const outfile = resolve('.tmp/run-ts', basename(entry).replace(/\.ts$/, '') + '.mjs')
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
})
process.argv = [process.argv[0], outfile, ...args]
await import(pathToFileURL(outfile).href)
