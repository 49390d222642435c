/**
 * The activity writer: `record()` hands back an id at once and queues; a group commit writes
 * the queue in one transaction within the commit window. Redaction and truncation happen here
 * (disk-form.ts), off the call path and before anything reaches disk. Audit-critical records are never dropped,
 * and a failing write keeps its batch queued and retries.
 */
import { randomFillSync } from 'node:crypto'
import { monotonicFactory, ulid } from 'ulid'
import { ACTIVITY_TYPES, type ActivityCompletion, type ActivityInput, type ActivityRecord, type ActivityType, type WriterStatsInfo } from '../../shared/activity'
import { CoreError, isCoreError, isDiskFull } from '../errors'
import type { Logger } from '../logger'
import { withRiskScore } from '../security/risk'
import type { Db } from '../store/db'
import { applyBatch, type BatchCompletion, type BatchOp, type BatchResult } from './append'
import { toDiskForm, type RedactFn } from './disk-form'
import type { ActivityRecorder, ActivitySettings } from './types'

/**
 * Picks the queued record an overflow drops: the oldest relayed message, so that a burst of a
 * server's notifications does not push out the tool calls made before it; else the oldest record
 * that may be dropped. It counts the relayed messages queued (at least: those written since are
 * noticed by the next scan that finds none), so that while there are none a pick stops at the
 * first droppable entry, as cheap as before relayed messages existed. It also remembers the
 * pending records it dropped (the latest `limit()` of them), whose completions go with them.
 */
export class OverflowPicker<T> {
  private messages = 0
  private readonly droppedPending = new Set<string>()

  /**
   * `typeOf` gives an entry's record type (undefined: not a record, e.g. a completion); `limit`
   * is the queue limit (how many dropped pending ids are kept)
   */
  constructor(
    private readonly typeOf: (e: T) => ActivityType | undefined,
    private readonly limit: () => number,
  ) {}

  /** tells of a record dropped: a pending one's completion is dropped too when it comes */
  dropped(record: Pick<ActivityRecord, 'id' | 'status'>): void {
    if (record.status !== 'pending') return
    this.droppedPending.add(record.id)
    if (this.droppedPending.size > this.limit()) this.droppedPending.delete(this.droppedPending.values().next().value!)
  }

  /** whether a completion is of a record dropped while pending (asked once: then forgotten) */
  completionDropped(id: string): boolean {
    return this.droppedPending.delete(id)
  }

  /** tells of a record queued */
  queued(type: ActivityType): void {
    if (type === 'mcp_message') this.messages++
  }

  /** the index of the entry to drop, -1 when none may be */
  victim(queue: readonly T[]): number {
    let first = -1
    for (let i = 0; i < queue.length; i++) {
      const type = this.typeOf(queue[i]!)
      if (type === undefined || NEVER_DROPPED.has(type)) continue
      if (type === 'mcp_message') {
        this.messages--
        return i
      }
      if (first < 0) {
        first = i
        if (this.messages <= 0) return i
      }
    }
    this.messages = 0
    return first
  }
}

/** Never dropped on queue overflow: the audit trail of what was allowed, blocked or changed. */
export const NEVER_DROPPED: ReadonlySet<ActivityType> = new Set<ActivityType>([
  'policy_decision',
  'quarantine_change',
  'tool_change',
  'server_change',
  // a recording process's start and stop (a core's, a wrap session's with what it dropped)
  'system_start',
  'system_stop',
])

export const WRITER_BATCH_SIZE = 512
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 5_000
/**
 * How long close() keeps retrying what the database refuses (a full disk) before it gives the
 * records up: space freed meanwhile still saves them, and a stop is held up a few seconds at most.
 */
export const CLOSE_RETRY_MS = 3_000
const CLOSE_RETRY_INTERVAL_MS = 200

/** What close() gave up: how many records, and the write error that kept them out. */
export interface LostRecords {
  count: number
  code: string
  message: string
}

/** The error close() ends with when records were lost (DISK_FULL when the disk was full). */
export function lostRecordsError(lost: LostRecords): CoreError {
  const n = lost.count
  return new CoreError(
    isDiskFull(lost) ? 'DISK_FULL' : 'DB_ERROR',
    `${n} activity record${n === 1 ? '' : 's'} could not be written before closing and ${n === 1 ? 'is' : 'are'} lost (${lost.code}: ${lost.message})`,
    { lost: n },
  )
}

export interface WriterHooks {
  /** after each committed batch (inside the writer's timer, never on the caller's path) */
  onCommitted?: (result: BatchResult) => void
  /** defaults to the security module's redactRecordFields */
  redact?: RedactFn
}

