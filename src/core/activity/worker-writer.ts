/**
 * An ActivityWriter whose heavy work runs in a worker thread with its own connection: the calling
 * thread only assigns ids and queues plain records, then posts the queue once per commit window
 * (at most the last window is lost in a crash, and the pending records of the one before it). A
 * pending record completed before it is posted goes as one finalized record; a pending record
 * still open when its window ends waits for one more window (a call in flight across the window's
 * end is then still written once, not as an insert and a later update). If the worker dies,
 * writing falls back to this thread.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'
import type { ActivityCompletion, ActivityFilter, ActivityInput, ActivityRecord, WriterStatsInfo } from '../../shared/activity'
import type { DeletionResult } from './deletion'
import { CoreError } from '../errors'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import type { ActivitySettings } from './types'
import type { FromWorker, ToWorker, WriterOp, WriterWorkerData } from './writer-protocol'
import { admitRecord, createActivityWriter, createIdSource, mergeCompletion, OverflowPicker, WRITER_BATCH_SIZE, type ActivityWriter, type WriterHooks } from './writer'
import { workerScript } from '../worker-script'

/** set in the details of a deletion's error when the worker failed under it: the caller deletes on its own thread then */
export const WORKER_FAILED = 'worker_failed'

export interface WorkerWriterOptions {
  /** the built writer-worker.js (a worker needs JavaScript) */
  workerUrl: string | URL
  /** the database file the worker opens (the same one `db` is) */
  file: string
  nativeBinding?: string
  /** a synchronous writeNow() gives up waiting for the worker after this long (ms) */
  writeNowTimeoutMs?: number
  /** the worker runs the store's retention (WriterWorkerData.retention) */
  retention?: boolean
  /** told when writing falls back to this thread (the worker's retention ended with it) */
  onFallback?: () => void
}

export interface WorkerActivityWriter extends ActivityWriter {
  /** passes changed settings to the worker */
  updateSettings(settings: ActivitySettings): void
  /**
   * Whether the worker posts each committed batch back for hooks.onCommitted (off until asked:
   * cloning every record back costs this thread CPU that a `wrap` with no listeners never needs).
   */
  reportCommits(on: boolean): void
  /**
   * Runs a deletion by filter on the worker's connection, after the records queued before it;
   * undefined once writing fell back to this thread (the caller deletes here then). Rejects with
   * details[WORKER_FAILED] when the worker fails meanwhile: the caller deletes the rest here (a
   * record the worker had begun is completed as interrupted by the orphan sweep).
   */
  deleteWhereOffThread(filter: ActivityFilter, actor?: string): Promise<DeletionResult> | undefined
}

interface FlushWaiter {
  resolve: () => void
  reject: (err: Error) => void
}

