// `npm start`: builds when needed, then runs the Electron app where an Electron binary exists,
// else the headless core (`mcpproxy serve`) with the default data dir and config.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { electronBinary } from './electron-binary.mjs'

if (!existsSync('out/cli/mcpproxy.js') || !existsSync('out/renderer/index.html') || process.env.MCPPROXY_REBUILD) {
  const r = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
const args = process.argv.slice(2)
const bin = electronBinary()
const child = bin
  ? spawn(bin, ['.', ...args], { stdio: 'inherit' })
  : (console.error('No Electron binary here: starting the headless core and web UI (mcpproxy serve).'),
    spawn(process.execPath, ['out/cli/mcpproxy.js', 'serve', ...args], { stdio: 'inherit' }))
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
