/** Entry of the `mcpproxy` command (bundled to out/cli/mcpproxy.js). */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli } from './program'

// resolved here, in the entry file: out/cli/ beside out/renderer/ and under the package root
const here = dirname(fileURLToPath(import.meta.url))

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '0.0.0'
  }
}

// `mcpproxy activity export | head`: the reader went away, which is not an error of ours. A
// command that handles its stdout's errors itself (wrap, stdio: the client went away) ends on its
// own, its records written, so this one leaves it to them.
const stdoutError = (err: NodeJS.ErrnoException): void => {
  if (process.stdout.listeners('error').some((l) => l !== stdoutError)) return
  if (err.code === 'EPIPE') process.exit(0)
  throw err
}
process.stdout.on('error', stdoutError)

const code = await runCli(process.argv, {
  version: packageVersion(),
  webUiDir: join(here, '..', 'renderer'),
  // built beside this entry by scripts/build-cli.mjs (chunks have another import.meta.url)
  workers: {
    writer: new URL('./activity-writer-worker.js', import.meta.url),
    wrap: new URL('./wrap-worker.js', import.meta.url),
    import: new URL('./activity-import-worker.js', import.meta.url),
    read: new URL('./activity-read-worker.js', import.meta.url),
  },
})
// long-running commands (serve, stdio, watch) keep the event loop alive and end the process themselves
process.exitCode = code
