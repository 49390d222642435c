/**
 * Deletion on request. A deleted record keeps its place in the hash chain as a tombstone
 * (seq, id and hashes, no content) so the log still verifies, and the deletion is itself
 * recorded: a config_change record whose id every tombstone names in deleted_by. Everything
 * happens in one IMMEDIATE transaction.
 */
import { ulid } from 'ulid'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import type { Db } from '../store/db'
import { subtractCounts } from './activity-counts'
import { applyBatchInTransaction } from './append'
import { buildWhere, type WhereClause } from './filter-sql'

export const DELETED_IDS_LISTED = 100

export interface DeletionResult {
  deleted: number
  /** the record of the deletion (absent when nothing matched) */
  record?: ActivityRecord
  /** the chain head after the deletion (the deletion record's seq) */
  lastSeq?: number
}

/**
 * Deletes the records matching `where` (a condition over activity's columns), at most `limit` of
 * them (-1: all). Records of earlier deletions are never deleted: the tombstones name them.
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
    db.exec('CREATE TEMP TABLE IF NOT EXISTS doomed (rid INTEGER PRIMARY KEY)')
    db.exec('DELETE FROM temp.doomed')
    db.prepare(
      `INSERT INTO temp.doomed (rid) SELECT rid FROM activity
       WHERE (${where.sql}) AND id NOT IN (SELECT deleted_by FROM activity_tombstone) LIMIT ?`,
    ).run(...where.params, limit)
    const rids = db.prepare('SELECT rid FROM temp.doomed').pluck().all() as number[]
    if (rids.length === 0) return { deleted: 0 }
    const ids = db
      .prepare('SELECT a.id FROM temp.doomed d JOIN activity a ON a.rid = d.rid ORDER BY a.id LIMIT ?')
      .pluck()
      .all(DELETED_IDS_LISTED) as string[]
    const deletionId = ulid(now.getTime())
    db.prepare(
      `INSERT INTO activity_tombstone (seq, id, prev_hash, hash, deleted_by)
       SELECT a.seq, a.id, a.prev_hash, a.hash, ? FROM temp.doomed d JOIN activity a ON a.rid = d.rid WHERE a.seq IS NOT NULL`,
    ).run(deletionId)
    const delFts = db.prepare('DELETE FROM activity_fts WHERE rowid = ?')
    for (const rid of rids) delFts.run(rid)
    db.exec('DELETE FROM activity_body WHERE rid IN (SELECT rid FROM temp.doomed)')
    subtractCounts(db, 'rid IN (SELECT rid FROM temp.doomed)')
    db.exec('DELETE FROM activity WHERE rid IN (SELECT rid FROM temp.doomed)')
    db.exec('DELETE FROM temp.doomed')
    const record: ActivityRecord = {
      id: deletionId,
      type: 'config_change',
      timestamp: now.toISOString(),
      status: 'success',
      metadata: {
        action: 'activity_deleted',
        count: rids.length,
        ids,
        ...described,
        ...(actor ? { actor } : {}),
      },
    }
    const result = applyBatchInTransaction(db, [{ kind: 'insert', record }])
    return { deleted: rids.length, record: result.inserted[0], lastSeq: result.lastSeq }
  })
  return run.immediate()
}

/** Deletes one record by id; false when there is none (or it records an earlier deletion). */
export function deleteById(db: Db, id: string, actor?: string, now?: Date): DeletionResult {
  return deleteMatching(db, { sql: 'id = ?', params: [id] }, { filter: { id } }, actor, now)
}

/** Deletes every record matching the filter (the same filter list, count and export use). */
export function deleteWhere(db: Db, filter: ActivityFilter, actor?: string, now?: Date): DeletionResult {
  return deleteMatching(db, buildWhere(filter), { filter }, actor, now)
}