/** Starts the writer worker; `db` (this thread's connection) is only used if the worker fails. */
export function createWorkerWriter(db: Db, initial: ActivitySettings, logger: Logger, hooks: WriterHooks, options: WorkerWriterOptions): WorkerActivityWriter {
  const settings = { ...initial }
  const newId = createIdSource()
  const signal = new SharedArrayBuffer(4)
  const signalView = new Int32Array(signal)
  // the worker answers on a port of its own, so writeNow() can take its reports synchronously
  const { port1: reports, port2 } = new MessageChannel()
  const data: WriterWorkerData = { file: options.file, settings: { ...settings }, nativeBinding: options.nativeBinding, signal, reportCommits: false, reports: port2, retention: options.retention ?? false }
  const worker = new Worker(workerScript(options.workerUrl), { workerData: data, transferList: [port2] })
  let queue: WriterOp[] = []
  // id -> the queued pending insert, so a completion within the window merges into it
  const pendingQueued = new Map<string, { record: ActivityRecord }>()
  // pending inserts kept back by one window already (never kept twice)
  const keptBack = new WeakSet<WriterOp>()
  let posted = 0
  // batches posted and not yet committed by the worker: replayed here if it dies (inserts are idempotent on id)
  const unacked = new Map<number, WriterOp[]>()
  /** ops in the unacked batches: with the queue, what the worker has not written yet */
  let inFlight = 0
  let acked = 0
  // records this thread dropped because the worker fell too far behind (settings.queueLimit)
  const dropped = { dropped: 0, dropped_by_type: {} as Partial<Record<ActivityRecord['type'], number>> }
  const overflow = new OverflowPicker<WriterOp>((o) => ('record' in o ? o.record.type : undefined), () => settings.queueLimit)
  let workerStats: WriterStatsInfo = { queued: 0, written: 0, batches: 0, dropped: 0, dropped_by_type: {} }
  let timer: NodeJS.Timeout | null = null
  let immediate: NodeJS.Immediate | null = null
  let flushN = 0
  const flushWaiters = new Map<number, FlushWaiter>()
  let deleteN = 0
  const deleteWaiters = new Map<number, { resolve: (r: DeletionResult) => void; reject: (err: Error) => void }>()
  /** the deletions waiting for the worker end with `err` (it failed, or was ended): their records are completed there or by the orphan sweep */
  const failDeletions = (err: Error): void => {
    for (const [n, w] of deleteWaiters) {
      deleteWaiters.delete(n)
      w.reject(err)
    }
  }
  const idle = (): boolean => acked === posted && !queue.length && !flushWaiters.size && !deleteWaiters.size
  let closeWaiter: ((lost?: Extract<FromWorker, { k: 'closed' }>['lost']) => void) | null = null
  let fallback: ActivityWriter | null = null
  let closed = false
  /** set when this thread ends the worker: its exit is no failure then */
  let terminating = false
  /** what close() ended with once the worker is ended: flush() answers with it at once (no error: all written) */
  let closeError: CoreError | undefined
  let refed = true

  const setRef = (on: boolean): void => {
    // once closing, the worker keeps the process alive until it answered the close (its last
    // stats report would otherwise unref it just before the answer, and an event loop with
    // nothing else to do ends the process mid-close)
    if (on === refed || fallback || (closed && !on)) return
    refed = on
    if (on) {
      worker.ref()
      reports.ref()
    } else {
      worker.unref()
      reports.unref()
    }
  }

  const send = (m: ToWorker): void => worker.postMessage(m)

  /** Posts the queue; unless `all`, a pending record not kept back before stays for the next window. */
  const post = (all = true): void => {
    if (timer) clearTimeout(timer)
    if (immediate) clearImmediate(immediate)
    timer = immediate = null
    if (!queue.length) return
    let ops = queue
    queue = []
    if (!all && !fallback) {
      const kept: WriterOp[] = []
      ops = ops.filter((op) => {
        if (!('record' in op) || op.record.status !== 'pending' || keptBack.has(op)) return true
        keptBack.add(op)
        kept.push(op)
        return false
      })
      queue = kept
      for (const op of ops) if ('record' in op) pendingQueued.delete(op.record.id)
    } else {
      pendingQueued.clear()
    }
    if (ops.length) {
      if (fallback) replay(fallback, ops)
      else {
        posted++
        unacked.set(posted, ops)
        inFlight += ops.length
        setRef(true)
        send({ k: 'ops', ops, n: posted })
      }
    }
    if (queue.length) schedule()
  }

  /**
   * Queues an insert. While the worker is more than settings.queueLimit ops behind (it yields
   * the CPU to relaying, see writer-worker.ts), the oldest droppable queued inserts make room,
   * counted as the in-thread writer counts its drops; audit-critical records are never dropped.
   */
  const enqueue = (record: ActivityRecord): void => {
    const op = { record }
    queue.push(op)
    overflow.queued(record.type)
    if (record.status === 'pending') pendingQueued.set(record.id, op)
    while (inFlight + queue.length > settings.queueLimit) {
      const i = overflow.victim(queue)
      if (i < 0) break
      const { record: gone } = queue.splice(i, 1)[0] as { record: ActivityRecord }
      pendingQueued.delete(gone.id)
      dropped.dropped++
      dropped.dropped_by_type[gone.type] = (dropped.dropped_by_type[gone.type] ?? 0) + 1
      overflow.dropped(gone)
    }
    schedule()
  }

  const postWindow = (): void => post(false)
  const schedule = (): void => {
    if (queue.length >= WRITER_BATCH_SIZE) {
      if (!immediate) immediate = setImmediate(postWindow)
    } else if (!timer && !immediate) {
      timer = setTimeout(postWindow, settings.commitWindowMs)
    }
  }

  const replay = (w: ActivityWriter, ops: WriterOp[]): void => {
    for (const op of ops) {
      if ('record' in op) w.recordAdmitted(op.record)
      else w.complete(op.id, op.completion)
    }
  }

  const failOver = (err: Error): void => {
    if (fallback) return
    logger.error('activity writer worker failed; writing on this thread', { error: err.message, replayed_batches: unacked.size })
    fallback = createActivityWriter(db, settings, logger, hooks)
    failDeletions(new CoreError('DB_ERROR', `the activity writer worker failed during the deletion (${err.message})`, { [WORKER_FAILED]: true }))
    for (const ops of unacked.values()) replay(fallback, ops)
    unacked.clear()
    inFlight = 0
    post() // what waits for the window goes first too, keeping the order of records and completions
    for (const [n, w] of flushWaiters) {
      flushWaiters.delete(n)
      fallback.flush().then(w.resolve, w.reject)
    }
    closeWaiter?.()
    options.onFallback?.()
  }

  const onReport = (m: FromWorker): void => {
    switch (m.k) {
      case 'committed':
        try {
          hooks.onCommitted?.(m.result)
        } catch (err) {
          logger.error('activity onCommitted hook failed', { error: (err as Error).message })
        }
        break
      case 'stats':
        workerStats = m.stats
        for (let n = acked + 1; n <= m.acked; n++) {
          inFlight -= unacked.get(n)?.length ?? 0
          unacked.delete(n)
        }
        acked = m.acked
        if (idle() && !m.stats.queued) setRef(false)
        break
      case 'flushed': {
        const w = flushWaiters.get(m.n)
        flushWaiters.delete(m.n)
        if (m.error === undefined) w?.resolve()
        else w?.reject(new Error(m.error))
        if (idle()) setRef(false)
        break
      }
      case 'deleted': {
        const w = deleteWaiters.get(m.n)
        deleteWaiters.delete(m.n)
        if (m.result) w?.resolve(m.result)
        else w?.reject(new CoreError(m.error?.code ?? 'DB_ERROR', m.error?.message ?? 'the deletion failed'))
        if (idle()) setRef(false)
        break
      }
      case 'log':
        logger[m.level](m.msg, m.fields)
        break
      case 'closed':
        closeWaiter?.(m.lost)
        break
    }
  }
  reports.on('message', onReport)
  worker.on('error', failOver)
  worker.on('exit', (code) => {
    if (!terminating) failOver(new Error(`the writer worker exited with code ${code}`))
  })

  return {
    recordAdmitted(record: ActivityRecord): void {
      if (fallback) return fallback.recordAdmitted(record)
      if (closed) {
        logger.warn('activity record after close; ignored', { id: record.id, type: record.type })
        return
      }
      enqueue(record)
    },

    record(input: ActivityInput): string {
      if (fallback) return fallback.record(input)
      const { id, record } = admitRecord(input, newId, logger, closed)
      if (record) enqueue(record)
      return id
    },

    complete(id: string, completion: ActivityCompletion): void {
      if (fallback) return fallback.complete(id, completion)
      if (closed) {
        logger.warn('activity completion after close; ignored', { id })
        return
      }
      if (overflow.completionDropped(id)) return
      const queued = pendingQueued.get(id)
      if (queued) {
        pendingQueued.delete(id)
        mergeCompletion(queued.record, completion)
        return
      }
      queue.push({ id, completion })
      schedule()
    },

    flush(): Promise<void> {
      if (fallback) return fallback.flush()
      // the worker is (being) ended: nothing more will be written
      if (terminating) return closeError ? Promise.reject(closeError) : Promise.resolve()
      post()
      if (acked === posted && !workerStats.queued) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const n = ++flushN
        flushWaiters.set(n, { resolve, reject })
        setRef(true)
        send({ k: 'flush', n })
      })
    },

    writeNow(): void {
      if (fallback) return fallback.writeNow()
      post()
      const before = Atomics.load(signalView, 0)
      send({ k: 'writeNow' })
      if (Atomics.wait(signalView, 0, before, options.writeNowTimeoutMs ?? 30_000) === 'timed-out') {
        logger.warn('the activity writer worker did not finish writing in time')
      }
      // what it committed is reported before returning, as the in-thread writer does
      for (let m = receiveMessageOnPort(reports); m; m = receiveMessageOnPort(reports)) onReport(m.message as FromWorker)
    },

    stats(): WriterStatsInfo {
      if (fallback) return fallback.stats()
      const byType = { ...workerStats.dropped_by_type }
      for (const [type, n] of Object.entries(dropped.dropped_by_type) as Array<[ActivityRecord['type'], number]>) byType[type] = (byType[type] ?? 0) + n
      return { ...workerStats, queued: workerStats.queued + queue.length, dropped: workerStats.dropped + dropped.dropped, dropped_by_type: byType }
    },

    reportCommits(on: boolean): void {
      if (!fallback) send({ k: 'reportCommits', on })
    },

    deleteWhereOffThread(filter: ActivityFilter, actor?: string): Promise<DeletionResult> | undefined {
      if (fallback) return undefined
      if (closed) return Promise.reject(new CoreError('INTERNAL', 'the activity store is closing'))
      post()
      return new Promise((resolve, reject) => {
        const n = ++deleteN
        deleteWaiters.set(n, { resolve, reject })
        setRef(true)
        send({ k: 'deleteWhere', n, filter, actor })
      })
    },

    updateSettings(next: ActivitySettings): void {
      Object.assign(settings, next)
      if (!fallback) send({ k: 'settings', settings: { ...next } })
    },

    /**
     * Posts what is queued and closes the worker's writer, which retries a refused batch as the
     * in-thread writer does; rejects with its lostRecordsError when records were given up. Then
     * ends the worker: a flush waiting for it, or asked after, is settled as the close was.
     */
    async close(): Promise<void> {
      if (closed) return
      if (!fallback) post()
      closed = true
      let lost: Extract<FromWorker, { k: 'closed' }>['lost']
      if (!fallback) {
        lost = await new Promise((resolve) => {
          closeWaiter = resolve
          setRef(true)
          send({ k: 'close' })
        })
        if (lost) closeError = new CoreError(lost.code, lost.message, { lost: lost.count })
        terminating = true
        reports.close()
        failDeletions(new CoreError('INTERNAL', 'the activity store closed before the deletion finished'))
        // no answer comes now: a flush still waiting ends as the close did (the worker's writer
        // wrote everything, or gave up what is left); after a failover the fallback has them
        for (const [n, w] of flushWaiters) {
          flushWaiters.delete(n)
          if (closeError) w.reject(closeError)
          else w.resolve()
        }
        await worker.terminate()
      }
      // the worker failed (before or while closing): its unconfirmed batches were replayed here
      if (fallback) return fallback.close()
      if (closeError) throw closeError
    },
  }
}
