/**
 * The heavy reads (summary, metrics, verify) of a store: on the read worker when one is given
 * (read-worker.ts), otherwise on this thread's connection. At a million records verify takes
 * seconds and a 30-day summary or metrics about a second; on the core's event loop that would
 * stall every MCP call and REST request for as long. If the worker fails, the reads waiting for it
 * and every later one run here instead (logged once).
 */
import { Worker } from 'node:worker_threads'
import { CoreError, type CoreErrorCode } from '../errors'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import { runHeavyRead, type ActivityHeavyReads, type HeavyRead, type ReadReply, type ReadRequest, type ReadWorkerData } from './read-protocol'
import type { ActivityQueries } from './types'
import { workerScript } from '../worker-script'

export interface HeavyReadsOptions {
  /** the built read worker (out/cli/activity-read-worker.js); without it the reads run on this thread */
  workerUrl?: string | URL
  /** the database file `db` is (the worker opens it read-only) */
  file: string
  nativeBinding?: string
  logger: Logger
}

export interface HeavyReadsHandle extends ActivityHeavyReads {
  /** Ends the worker; reads still waiting for it are refused. */
  close(): Promise<void>
}

interface Waiting {
  op: HeavyRead
  args: unknown[]
  resolve: (value: unknown) => void
  reject: (err: Error) => void
}

export function createHeavyReads(db: Db, queries: Pick<ActivityQueries, 'summary' | 'metrics'>, options: HeavyReadsOptions): HeavyReadsHandle {
  const here = (op: HeavyRead, args: unknown[]): Promise<unknown> => new Promise((resolve) => resolve(runHeavyRead(db, queries, op, args)))

  let worker: Worker | null = null
  let failed = false
  let closed = false
  let posted = 0
  const waiting = new Map<number, Waiting>()

  const fail = (err: Error): void => {
    if (failed || closed) return
    failed = true
    options.logger.warn('the activity read worker failed; summaries, metrics and verify run on the core thread', { error: err.message })
    const w = worker
    worker = null
    void w?.terminate().catch(() => undefined)
    for (const { op, args, resolve, reject } of waiting.values()) here(op, args).then(resolve, reject)
    waiting.clear()
  }

  const start = (): Worker => {
    const url = options.workerUrl!
    const data: ReadWorkerData = { file: options.file, nativeBinding: options.nativeBinding }
    const w = new Worker(workerScript(url), { workerData: data })
    w.on('message', (m: ReadReply) => {
      if (m.n === 0) return options.logger.info('activity read worker started')
      const entry = waiting.get(m.n)
      if (!entry) return
      waiting.delete(m.n)
      if (!waiting.size) w.unref()
      if (m.ok) entry.resolve(m.value)
      // an error that was no CoreError stays one here (REST answers it as an internal error)
      else entry.reject(m.code ? new CoreError(m.code as CoreErrorCode, m.message) : new Error(m.message))
    })
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`the read worker exited with code ${code}`)))
    return w
  }

  const run = (op: HeavyRead, args: unknown[]): Promise<unknown> => {
    if (closed) return Promise.reject(new CoreError('INTERNAL', 'the activity store is closed'))
    if (!options.workerUrl || failed) return here(op, args)
    try {
      worker ??= start()
    } catch (err) {
      fail(err as Error)
      return here(op, args)
    }
    const n = ++posted
    const request: ReadRequest = { n, op, args }
    const done = new Promise<unknown>((resolve, reject) => waiting.set(n, { op, args, resolve, reject }))
    // the worker keeps the process alive only while a read waits for it
    worker.ref()
    worker.postMessage(request)
    return done
  }

  return {
    summary: (period, now) => run('summary', [period, now]) as ReturnType<ActivityHeavyReads['summary']>,
    metrics: (days, server, now) => run('metrics', [days, server, now]) as ReturnType<ActivityHeavyReads['metrics']>,
    verify: () => run('verify', []) as ReturnType<ActivityHeavyReads['verify']>,
    async close() {
      if (closed) return
      closed = true
      for (const w of waiting.values()) w.reject(new CoreError('INTERNAL', 'the activity store closed before the read finished'))
      waiting.clear()
      const w = worker
      worker = null
      if (w) {
        w.removeAllListeners('exit')
        await w.terminate()
      }
    },
  }
}
