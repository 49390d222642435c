/**
 * Deletion on request. A deleted record keeps its place in the hash chain as a tombstone
 * (seq, id and hashes, no content) so the log still verifies, and the deletion is itself
 * recorded: a config_change record whose id every tombstone names in deleted_by. A deletion by
 * filter runs in chunks of DELETE_CHUNK records, each its own IMMEDIATE transaction, so a large
 * one does not stop the core serving calls (50,000 records took 2 s in one transaction).
 */
import { ulid } from 'ulid'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import { CoreError } from '../errors'
import type { Db } from '../store/db'
import { subtractCounts } from './activity-counts'
import { applyBatch, applyBatchInTransaction } from './append'
import { buildWhere, type WhereClause } from './filter-sql'

export const DELETED_IDS_LISTED = 100

export interface DeletionResult {
  deleted: number
  /** the record of the deletion (absent when nothing matched) */
  record?: ActivityRecord
  /** the chain head after the deletion (the deletion record's seq) */
  lastSeq?: number
}

/** records one transaction of a deletion on request deletes (the core serves calls in between) */
export const DELETE_CHUNK = 2_000

interface Chunk {
  count: number
  /** the chunk's lowest ids, in id order (at most DELETED_IDS_LISTED) */
  ids: string[]
}

/** The rids a chunk deletes (values: the filter's, then maxRid, the deletion's id and the limit). */
export const doomedSql = (where: WhereClause): string => `
  SELECT rid FROM activity
  WHERE (${where.sql}) AND rid <= ? AND id <> ?
    AND NOT EXISTS (SELECT 1 FROM activity_tombstone t WHERE t.deleted_by = activity.id) LIMIT ?`

/**
 * Inside a transaction: deletes up to `limit` records matching `where` among those with rid up to
 * `maxRid` (records written after the deletion began are not its to delete), leaving tombstones
 * that name `deletionId`. Records of deletions (finished or in progress) are never deleted.
 */
function deleteChunk(db: Db, where: WhereClause, maxRid: number, deletionId: string, limit: number): Chunk {
  db.exec('CREATE TEMP TABLE IF NOT EXISTS doomed (rid INTEGER PRIMARY KEY)')
  db.exec('DELETE FROM temp.doomed')
  db.prepare(`INSERT INTO temp.doomed (rid) ${doomedSql(where)}`).run(...where.params, maxRid, deletionId, limit)
  const rids = db.prepare('SELECT rid FROM temp.doomed').pluck().all() as number[]
  if (rids.length === 0) return { count: 0, ids: [] }
  // CROSS JOIN: from the chunk's rids to their rows, never a scan of activity probing them
  const ids = db
    .prepare('SELECT a.id FROM temp.doomed d CROSS JOIN activity a ON a.rid = d.rid ORDER BY a.id LIMIT ?')
    .pluck()
    .all(DELETED_IDS_LISTED) as string[]
  db.prepare(
    `INSERT INTO activity_tombstone (seq, id, prev_hash, hash, deleted_by)
     SELECT a.seq, a.id, a.prev_hash, a.hash, ? FROM temp.doomed d CROSS JOIN activity a ON a.rid = d.rid WHERE a.seq IS NOT NULL`,
  ).run(deletionId)
  const delFts = db.prepare('DELETE FROM activity_fts WHERE rowid = ?')
  for (const rid of rids) delFts.run(rid)
  db.exec('DELETE FROM activity_body WHERE rid IN (SELECT rid FROM temp.doomed)')
  subtractCounts(db, 'rid IN (SELECT rid FROM temp.doomed)')
  db.exec('DELETE FROM activity WHERE rid IN (SELECT rid FROM temp.doomed)')
  db.exec('DELETE FROM temp.doomed')
  return { count: rids.length, ids }
}

const lowestIds = (a: string[], b: string[]): string[] => [...a, ...b].sort().slice(0, DELETED_IDS_LISTED)

function deletionRecord(id: string, now: Date, described: Record<string, unknown>, actor: string | undefined, done?: Chunk): ActivityRecord {
  return {
    id,
    type: 'config_change',
    timestamp: now.toISOString(),
    status: done ? 'success' : 'pending',
    metadata: {
      action: 'activity_deleted',
      ...(done ? { count: done.count, ids: done.ids } : {}),
      ...described,
      ...(actor ? { actor } : {}),
    },
  }
}

const maxRidOf = (db: Db): number => (db.prepare('SELECT coalesce(max(rid), 0) FROM activity').pluck().get() as number)

/**
 * Deletes the records matching `where` (a condition over activity's columns), at most `limit` of
 * them (-1: all), in one IMMEDIATE transaction. Records of earlier deletions are never deleted:
 * the tombstones name them.
 */
export function deleteMatching(
  db: Db,
  where: WhereClause,
  described: Record<string, unknown>,
  actor?: string,
  now = new Date(),
  limit = -1,
): DeletionResult {
  const run = db.transaction((): DeletionResult => {
    const deletionId = ulid(now.getTime())
    const done = deleteChunk(db, where, maxRidOf(db), deletionId, limit)
    if (done.count === 0) return { deleted: 0 }
    const result = applyBatchInTransaction(db, [{ kind: 'insert', record: deletionRecord(deletionId, now, described, actor, done) }])
    return { deleted: done.count, record: result.inserted[0], lastSeq: result.lastSeq }
  })
  return run.immediate()
}

