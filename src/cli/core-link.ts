/**
 * How `mcpproxy stdio` reaches the data dir's core: a stdio session over the data dir's socket,
 * and when no core runs, a shared core started for it (`serve --idle-exit`), which every later
 * `mcpproxy stdio` of the data dir shares and which exits once its last client has gone. The app
 * or a `serve` started later takes over from it (createCore), and the bridges reconnect.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import type { Logger } from '../core/logger'
import { CORE_STOPPING, openCoreStdio } from '../core/proxy/stdio-bridge'
import type { CliContext } from './context'
import { pidAlive } from './runtime-file'

/** a shared core exits this long after its last MCP client went away */
export const SHARED_CORE_IDLE_EXIT_S = 30
/** how long to wait for a shared core just started to be ready */
const START_WAIT_MS = 20_000
/** after a core went away, how long bridges wait for another (the app or a `serve` taking over) before starting one */
const START_AFTER_LOSS_MS = 5_000
const POLL_MS = 100
/** the shared core's stderr, read back when it fails to start */
export const SHARED_CORE_STDERR = 'shared-core.stderr.log'

/** The bridged client: the process that started this `mcpproxy stdio`. */
function bridgedClient(): { pid: number; exe?: string } {
  try {
    return { pid: process.ppid, exe: readlinkSync(`/proc/${process.ppid}/exe`) }
  } catch {
    return { pid: process.ppid }
  }
}

/** how long a session waits for a core that is stopping (it drains its bridges for up to 10 s, then closes) */
const STOPPING_WAIT_MS = 15_000
/** a core stopping refuses new sessions, or its connections end as it closes */
const GOING_AWAY = new Set([CORE_STOPPING, 'ECONNRESET', 'EPIPE'])

/**
 * A stdio session on the core running for the data dir, or null when none answers on its socket.
 * A core that is stopping (its idle exit, a takeover) is waited for: the session is then the next
 * core's, or null once the socket is gone. `onStopping` is told each time a stopping core refused.
 */
export async function openSession(ctx: CliContext, onStopping?: () => void): Promise<Duplex | null> {
  if (process.platform === 'win32') return null
  const deadline = Date.now() + STOPPING_WAIT_MS
  for (;;) {
    try {
      return await openCoreStdio(ctx.paths.socket, bridgedClient())
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? ''
      if (code === 'ENOENT' || code === 'ECONNREFUSED') return null
      if (!GOING_AWAY.has(code) || Date.now() >= deadline) throw err
      onStopping?.()
      await sleep(POLL_MS)
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** held by the one `mcpproxy stdio` starting the shared core (its pid); the others wait for that core */
export const START_LOCK = 'shared-core.lock'

/** Takes the data dir's start lock; false while another live process holds a fresh one (a stale lock is taken over). */
function takeStartLock(file: string): boolean {
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 })
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let text: string
    try {
      text = readFileSync(file, 'utf8')
      if (lockHeld(text, statSync(file).mtimeMs)) return false
    } catch {
      // released meanwhile: try again
      continue
    }
    // stale (its holder died): removed unless another process took it over just now
    try {
      if (readFileSync(file, 'utf8') === text) rmSync(file, { force: true })
    } catch {
      // removed meanwhile
    }
  }
  return false
}

/** Whether a start lock holding `text` (a pid) and written at mtimeMs still counts. */
function lockHeld(text: string, mtimeMs: number): boolean {
  return pidAlive(Number(text)) && Date.now() - mtimeMs < START_WAIT_MS + 5_000
}

/** Whether the start lock file is there and its holder alive. */
function startLockHeld(file: string): boolean {
  try {
    return lockHeld(readFileSync(file, 'utf8'), statSync(file).mtimeMs)
  } catch {
    return false
  }
}

/** A session on the data dir's core as soon as one takes it (a starting core holds it until its upstreams are up). */
async function sessionWithin(ctx: CliContext, ms: number, stop: () => boolean): Promise<Duplex | null> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const s = await openSession(ctx).catch(() => null)
    if (s) return s
    if (stop()) return null
    await sleep(POLL_MS)
  }
  return null
}

/**
 * Starts a shared core for the data dir (detached: it outlives this process while other clients
 * use it) and opens a session on it. One `mcpproxy stdio` starts it (the start lock); others
 * starting at the same moment wait for that core. Rejects with the reason when none came up.
 */
export async function startSharedCore(ctx: CliContext, logger: Logger): Promise<Duplex> {
  const script = process.argv[1]
  if (!script) throw new Error('cannot tell which mcpproxy to start (no script path)')
  mkdirSync(ctx.paths.logs, { recursive: true, mode: 0o700 })
  const lock = join(ctx.dataDir, START_LOCK)
  const stderrFile = join(ctx.paths.logs, SHARED_CORE_STDERR)
  // another mcpproxy stdio is starting it: its core is waited for; when that one gave up or died
  // (the lock released or its holder gone), this one tries in turn
  const deadline = Date.now() + START_WAIT_MS
  while (!takeStartLock(lock)) {
    const s = await sessionWithin(ctx, deadline - Date.now(), () => !startLockHeld(lock))
    if (s) return s
    if (Date.now() >= deadline) throw new Error(`the shared core another mcpproxy stdio started did not come up (see ${stderrFile})`)
  }
  try {
    const err = openSync(stderrFile, 'w', 0o600)
    const child = spawn(process.execPath, [script, '--data-dir', ctx.dataDir, 'serve', '--idle-exit', String(SHARED_CORE_IDLE_EXIT_S)], {
      detached: true,
      stdio: ['ignore', 'ignore', err],
      env: process.env,
    })
    closeSync(err)
    let exited: number | null = null
    child.once('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)))
    child.once('error', () => (exited = 127))
    child.unref()
    logger.info('started a shared core for this data dir', { pid: child.pid })
    // (a core the app or a `serve` started at the same moment serves as well: ours then exits)
    const s = await sessionWithin(ctx, START_WAIT_MS, () => exited !== null)
    if (s) return s
    if (exited === null) child.kill('SIGTERM')
    let reason = ''
    try {
      reason = readFileSync(stderrFile, 'utf8').trim().split('\n').slice(-3).join(' ')
    } catch {
      // no stderr file
    }
    throw new Error(exited === null ? `the shared core did not come up within ${START_WAIT_MS / 1000} s` : `the shared core exited with code ${exited}${reason ? `: ${reason}` : ''}`)
  } finally {
    rmSync(lock, { force: true })
  }
}

/**
 * A bridge's way back to a core after its core went away: the core on the socket when there is
 * one (the app or a `serve` taking over bring theirs up within moments); after START_AFTER_LOSS_MS
 * without any, a shared core started again.
 */
export function reconnector(ctx: CliContext, logger: Logger): (attempt: number) => Promise<Duplex> {
  let since = Date.now()
  return async (attempt) => {
    if (attempt === 1) since = Date.now()
    // (the wait for another core counts from when the stopping one has gone)
    const s = await openSession(ctx, () => (since = Date.now()))
    if (s) return s
    if (Date.now() - since < START_AFTER_LOSS_MS) throw new Error('no core answers on the socket yet')
    return startSharedCore(ctx, logger)
  }
}
