/**
 * activity_count (record counts per filterable value, '*' = all records) and the hourly rollups
 * (activity_hourly_status, activity_hourly_tool: migration 3) are kept by code, not by triggers
 * (migration 2 dropped them: the insert trigger was two thirds of an insert's cost). The write
 * path adds up the deltas of a batch and applies them once per distinct key; every statement
 * that deletes activity rows first subtracts their counts with grouped statements.
 */
import type Database from 'better-sqlite3'
import type { Db } from '../store/db'
import type { ActivityRow } from './record-codec'

/** The counted columns of a row; the field names are those of activity_count.field. */
export const COUNTED_FIELDS = ['type', 'status', 'server_name', 'tool_name', 'session_id', 'intent_type', 'sensitive'] as const

type CountedRow = Pick<ActivityRow, (typeof COUNTED_FIELDS)[number] | 'ts' | 'duration_ms'>

export const HOUR_MS = 3_600_000

/** The statements CountDeltas.apply writes with (prepared once per connection by its caller). */
export interface CountStatements {
  /** UPSERT_COUNT_SQL */
  count: Database.Statement<unknown[], unknown>
  /** UPSERT_HOURLY_STATUS_SQL */
  hourlyStatus: Database.Statement<unknown[], unknown>
  /** UPSERT_HOURLY_TOOL_SQL */
  hourlyTool: Database.Statement<unknown[], unknown>
}

/** Count changes of one batch, by field and value, and by hour. */
export class CountDeltas {
  private readonly byField = new Map<string, Map<string, number>>()
  /** hour, type, status -> [n, timed] */
  private readonly byStatus = new Map<string, [hour: number, type: string, status: string, n: number, timed: number]>()
  /** hour, server, tool (tool calls) -> n */
  private readonly byTool = new Map<string, [hour: number, server: string, tool: string, nulls: number, n: number]>()

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
    // (truncated as SQL divides integers, the way migration 3 and the subtracting statements do)
    const hour = Math.trunc(row.ts / HOUR_MS)
    const statusKey = `${hour}\0${row.type}\0${row.status}`
    const s = this.byStatus.get(statusKey)
    const timed = row.duration_ms === null ? 0 : delta
    if (s) {
      s[3] += delta
      s[4] += timed
    } else {
      this.byStatus.set(statusKey, [hour, row.type, row.status, delta, timed])
    }
    if (row.type !== 'tool_call') return
    const nulls = (row.server_name === null ? 1 : 0) + (row.tool_name === null ? 2 : 0)
    const toolKey = `${hour}\0${row.server_name}\0${row.tool_name}\0${nulls}`
    const t = this.byTool.get(toolKey)
    if (t) t[4] += delta
    else this.byTool.set(toolKey, [hour, row.server_name ?? '', row.tool_name ?? '', nulls, delta])
  }

  /** Writes every non-zero delta and forgets them. */
  apply(st: CountStatements): void {
    for (const [field, values] of this.byField) {
      for (const [value, n] of values) if (n !== 0) st.count.run(field, value, n)
    }
    for (const s of this.byStatus.values()) if (s[3] !== 0 || s[4] !== 0) st.hourlyStatus.run(...s)
    for (const t of this.byTool.values()) if (t[4] !== 0) st.hourlyTool.run(...t)
    this.byField.clear()
    this.byStatus.clear()
    this.byTool.clear()
  }
}

export const UPSERT_COUNT_SQL =
  'INSERT INTO activity_count (field, value, n) VALUES (?, ?, ?) ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n'
export const UPSERT_HOURLY_STATUS_SQL = `INSERT INTO activity_hourly_status (hour, type, status, n, timed) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (hour, type, status) DO UPDATE SET n = n + excluded.n, timed = timed + excluded.timed`
export const UPSERT_HOURLY_TOOL_SQL = `INSERT INTO activity_hourly_tool (hour, server_name, tool_name, nulls, n) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (hour, server_name, tool_name, nulls) DO UPDATE SET n = n + excluded.n`

/** Prepares the statements CountDeltas.apply writes with. */
export function countStatements(db: Db): CountStatements {
  return {
    count: db.prepare(UPSERT_COUNT_SQL),
    hourlyStatus: db.prepare(UPSERT_HOURLY_STATUS_SQL),
    hourlyTool: db.prepare(UPSERT_HOURLY_TOOL_SQL),
  }
}

interface Subtracting {
  /** the counted columns of the rows matching a where, by that where */
  rows: Map<string, Database.Statement<unknown[], CountedRow>>
  write: CountStatements
}

const subtractCache = new WeakMap<Db, Subtracting>()

/**
 * Subtracts the counts of the rows matching `where` (call it just before deleting them, in the
 * same transaction). The rows are read once and counted here: one GROUP BY statement per count
 * table cost twice as much.
 */
export function subtractCounts(db: Db, where: string, ...params: unknown[]): void {
  let cache = subtractCache.get(db)
  if (!cache) subtractCache.set(db, (cache = { rows: new Map(), write: countStatements(db) }))
  let rows = cache.rows.get(where)
  if (!rows) {
    rows = db.prepare<unknown[], CountedRow>(`SELECT ${COUNTED_FIELDS.join(', ')}, ts, duration_ms FROM activity WHERE ${where}`)
    cache.rows.set(where, rows)
  }
  const deltas = new CountDeltas()
  for (const row of rows.iterate(...params)) deltas.addRow(row, -1)
  deltas.apply(cache.write)
}
