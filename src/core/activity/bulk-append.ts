/**
 * appendRecords for bulk import: the same chain (applyBatchInTransaction seals every record
 * exactly as appendRecords does), but activity_count is maintained once per batch instead of by
 * the per-row insert trigger, which halved insert speed (measured: 7,200 vs 12,000-16,500
 * records per CPU second). Inside its own IMMEDIATE transaction the batch drops the trigger,
 * inserts, adds the counts of its rows with one grouped INSERT, and creates the trigger again
 * from its stored SQL before COMMIT. DDL is transactional in SQLite: no other connection ever
 * sees the trigger missing (they cannot write while we hold the lock, and they read the old
 * schema until we commit), and a crash or an error rolls the drop back with the rows.
 */
import type Database from 'better-sqlite3'
import type { ActivityRecord } from '../../shared/activity'
import type { Db } from '../store/db'
import { applyBatchInTransaction } from './append'

type Stmt = Database.Statement<unknown[], unknown>

interface BulkStatements {
  maxRid: Stmt
  triggerSql: Stmt
  recount: Stmt
  run: (records: ActivityRecord[], skipExisting: boolean) => { inserted: ActivityRecord[]; skipped: number; lastSeq: number }
}

const cache = new WeakMap<Db, BulkStatements>()

const TRIGGER = 'activity_count_insert'

/** The counts the insert trigger would have added, for every row with rid > @before. */
const RECOUNT_SQL = `
  INSERT INTO activity_count (field, value, n)
  SELECT f, v, count(*) FROM (
    SELECT '*' AS f, '' AS v FROM activity WHERE rid > @before
    UNION ALL SELECT 'type', type FROM activity WHERE rid > @before
    UNION ALL SELECT 'status', status FROM activity WHERE rid > @before
    UNION ALL SELECT 'server_name', server_name FROM activity WHERE rid > @before
    UNION ALL SELECT 'tool_name', tool_name FROM activity WHERE rid > @before
    UNION ALL SELECT 'session_id', session_id FROM activity WHERE rid > @before
    UNION ALL SELECT 'intent_type', intent_type FROM activity WHERE rid > @before
    UNION ALL SELECT 'sensitive', '1' FROM activity WHERE rid > @before AND sensitive = 1
  ) WHERE v IS NOT NULL GROUP BY f, v
  ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n`

function statements(db: Db): BulkStatements {
  let s = cache.get(db)
  if (s) return s
  const st = {
    maxRid: db.prepare('SELECT coalesce(max(rid), 0) FROM activity').pluck(),
    triggerSql: db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = '${TRIGGER}'`).pluck(),
    recount: db.prepare(RECOUNT_SQL),
  }
  const tx = db.transaction((records: ActivityRecord[], skipExisting: boolean) => {
    // New rows get rid = max(rid) + 1 onwards (rid is a plain INTEGER PRIMARY KEY and we hold
    // the write lock), so "rid > before" is exactly this batch.
    const before = st.maxRid.get() as number
    const trigger = st.triggerSql.get() as string | undefined
    if (trigger) db.exec(`DROP TRIGGER ${TRIGGER}`)
    const r = applyBatchInTransaction(
      db,
      records.map((record) => ({ kind: 'insert', record })),
      { skipExisting },
    )
    if (trigger) {
      st.recount.run({ before })
      db.exec(trigger)
    }
    return { inserted: r.inserted, skipped: r.skipped, lastSeq: r.lastSeq }
  })
  s = { ...st, run: (records, skipExisting) => tx.immediate(records, skipExisting) }
  cache.set(db, s)
  return s
}

/** appendRecords (same result, same chain) with activity_count updated once for the batch. */
export function appendRecordsBulk(
  db: Db,
  records: ActivityRecord[],
  options: { skipExisting?: boolean } = {},
): { inserted: ActivityRecord[]; skipped: number; lastSeq: number } {
  return statements(db).run(records, options.skipExisting ?? false)
}
