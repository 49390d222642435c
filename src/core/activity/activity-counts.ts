/**
 * activity_count (record counts per filterable value, '*' = all records) is kept by code, not by
 * triggers (migration 2 dropped them: the insert trigger was two thirds of an insert's cost).
 * The write path adds up the deltas of a batch and applies them once per distinct value; every
 * statement that deletes activity rows first subtracts their counts with one grouped statement.
 */
import type Database from 'better-sqlite3'
import type { Db } from '../store/db'
import type { ActivityRow } from './record-codec'

/** The counted columns of a row; the field names are those of activity_count.field. */
export const COUNTED_FIELDS = ['type', 'status', 'server_name', 'tool_name', 'session_id', 'intent_type', 'sensitive'] as const

type CountedRow = Pick<ActivityRow, (typeof COUNTED_FIELDS)[number]>

/** Count changes of one batch, by field and value. */
export class CountDeltas {
  private readonly byField = new Map<string, Map<string, number>>()

  private add(field: string, value: string | null, delta: number): void {
    if (value === null) return
    let values = this.byField.get(field)
    if (!values) this.byField.set(field, (values = new Map()))
    values.set(value, (values.get(value) ?? 0) + delta)
  }

  /** Counts `row` once more (delta 1) or once less (delta -1). */
  addRow(row: CountedRow, delta: 1 | -1): void {
    this.add('*', '', delta)
    this.add('type', row.type, delta)
    this.add('status', row.status, delta)
    this.add('server_name', row.server_name, delta)
    this.add('tool_name', row.tool_name, delta)
    this.add('session_id', row.session_id, delta)
    this.add('intent_type', row.intent_type, delta)
    this.add('sensitive', row.sensitive === 1 ? '1' : null, delta)
  }

  /** Writes every non-zero delta with `upsert` (field, value, n) and forgets them. */
  apply(upsert: Database.Statement<unknown[], unknown>): void {
    for (const [field, values] of this.byField) {
      for (const [value, n] of values) if (n !== 0) upsert.run(field, value, n)
    }
    this.byField.clear()
  }
}

export const UPSERT_COUNT_SQL =
  'INSERT INTO activity_count (field, value, n) VALUES (?, ?, ?) ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n'

/**
 * One statement that adds `sign` times the counts of the activity rows matching `where` (fixed
 * SQL over activity's columns, with bound parameters); it reads the rows once.
 */
export function countRowsSql(where: string, sign: 1 | -1): string {
  return `
    INSERT INTO activity_count (field, value, n)
    SELECT f, v, ${sign} * count(*) FROM (
      SELECT k.f AS f, CASE k.f
          WHEN '*' THEN '' WHEN 'type' THEN a.type WHEN 'status' THEN a.status
          WHEN 'server_name' THEN a.server_name WHEN 'tool_name' THEN a.tool_name
          WHEN 'session_id' THEN a.session_id WHEN 'intent_type' THEN a.intent_type
          WHEN 'sensitive' THEN CASE WHEN a.sensitive = 1 THEN '1' END
        END AS v
      FROM activity a CROSS JOIN (
        SELECT '*' AS f UNION ALL SELECT 'type' UNION ALL SELECT 'status' UNION ALL SELECT 'server_name'
        UNION ALL SELECT 'tool_name' UNION ALL SELECT 'session_id' UNION ALL SELECT 'intent_type' UNION ALL SELECT 'sensitive'
      ) k
      WHERE ${where}
    ) WHERE v IS NOT NULL GROUP BY f, v
    ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n`
}

const subtractCache = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>()

/** Subtracts the counts of the rows matching `where` (call it just before deleting them, in the same transaction). */
export function subtractCounts(db: Db, where: string, ...params: unknown[]): void {
  let stmts = subtractCache.get(db)
  if (!stmts) subtractCache.set(db, (stmts = new Map()))
  let stmt = stmts.get(where)
  if (!stmt) stmts.set(where, (stmt = db.prepare(countRowsSql(`(${where})`, -1))))
  stmt.run(...params)
}
