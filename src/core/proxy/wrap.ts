/**
 * `mcpproxy wrap -- CMD ARGS...`: a transparent stdio proxy for one MCP server. Bytes pass
 * unchanged both ways; copies go to the recording half (wrap-tap.ts), on a recording thread of
 * its own when one is given (the built CLI), so that this thread only relays.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { basename } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { ClientInfo } from '../../shared/activity'
import type { ActivityRecorder, ActivitySettings } from '../activity/types'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import { processExe } from './peer-process'
import { createSessionRegistry } from './sessions'
import type { FromWrapWorker, ToWrapWorker, WrapWorkerData } from './wrap-protocol'
import { createWrapTap, now, type WrapTapConfig } from './wrap-tap'
import { workerScript } from '../worker-script'

/** Recording on the relay's thread. */
export interface InThreadRecording {
  recorder: ActivityRecorder
  /** persists the session (`session` table) when given */
  db?: Db
  /** mask PII in the persisted session's client details too (the records' redact_pii) */
  redactPii?: boolean
}

/** Recording on a thread of its own (wrap-worker.ts, built as JavaScript). */
export interface WorkerRecording {
  workerUrl: string | URL
  /** the activity database */
  file: string
  settings: ActivitySettings
  nativeBinding?: string
  /** recording on this thread if the worker cannot start or fails (opened only then) */
  fallback: () => InThreadRecording
}