export interface ActivityWriter extends ActivityRecorder {
  /**
   * Queues a record another writer already admitted (its id and timestamp set, its type checked):
   * the writer worker takes the main thread's records this way, without admitting them twice.
   */
  recordAdmitted(record: ActivityRecord): void
  /** Writes what is queued now, synchronously (before a delete, so queued records are seen); a failure keeps the queue. */
  writeNow(): void
  /** flushes, then ignores further records */
  close(): Promise<void>
}

interface Entry {
  n: number
  op: BatchOp
  /** set once redaction and truncation ran (a retried batch is not prepared twice) */
  prepared?: BatchOp
}

interface FlushWaiter {
  upTo: number
  resolve: () => void
  reject: (err: Error) => void
}

// ulid's default PRNG asks the OS for one byte per character; one pooled fill serves 4096 of them
const randomPool = Buffer.alloc(4096)
let randomPos = randomPool.length
function pooledRandom(): number {
  if (randomPos >= randomPool.length) {
    randomFillSync(randomPool)
    randomPos = 0
  }
  return randomPool[randomPos++]! / 256
}

/**
 * Errors caused by the record itself (a value SQLite or JSON cannot take, a duplicate id): only
 * that record is given up. Anything else (disk full, locks, I/O, a closed connection) is the
 * database's state, and the batch waits for it to pass.
 */
function isRecordFault(err: unknown): boolean {
  if (isCoreError(err)) return err.code === 'INVALID_PARAMETER' || err.code === 'CONFLICT'
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code)
  return err instanceof TypeError || err instanceof RangeError
}

let isoSecond = NaN
let isoPrefix = ''

/**
 * `new Date(time).toISOString()`, for integer milliseconds: the text up to the second is kept
 * from the last call, so times within one second (most records of a busy second) cost a string
 * concatenation instead of a date formatting.
 */
export function isoTime(time: number): string {
  if (!Number.isInteger(time)) return new Date(time).toISOString()
  const second = Math.floor(time / 1000)
  if (second !== isoSecond) {
    const text = new Date(second * 1000).toISOString()
    isoSecond = second
    isoPrefix = text.slice(0, -4)
  }
  const ms = time - second * 1000
  return isoPrefix + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z'
}

/**
 * Merges a completion into a queued pending record (the writer's own copy, changed in place:
 * copying a whole record with overlapping keys is the slow kind of object spread).
 */
export function mergeCompletion(record: ActivityRecord, completion: ActivityCompletion): void {
  const metadata = completion.metadata && record.metadata ? { ...record.metadata, ...completion.metadata } : undefined
  Object.assign(record, completion)
  if (metadata) record.metadata = metadata
}

/** Ids for records: ULIDs whose time part is the record's time, monotonic within one source. */
export function createIdSource(): (time: number) => string {
  const nextId = monotonicFactory(pooledRandom)
  let lastIdTime = 0
  return (time) => {
    // the monotonic factory reuses the last time for an earlier seed; the id's time must be the record's
    if (time < lastIdTime) return ulid(time, pooledRandom)
    lastIdTime = time
    return nextId(time)
  }
}

/**
 * What `record()` does before queueing: the id (given or new) and the record to queue, or no
 * record when it must be dropped (unknown type: logged here).
 */
export function admitRecord(input: ActivityInput, newId: (time: number) => string, logger: Logger, closed = false): { id: string; record?: ActivityRecord } {
  let time = input.timestamp === undefined ? Date.now() : Date.parse(input.timestamp)
  if (Number.isNaN(time)) {
    logger.warn('activity record with an invalid timestamp; using now', { timestamp: input.timestamp })
    time = Date.now()
  }
  const id = input.id ?? newId(time)
  if (closed) {
    logger.warn('activity record after close; ignored', { id, type: input.type })
    return { id }
  }
  if (!ACTIVITY_TYPES.includes(input.type)) {
    logger.error('activity record with an unknown type; dropped', { id, type: input.type })
    return { id }
  }
  // id and timestamp first, then the input: spreading an object and then replacing its keys is
  // the slow kind of object spread (several times slower here)
  const timestamp = isoTime(time)
  const record = { id, timestamp, ...input } as ActivityRecord
  record.timestamp = timestamp
  return { id, record }
}

