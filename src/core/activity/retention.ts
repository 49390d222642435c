/**
 * Retention: prunes the oldest records by age, count and database size. Pruning removes a prefix
 * of the hash chain (in seq order) and writes a chained checkpoint, in chunks so that other
 * processes' writers are never locked out for long. Records past the age limit that sit after
 * the chain's start (import appends old records at its end) are deleted as a deletion on request
 * deletes them: tombstones keep their place in the chain, and a record names the deletion.
 * Freed pages go back to the file system with incremental_vacuum (the database is created with
 * auto_vacuum=INCREMENTAL): a full VACUUM would rewrite the whole file under the write lock.
 */
import { statSync } from 'node:fs'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import { subtractCounts } from './activity-counts'
import { checkpointHash } from './chain'
import { deleteMatching } from './deletion'
import { idBounds } from './filter-sql'
import type { ActivitySettings } from './types'

export type PruneReason = 'age' | 'count' | 'size'

export interface PruneOptions {
  now?: Date
  /** records deleted per transaction */
  chunk?: number
  logger?: Logger
}

export interface PruneResult {
  pruned: number
  reason?: string
}

const DAY_MS = 86_400_000
const MB = 1024 * 1024
const DEFAULT_CHUNK = 5_000
/** size pruning aims below the limit so that it does not run again at the next record */
const SIZE_TARGET = 0.9
const VACUUM_STEP_PAGES = 2_048

