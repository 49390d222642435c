// Runs the BUILT `mcpproxy` command (out/cli/mcpproxy.js) as a child process, as users do.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, rmdirSync, statSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
export const ROOT = join(dirname(new URL(import.meta.url).pathname), '..')
export const CLI = join(ROOT, 'out/cli/mcpproxy.js')
export const EVERYTHING = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js')

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

/** Builds the CLI once for all test files (a lock keeps two files from rewriting it under each other). */
export async function buildCli(): Promise<void> {
  // set when the build already ran (e.g. `npm run build` before the tests)
  if (process.env.MCPPROXY_CLI_PREBUILT && existsSync(CLI)) return
  const lock = join(tmpdir(), `mcpproxy-cli-build-${Buffer.from(ROOT).toString('hex').slice(-16)}.lock`)
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (i > 1200) throw new Error(`cannot take the build lock ${lock}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    const sources = Math.max(...['src/cli', 'src/core', 'src/shared'].map((d) => newestMtime(join(ROOT, d))))
    if (!existsSync(CLI) || statSync(CLI).mtimeMs < sources) execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT, stdio: 'inherit' })
  } finally {
    rmdirSync(lock)
  }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', NO_COLOR: '1' }
  delete env.MCPPROXY_DATA_DIR
  delete env.MCPPROXY_API_KEY
  delete env.FORCE_COLOR
  return env
}

/** Runs `mcpproxy ARGS` to completion. */
export function run(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: options.env ?? baseEnv(), cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin?.end(options.input)
    else child.stdin?.end()
  })
}

/** Starts a long-running `mcpproxy ARGS` and collects its output. */
export function start(args: string[], env: NodeJS.ProcessEnv = baseEnv()): { child: ChildProcess; out: () => string; err: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const waitFor = (re: RegExp, ms = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const started = Date.now()
      const tick = (): void => {
        const m = re.exec(out)
        if (m) return resolve(m[0])
        if (child.exitCode !== null) return reject(new Error(`mcpproxy ${args.join(' ')} exited ${child.exitCode}: ${err}`))
        if (Date.now() - started > ms) return reject(new Error(`no ${re} in output of mcpproxy ${args.join(' ')} after ${ms} ms; stdout: ${out}; stderr: ${err}`))
        setTimeout(tick, 50)
      }
      tick()
    })
  return { child, out: () => out, err: () => err, waitFor }
}

export function exited(child: ChildProcess): Promise<number | null> {
  // a child ended by a signal has no exit code, and its exit event has passed
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}