export function createActivityWriter(db: Db, settings: ActivitySettings, logger: Logger, hooks: WriterHooks = {}): ActivityWriter {
  const newId = createIdSource()
  let queue: Entry[] = []
  let counter = 0
  const pendingQueued = new Map<string, Entry>()
  const overflow = new OverflowPicker<Entry>((e) => (e.op.kind === 'insert' ? e.op.record.type : undefined), () => settings.queueLimit)
  const waiters: FlushWaiter[] = []
  const stats = { written: 0, batches: 0, dropped: 0, dropped_by_type: {} as Partial<Record<ActivityType, number>> }
  let lastError: string | undefined
  let failures = 0
  let commitTimer: NodeJS.Timeout | null = null
  let immediate: NodeJS.Immediate | null = null
  let retryTimer: NodeJS.Timeout | null = null
  let closed = false

  const countDrop = (type: ActivityType): void => {
    stats.dropped++
    stats.dropped_by_type[type] = (stats.dropped_by_type[type] ?? 0) + 1
  }

  const schedule = (now: boolean): void => {
    if (closed && !now) return
    if (retryTimer) return
    if (now || queue.length >= WRITER_BATCH_SIZE) {
      if (!immediate) immediate = setImmediate(drain)
    } else if (!commitTimer) {
      commitTimer = setTimeout(drain, settings.commitWindowMs)
    }
  }

  const enforceLimit = (): void => {
    while (queue.length > settings.queueLimit) {
      const i = overflow.victim(queue)
      if (i < 0) return
      const [e] = queue.splice(i, 1)
      if (e!.op.kind === 'insert') {
        pendingQueued.delete(e!.op.record.id)
        countDrop(e!.op.record.type)
        overflow.dropped(e!.op.record)
      }
    }
  }

  const settleWaiters = (): void => {
    const oldest = queue.length ? queue[0]!.n : Infinity
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.upTo < oldest) waiters.splice(i, 1)[0]!.resolve()
    }
  }

  // final records are scored here, outside the write transaction; a pending one when it completes (append.ts)
  const scored = (r: ActivityRecord): ActivityRecord => (r.status === 'pending' ? r : withRiskScore(r))

  // made once: prepareRecord runs for every record
  const diskHooks = { redact: hooks.redact, onRedactionFailed: (id: string, err: Error) => logger.error('activity redaction failed; bodies dropped', { id, error: err.message }) }
  const prepareRecord = (r: ActivityRecord): ActivityRecord => toDiskForm(r, settings, diskHooks)

  const prepareCompletion = (id: string, c: BatchCompletion): BatchCompletion => {
    // redact the completion's texts as a stand-in record and keep what the scan found
    const probe: ActivityRecord = { id, type: 'tool_call', timestamp: new Date(0).toISOString(), ...c }
    const done = prepareRecord(probe)
    const { response: _r, error: _e, ...rest } = c
    const out: BatchCompletion = rest
    if (done.response !== undefined) out.response = done.response
    if (done.error !== undefined) out.error = done.error
    if (done.response_truncated) out.response_truncated = true
    if (done.response_bytes !== undefined) out.response_bytes = done.response_bytes
    if (done.response_tokens !== undefined) out.response_tokens = done.response_tokens
    if (done.detection_types?.length) out.detection_types = done.detection_types
    if (done.pii_detected?.length) out.pii_detected = done.pii_detected
    if (done.flags) out.flags = done.flags
    return out
  }

  const prepare = (e: Entry): BatchOp => {
    if (!e.prepared) {
      e.prepared =
        e.op.kind === 'insert'
          ? { kind: 'insert', record: scored(prepareRecord(e.op.record)) }
          : { kind: 'complete', id: e.op.id, completion: prepareCompletion(e.op.id, e.op.completion) }
    }
    return e.prepared
  }

  const committed = (result: BatchResult, entries: Entry[]): void => {
    for (const e of entries) if (e.op.kind === 'insert') pendingQueued.delete(e.op.record.id)
    stats.written += result.inserted.length
    stats.batches++
    if (result.missing.length) logger.warn('completions for records that are not pending', { ids: result.missing.slice(0, 20) })
    if (result.skipped) logger.warn('records with an id already stored were skipped', { count: result.skipped })
    try {
      hooks.onCommitted?.(result)
    } catch (err) {
      logger.error('activity onCommitted hook failed', { error: (err as Error).message })
    }
  }

  /** A batch the database refuses for its content: write record by record, giving up only on the bad ones. */
  const isolate = (entries: Entry[]): void => {
    for (const e of entries) {
      try {
        committed(applyBatch(db, [prepare(e)], { skipExisting: true }), [e])
      } catch (err) {
        if (!isRecordFault(err) || !db.open) throw err
        const type = e.op.kind === 'insert' ? e.op.record.type : 'tool_call'
        logger.error('activity record rejected by the database; dropped', {
          id: e.op.kind === 'insert' ? e.op.record.id : e.op.id,
          error: (err as Error).message,
        })
        if (e.op.kind === 'insert') pendingQueued.delete(e.op.record.id)
        countDrop(type)
      }
      queue.splice(queue.indexOf(e), 1)
    }
  }

  function drain(): void {
    if (commitTimer) clearTimeout(commitTimer)
    commitTimer = null
    immediate = null
    retryTimer = null
    try {
      while (queue.length) {
        const entries = queue.slice(0, WRITER_BATCH_SIZE)
        try {
          const result = applyBatch(db, entries.map(prepare), { skipExisting: true })
          queue = queue.slice(entries.length)
          committed(result, entries)
        } catch (err) {
          if (!isRecordFault(err) || !db.open) throw err
          isolate(entries)
        }
        settleWaiters()
      }
      failures = 0
      lastError = undefined
    } catch (err) {
      failures++
      lastError = `${(err as { code?: string }).code ?? 'ERROR'}: ${(err as Error).message}`
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1))
      logger.error('activity write failed; batch kept, retrying', { error: lastError, queued: queue.length, retry_ms: delay })
      for (const w of waiters.splice(0)) w.reject(err as Error)
      retryTimer = setTimeout(drain, delay)
      retryTimer.unref()
    }
    settleWaiters()
  }

  const enqueue = (op: BatchOp): Entry => {
    const e: Entry = { n: ++counter, op }
    queue.push(e)
    if (op.kind === 'insert') overflow.queued(op.record.type)
    enforceLimit()
    schedule(false)
    return e
  }

  const queueRecord = (record: ActivityRecord): void => {
    const e = enqueue({ kind: 'insert', record })
    // enforceLimit only removes, so the entry is still queued exactly when it is last
    if (record.status === 'pending' && queue[queue.length - 1] === e) pendingQueued.set(record.id, e)
  }

  let closing: Promise<void> | null = null
  let closeError: Error | null = null
  const writer: ActivityWriter = {
    record(input: ActivityInput): string {
      const { id, record } = admitRecord(input, newId, logger, closed)
      if (record) queueRecord(record)
      return id
    },

    recordAdmitted(record: ActivityRecord): void {
      if (closed) {
        logger.warn('activity record after close; ignored', { id: record.id, type: record.type })
        return
      }
      queueRecord(record)
    },

    complete(id: string, completion: ActivityCompletion): void {
      if (closed) {
        logger.warn('activity completion after close; ignored', { id })
        return
      }
      if (overflow.completionDropped(id)) return
      const queued = pendingQueued.get(id)
      if (queued && queued.op.kind === 'insert') {
        // still in the queue: one finalized insert instead of an insert and an update
        pendingQueued.delete(id)
        mergeCompletion(queued.op.record, completion)
        queued.prepared = undefined
        return
      }
      enqueue({ kind: 'complete', id, completion })
    },

    flush(): Promise<void> {
      // after a close that gave records up, nothing more is written: the same answer at once
      if (closeError) return Promise.reject(closeError)
      if (!queue.length) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        waiters.push({ upTo: counter, resolve, reject })
        if (retryTimer) {
          clearTimeout(retryTimer)
          retryTimer = null
        }
        schedule(true)
      })
    },

    writeNow(): void {
      if (!queue.length || retryTimer) return
      drain()
    },

    stats(): WriterStatsInfo {
      return {
        queued: queue.length,
        written: stats.written,
        batches: stats.batches,
        dropped: stats.dropped,
        dropped_by_type: { ...stats.dropped_by_type },
        ...(lastError ? { last_error: lastError } : {}),
      }
    },

    /** Writes what is queued, retrying a refused batch for CLOSE_RETRY_MS; rejects with lostRecordsError if records are left. */
    close(): Promise<void> {
      closing ??= closeNow()
      return closing
    },
  }

  async function closeNow(): Promise<void> {
    // records and completions that arrive from now on are refused (and logged), not queued
    closed = true
    const deadline = Date.now() + CLOSE_RETRY_MS
    let failure: unknown
    for (;;) {
      let failed = false
      try {
        await writer.flush()
        failure = undefined
      } catch (err) {
        failure = err
        failed = true
      }
      if (!queue.length || !db.open || Date.now() >= deadline) break
      // a timer that holds the process: a stop must not end before the records are written or counted
      if (failed) await new Promise((resolve) => setTimeout(resolve, Math.min(CLOSE_RETRY_INTERVAL_MS, deadline - Date.now())))
    }
    if (commitTimer) clearTimeout(commitTimer)
    if (immediate) clearImmediate(immediate)
    if (retryTimer) clearTimeout(retryTimer)
    commitTimer = immediate = retryTimer = null
    if (!queue.length) return
    const { code, message } = (failure ?? {}) as { code?: unknown; message?: unknown }
    const err = lostRecordsError({ count: queue.length, code: typeof code === 'string' ? code : 'ERROR', message: String(message ?? lastError) })
    logger.error(err.message, { lost: queue.length, error: lastError })
    closeError = err
    throw err
  }
  return writer
}