function fileBytes(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/** Bytes the database occupies on disk: the main file plus its WAL. */
export function dbFileBytes(db: Db): number {
  return fileBytes(db.name) + fileBytes(db.name + '-wal')
}

/**
 * Deletes up to `limit` records from the start of the chain (all of them older than
 * `olderThan` when given) and records a checkpoint; one IMMEDIATE transaction.
 */
export function pruneChainPrefix(db: Db, limit: number, reason: PruneReason, olderThan?: number, now = new Date()): number {
  const run = db.transaction((): number => {
    const rows = db
      .prepare('SELECT rid, seq, ts, hash FROM activity WHERE seq IS NOT NULL ORDER BY seq LIMIT ?')
      .all(limit) as Array<{ rid: number; seq: number; ts: number; hash: string }>
    let n = rows.length
    if (olderThan !== undefined) {
      n = rows.findIndex((r) => r.ts >= olderThan)
      if (n < 0) n = rows.length
    }
    if (n === 0) return 0
    const last = rows[n - 1]!
    const delBody = db.prepare('DELETE FROM activity_body WHERE rid = ?')
    const delFts = db.prepare('DELETE FROM activity_fts WHERE rowid = ?')
    for (let i = 0; i < n; i++) {
      delBody.run(rows[i]!.rid)
      delFts.run(rows[i]!.rid)
    }
    subtractCounts(db, 'seq IS NOT NULL AND seq <= ?', last.seq)
    db.prepare('DELETE FROM activity WHERE seq IS NOT NULL AND seq <= ?').run(last.seq)
    db.prepare('DELETE FROM activity_tombstone WHERE seq <= ?').run(last.seq)
    const prior = db.prepare('SELECT hash FROM chain_checkpoint ORDER BY id DESC LIMIT 1').get() as { hash: string } | undefined
    const fields = { created_at: now.toISOString(), first_seq: last.seq + 1, prev_hash: last.hash, pruned: n, reason }
    const priorHash = prior?.hash ?? null
    db.prepare(
      'INSERT INTO chain_checkpoint (created_at, first_seq, prev_hash, pruned, reason, prior_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(fields.created_at, fields.first_seq, fields.prev_hash, fields.pruned, fields.reason, priorHash, checkpointHash(priorHash, fields))
    return n
  })
  return run.immediate()
}

/**
 * Deletes up to `limit` finalized records older than `olderThan` that the chain's prefix could not
 * take (newer records come before them), leaving tombstones and the record of the deletion; one
 * IMMEDIATE transaction.
 */
export function pruneAgedAfterStart(db: Db, limit: number, olderThan: number, now = new Date()): number {
  const where = { sql: 'seq IS NOT NULL AND id < ? AND ts < ?', params: [idBounds(olderThan).low, olderThan] }
  return deleteMatching(db, where, { reason: 'age', older_than: new Date(olderThan).toISOString() }, 'retention', now, limit).deleted
}

/** Pending records never completed (their process died) leave once they are older than retention. */
function pruneStalePending(db: Db, olderThan: number): number {
  const run = db.transaction((): number => {
    const rids = db.prepare('SELECT rid FROM activity WHERE seq IS NULL AND ts < ?').pluck().all(olderThan) as number[]
    if (rids.length === 0) return 0
    subtractCounts(db, 'seq IS NULL AND ts < ?', olderThan)
    const delBody = db.prepare('DELETE FROM activity_body WHERE rid = ?')
    const delFts = db.prepare('DELETE FROM activity_fts WHERE rowid = ?')
    const delRow = db.prepare('DELETE FROM activity WHERE rid = ?')
    for (const rid of rids) {
      delBody.run(rid)
      delFts.run(rid)
      delRow.run(rid)
    }
    return rids.length
  })
  return run.immediate()
}

/** Returns free pages to the file system and empties the WAL; yields after each step. */
function* reclaimSpace(db: Db, logger?: Logger): Generator<void, void> {
  db.pragma('wal_checkpoint(TRUNCATE)')
  const free = db.pragma('freelist_count', { simple: true }) as number
  if (free === 0) return
  if ((db.pragma('auto_vacuum', { simple: true }) as number) === 2) {
    // small steps: each is its own write transaction, so other writers get the lock in between
    let left = free
    while (left > 0) {
      db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`)
      yield
      const now = db.pragma('freelist_count', { simple: true }) as number
      if (now >= left) break
      left = now
    }
  } else {
    const pages = db.pragma('page_count', { simple: true }) as number
    // a database made before auto_vacuum was set: rewrite it only when most of it is free
    if (free / pages < 0.5) return
    logger?.info('vacuuming the activity database', { free_pages: free, pages })
    db.exec('VACUUM')
  }
  db.pragma('wal_checkpoint(TRUNCATE)')
}

function usedBytes(db: Db): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const pages = db.pragma('page_count', { simple: true }) as number
  const free = db.pragma('freelist_count', { simple: true }) as number
  return (pages - free) * pageSize
}

const countFinalized = (db: Db): number =>
  (db.prepare('SELECT count(*) AS n FROM activity WHERE seq IS NOT NULL').get() as { n: number }).n

/**
 * Retention by age, count and size, oldest records first, as steps: it yields after each chunk's
 * transaction and each vacuum step (pruneActivity runs them back to back, pruneActivityInTurns
 * gives the event loop a turn in between).
 */
function* pruneSteps(db: Db, settings: ActivitySettings, options: PruneOptions): Generator<number, PruneResult> {
  const now = options.now ?? new Date()
  const chunk = options.chunk ?? DEFAULT_CHUNK
  const reasons: PruneReason[] = []
  let pruned = 0
  function* inChunks(limit: number, reason: PruneReason, step: (n: number) => number): Generator<number, void> {
    let left = limit
    while (left > 0) {
      const n = step(Math.min(chunk, left))
      if (n === 0) break
      if (!reasons.includes(reason)) reasons.push(reason)
      pruned += n
      left -= n
      yield pruned
    }
  }
  const prefix = (limit: number, reason: PruneReason, olderThan?: number): Generator<number, void> =>
    inChunks(limit, reason, (n) => pruneChainPrefix(db, n, reason, olderThan, now))

  const cutoff = now.getTime() - settings.retentionDays * DAY_MS
  // a limit reaching back before 1970 (the config allows 36,500 days) keeps every record: ids cannot encode such a time
  if (settings.retentionDays > 0 && cutoff > 0) {
    yield* prefix(Infinity, 'age', cutoff)
    yield* inChunks(Infinity, 'age', (n) => pruneAgedAfterStart(db, n, cutoff, now))
    const stale = pruneStalePending(db, cutoff)
    if (stale && !reasons.includes('age')) reasons.push('age')
    pruned += stale
  }
  if (settings.maxRecords > 0) {
    const excess = countFinalized(db) - settings.maxRecords
    if (excess > 0) yield* prefix(excess, 'count')
  }
  if (pruned > 0) for (const _ of reclaimSpace(db, options.logger)) yield pruned
  if (settings.maxDbMb > 0) {
    const limit = settings.maxDbMb * MB
    for (let round = 0; round < 3 && dbFileBytes(db) > limit; round++) {
      const records = countFinalized(db)
      const used = usedBytes(db)
      if (records === 0 || used === 0) break
      const excess = Math.ceil(records * (1 - (limit * SIZE_TARGET) / used))
      if (excess > 0) yield* prefix(excess, 'size')
      for (const _ of reclaimSpace(db, options.logger)) yield pruned
    }
  }
  if (pruned > 0) options.logger?.info('activity retention pruned records', { pruned, reasons })
  return reasons.length ? { pruned, reason: reasons.join(',') } : { pruned }
}

/** Applies retention by age, count and size, oldest records first, in one go. */
export function pruneActivity(db: Db, settings: ActivitySettings, options: PruneOptions = {}): PruneResult {
  const steps = pruneSteps(db, settings, options)
  for (;;) {
    const step = steps.next()
    if (step.done) return step.value
  }
}

/**
 * Records per transaction when retention runs on a thread that also serves calls (a core's
 * scheduled run): each chunk holds the thread for tens of milliseconds, not the ~300 ms of
 * DEFAULT_CHUNK (measured on 200k records: pruning 90k of them took 5.6 s).
 */
export const IN_TURNS_CHUNK = 1_000

/**
 * pruneActivity with a turn of the event loop after each step, so a thread that also serves MCP
 * calls and REST holds them one chunk at most; `cancelled` is asked before each step (the store
 * is closing): it ends the run, which says how many records it pruned before (reason `cancelled`).
 */
export async function pruneActivityInTurns(db: Db, settings: ActivitySettings, options: PruneOptions & { cancelled?: () => boolean } = {}): Promise<PruneResult> {
  const steps = pruneSteps(db, settings, { chunk: IN_TURNS_CHUNK, ...options })
  let pruned = 0
  for (;;) {
    if (options.cancelled?.()) return { pruned, reason: 'cancelled' }
    const step = steps.next()
    if (step.done) return step.value
    pruned = step.value
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

/**
 * Runs retention every interval (and once shortly after start); errors are logged, never thrown.
 * A run still going when the next is due is not started twice; `run` is told when to stop
 * (after stop()).
 */
export function scheduleRetention(
  run: (cancelled: () => boolean) => PruneResult | Promise<PruneResult>,
  intervalMin: number,
  logger: Logger,
  firstRunMs = 5_000,
): { stop(): void } {
  let stopped = false
  let running = false
  const failed = (err: unknown): void =>
    logger.error('activity retention failed', { error: (err as Error).message, code: (err as { code?: string }).code })
  const tick = (): void => {
    if (running || stopped) return
    running = true
    // a throw and a rejection end the same way
    void (async () => run(() => stopped))()
      .catch(failed)
      .finally(() => (running = false))
  }
  const first = setTimeout(tick, firstRunMs)
  first.unref()
  const every = intervalMin > 0 ? setInterval(tick, intervalMin * 60_000) : null
  every?.unref()
  return {
    stop(): void {
      stopped = true
      clearTimeout(first)
      if (every) clearInterval(every)
    },
  }
}

/**
 * The store's retention on a connection: pruning in turns on `settings.cleanupIntervalMin`
 * (`settings` is read live, as the store updates it in place), restarted with the new interval
 * when it changes. What the store runs on its own thread and the writer worker on its connection.
 */
export function createRetentionRunner(db: Db, settings: ActivitySettings, logger: Logger): { start(): void; intervalChanged(previousMin: number): void; stop(): void } {
  let schedule: { stop(): void } | null = null
  const begin = (firstRunMs?: number): { stop(): void } =>
    scheduleRetention((cancelled) => pruneActivityInTurns(db, settings, { logger, cancelled }), settings.cleanupIntervalMin, logger, firstRunMs)
  return {
    start() {
      schedule ??= begin()
    },
    intervalChanged(previousMin) {
      if (!schedule || settings.cleanupIntervalMin === previousMin) return
      schedule.stop()
      // the next run one new interval from now
      schedule = begin(settings.cleanupIntervalMin * 60_000)
    },
    stop() {
      schedule?.stop()
      schedule = null
    },
  }
}