export interface WrapOptions {
  command: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
  sensitiveTools: string[]
  writeTools: string[]
  recording: InThreadRecording | WorkerRecording
  logger: Logger
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  /** the child's stderr goes here (default: this process's stderr) */
  stderr?: NodeJS.WritableStream
  /** the server name on records (default: the name the server gives in initialize) */
  serverName?: string
  /** a call unanswered this long is recorded as timeout (the relay itself never cuts it off) */
  callTimeoutMs?: number
  /** record tool calls only, not the other messages */
  toolCallsOnly?: boolean
  /**
   * SIGINT, SIGTERM and SIGHUP sent to this process go to the server instead of ending this one:
   * it exits, its unanswered calls fail in the log, the records reach the disk, then this process
   * exits with the server's code. A second signal kills the server (the CLI sets this).
   */
  forwardSignals?: boolean
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** How long a server may take to exit once its client went away, before SIGTERM (and as long again before SIGKILL). */
export const CLIENT_GONE_GRACE_MS = 2_000

/**
 * How long copies gather before they go to the recording thread: one message (and one wake-up
 * of that thread) per interval instead of two per call. The thread's commit window is shortened
 * by as much, so a record still reaches the disk within the configured window.
 */
export const WRAP_POST_INTERVAL_MS = 10

/** Where the relay hands its copies; `end` resolves once the records are on disk. */
interface TapSink {
  bytes(fromClient: boolean, chunk: Buffer, at: number): void
  exe(exe: string): void
  end(code: number, at: number): Promise<void>
}

function inThreadSink(recording: InThreadRecording, tap: WrapTapConfig, logger: Logger): TapSink {
  const sessions = recording.db ? createSessionRegistry({ db: recording.db, logger, redactPii: () => recording.redactPii ?? false }) : undefined
  const session = sessions?.open('wrap', tap.client, tap.sessionId)
  const t = createWrapTap({ ...tap, recorder: recording.recorder, logger, session })
  // parsed after the bytes went on, batched per turn of the event loop
  const queue: Array<{ fromClient: boolean; chunk: Buffer; at: number }> = []
  let scheduled = false
  const drain = (): void => {
    scheduled = false
    for (const q of queue.splice(0)) (q.fromClient ? t.fromClient : t.fromServer)(q.chunk, q.at)
  }
  return {
    bytes(fromClient, chunk, at) {
      queue.push({ fromClient, chunk, at })
      if (!scheduled) {
        scheduled = true
        setImmediate(drain)
      }
    },
    exe: (exe) => t.setClientExe(exe),
    async end(code, at) {
      drain()
      t.end(code, at)
      session?.end()
      sessions?.close()
      await recording.recorder.flush()
    },
  }
}

/**
 * The recording thread's side: copies gather for WRAP_POST_INTERVAL_MS into one transferred
 * buffer. If the thread fails, recording goes on on this thread (the calls in flight
 * at that moment stay pending in the log).
 */
function workerSink(recording: WorkerRecording, tap: WrapTapConfig, logger: Logger): TapSink {
  const settings = { ...recording.settings, commitWindowMs: Math.max(1, recording.settings.commitWindowMs - WRAP_POST_INTERVAL_MS) }
  const data: WrapWorkerData = { ...tap, file: recording.file, settings, nativeBinding: recording.nativeBinding }
  let fallback: TapSink | null = null
  let done: (() => void) | null = null
  let finished = false
  let chunks: Array<{ fromClient: boolean; chunk: Buffer; at: number }> = []
  let timer: NodeJS.Timeout | null = null
  let worker: Worker | null = null
  const fail = (err: Error): void => {
    if (fallback || finished) return
    logger.error("the wrap's recording thread failed; recording on this thread from now on", { error: err.message })
    void worker?.terminate()
    try {
      // the session goes on here; its start record on this thread says so
      fallback = inThreadSink(recording.fallback(), { ...tap, continued: true }, logger)
    } catch (again) {
      // the relay goes on: the agent's session matters more than its log, which says so
      logger.error('cannot record on this thread either; relaying without recording', { error: (again as Error).message })
      fallback = { bytes: () => undefined, exe: () => undefined, end: async () => undefined }
    }
    for (const c of chunks) fallback.bytes(c.fromClient, c.chunk, c.at)
    chunks = []
    done?.()
  }
  try {
    worker = new Worker(workerScript(recording.workerUrl), { workerData: data })
    worker.on('message', (m: FromWrapWorker) => {
      if (m.k === 'log') logger[m.level](m.msg, m.fields)
      else {
        finished = true
        if (m.stats.dropped) logger.warn('records dropped while the log fell behind', { dropped: m.stats.dropped, by_type: m.stats.dropped_by_type })
        done?.()
      }
    })
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the recording thread exited with code ${code}`)))
  } catch (err) {
    fail(err as Error)
  }
  const send = (m: ToWrapWorker, transfer?: ArrayBuffer[]): void => worker!.postMessage(m, transfer)
  const flush = (): void => {
    if (timer) clearTimeout(timer)
    timer = null
    if (fallback || !chunks.length) return
    let total = 0
    for (const c of chunks) total += c.chunk.length
    // a buffer of its own (not a slice of a pool), so that transferring it moves only these bytes
    const all = Buffer.allocUnsafeSlow(total)
    const parts: number[] = []
    let offset = 0
    for (const c of chunks) {
      c.chunk.copy(all, offset)
      offset += c.chunk.length
      parts.push(c.fromClient ? 1 : 0, c.at, c.chunk.length)
    }
    chunks = []
    send({ k: 'bytes', data: all.buffer as ArrayBuffer, parts }, [all.buffer as ArrayBuffer])
  }
  return {
    bytes(fromClient, chunk, at) {
      if (fallback) return fallback.bytes(fromClient, chunk, at)
      chunks.push({ fromClient, chunk, at })
      timer ??= setTimeout(flush, WRAP_POST_INTERVAL_MS)
    },
    exe(exe) {
      if (fallback) fallback.exe(exe)
      else send({ k: 'exe', exe })
    },
    async end(code, at) {
      flush()
      if (!fallback) {
        await new Promise<void>((resolve) => {
          done = resolve
          send({ k: 'end', code, at })
        })
        worker?.removeAllListeners('exit')
        await worker?.terminate()
      }
      if (fallback) await (fallback as TapSink).end(code, at)
    },
  }
}

/** Relays until the server exits; resolves with its exit code once the records are on disk. Client EOF closes the server's stdin. */
export async function runWrap(options: WrapOptions): Promise<number> {
  const { logger } = options
  const tap = {
    sessionId: randomUUID(),
    client: { pid: process.ppid } as ClientInfo,
    serverName: options.serverName,
    defaultServerName: basename(options.command),
    command: [options.command, ...options.args],
    sensitiveTools: options.sensitiveTools,
    writeTools: options.writeTools,
    callTimeoutMs: options.callTimeoutMs,
    toolCallsOnly: options.toolCallsOnly,
  }
  const sink = 'workerUrl' in options.recording ? workerSink(options.recording, tap, logger) : inThreadSink(options.recording, tap, logger)
  void processExe(process.ppid).then((exe) => exe && sink.exe(exe))

  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stderr.pipe((options.stderr ?? process.stderr) as NodeJS.WritableStream, { end: false })
  // relay first: the same buffers go on, the recording half gets them after
  options.stdin.pipe(child.stdin)
  child.stdout.pipe(options.stdout as NodeJS.WritableStream, { end: false })
  child.stdin.on('error', (err) => logger.debug('child stdin closed', { error: err.message }))
  const fromClient = (chunk: Buffer): void => sink.bytes(true, chunk, now())
  options.stdin.on('data', fromClient)
  child.stdout.on('data', (chunk: Buffer) => sink.bytes(false, chunk, now()))

  // the client stopped reading (EPIPE on our stdout): nothing more can reach it, so the server is
  // ended as at the client's EOF (then SIGTERM, then SIGKILL if it lingers); what it still writes
  // is recorded, and wrap exits with its code once the records are on disk
  let ending: NodeJS.Timeout[] = []
  const clientGone = (err: NodeJS.ErrnoException): void => {
    if (ending.length) return
    logger.info('the client stopped reading: ending the server', { error: err.code ?? err.message })
    child.stdout.unpipe(options.stdout as NodeJS.WritableStream)
    options.stdin.unpipe(child.stdin)
    options.stdin.off('data', fromClient)
    child.stdin.end()
    ending = [setTimeout(() => child.kill('SIGTERM'), CLIENT_GONE_GRACE_MS), setTimeout(() => child.kill('SIGKILL'), 2 * CLIENT_GONE_GRACE_MS)]
  }
  options.stdout.on('error', clientGone)

  let signalled = 0
  const forward = (signal: NodeJS.Signals): void => {
    signalled++
    logger.info(signalled === 1 ? 'signal: passed to the server' : 'signal again: killing the server', { signal })
    child.kill(signalled === 1 ? signal : 'SIGKILL')
  }
  const forwarded = options.forwardSignals ? (['SIGINT', 'SIGTERM', 'SIGHUP'] as const) : []
  for (const s of forwarded) process.on(s, forward)
  const code = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      logger.error('cannot start the wrapped server', { command: options.command, error: err.message })
      resolve(127)
    })
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + (SIGNALS[signal] ?? 1) : 1)))
  })
  for (const t of ending) clearTimeout(t)
  options.stdout.off('error', clientGone)
  options.stdin.unpipe(child.stdin)
  await sink.end(code, now())
  for (const s of forwarded) process.off(s, forward)
  return code
}