export interface ChunkedDeletionOptions {
  now?: Date
  chunk?: number
  /** waits between chunks, so that the thread goes on serving (default: until the next turn of the event loop) */
  pause?: () => Promise<void>
  /** stops the deletion before its next chunk (the process is closing): its record says how far it got */
  signal?: AbortSignal
}

export const DELETION_STOPPED = 'mcpproxy stopped before the deletion finished'

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Deletes every record matching `where` that exists when it starts, `chunk` records per
 * IMMEDIATE transaction, pausing between them so that the calls this thread relays, and other
 * processes' writers, go on meanwhile. One chunk is enough for most deletions: then it is one
 * transaction, as deleteMatching. A longer one writes its record first, pending (tombstones name
 * it from the first chunk on), and completes it with the count and ids in the last chunk's
 * transaction; a process killed in between leaves it to the orphan sweep, which completes it as
 * interrupted with the count its tombstones show.
 */
export async function deleteMatchingInChunks(
  db: Db,
  where: WhereClause,
  described: Record<string, unknown>,
  actor?: string,
  options: ChunkedDeletionOptions = {},
): Promise<DeletionResult> {
  const now = options.now ?? new Date()
  const chunk = Math.max(1, options.chunk ?? DELETE_CHUNK)
  const pause = options.pause ?? nextTurn
  const deletionId = ulid(now.getTime())
  let maxRid = 0
  // what committed chunks deleted, and whether the pending record of the deletion is written
  let progress: Chunk = { count: 0, ids: [] }
  let recordWritten = false
  const step = db.transaction((): { progress: Chunk; result?: DeletionResult } => {
    if (!recordWritten) maxRid = maxRidOf(db)
    const c = deleteChunk(db, where, maxRid, deletionId, chunk)
    const next = { count: progress.count + c.count, ids: lowestIds(progress.ids, c.ids) }
    if (!recordWritten && next.count === 0) return { progress: next, result: { deleted: 0 } }
    if (c.count === chunk) {
      if (!recordWritten) applyBatchInTransaction(db, [{ kind: 'insert', record: deletionRecord(deletionId, now, described, actor) }])
      return { progress: next }
    }
    const r = applyBatchInTransaction(db, [
      recordWritten
        ? { kind: 'complete', id: deletionId, completion: { status: 'success', metadata: { count: next.count, ids: next.ids } } }
        : { kind: 'insert', record: deletionRecord(deletionId, now, described, actor, next) },
    ])
    return { progress: next, result: { deleted: next.count, record: r.inserted[0], lastSeq: r.lastSeq } }
  })
  for (;;) {
    let out: ReturnType<typeof step>
    try {
      if (options.signal?.aborted) throw new CoreError('INTERNAL', DELETION_STOPPED)
      out = step.immediate()
    } catch (err) {
      if (recordWritten) stopped(db, deletionId, progress, err as Error)
      throw err
    }
    progress = out.progress
    recordWritten = true
    if (out.result) return out.result
    await pause()
  }
}

/**
 * The chunked deletions a thread runs, so that closing stops them between two chunks (each
 * completing its record with how far it got) instead of closing the connection under them.
 */
export function createDeletionRuns(db: Db): {
  run(where: WhereClause, described: Record<string, unknown>, actor?: string): Promise<DeletionResult>
  stopAll(): Promise<void>
} {
  const running = new Map<Promise<DeletionResult>, AbortController>()
  return {
    run(where, described, actor) {
      const stop = new AbortController()
      const p = deleteMatchingInChunks(db, where, described, actor, { signal: stop.signal })
      running.set(p, stop)
      const forget = (): void => void running.delete(p)
      p.then(forget, forget)
      return p
    },
    async stopAll() {
      for (const stop of running.values()) stop.abort()
      await Promise.allSettled([...running.keys()])
    },
  }
}

/** A chunk failed (a full disk, a lock held too long): the record says how far the deletion got, if it can still be written. */
function stopped(db: Db, deletionId: string, progress: Chunk, err: Error): void {
  try {
    applyBatch(db, [
      {
        kind: 'complete',
        id: deletionId,
        completion: {
          status: 'error',
          error: `the deletion stopped after ${progress.count} records: ${err.message}`,
          metadata: { count: progress.count, ids: progress.ids },
        },
      },
    ])
  } catch {
    // the orphan sweep completes it later, with the count its tombstones show
  }
}

/** Deletes one record by id; false when there is none (or it records an earlier deletion). */
export function deleteById(db: Db, id: string, actor?: string, now?: Date): DeletionResult {
  return deleteMatching(db, { sql: 'id = ?', params: [id] }, { filter: { id } }, actor, now)
}

/** Deletes every record matching the filter (the same filter list, count and export use), in chunks (deleteMatchingInChunks). */
export function deleteWhere(db: Db, filter: ActivityFilter, actor?: string, options?: ChunkedDeletionOptions): Promise<DeletionResult> {
  return deleteMatchingInChunks(db, buildWhere(filter), { filter }, actor, options)
}
