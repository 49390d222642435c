/**
 * Streams activity records oldest first as JSON Lines or CSV with constant memory: rows are read
 * in chunks keyed by id (`id > last`), so no statement stays open across an await and records
 * written during the export never disturb it.
 */
import { stringify } from 'csv-stringify/sync'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import type { Db } from '../store/db'
import { buildWhere, ftsQuery, type WhereClause } from './filter-sql'
import { ROW_COLUMNS } from './query'
import { fromRows, type ActivityRow, type BodyRow } from './record-codec'
import type { ExportOptions } from './types'

/**
 * The CSV columns, in order (one header row, then one row per record):
 * - id, timestamp (RFC 3339 UTC, ms), type, server_name, tool_name, status, duration_ms,
 *   session_id, request_id, error: the record fields of the same name
 * - intent_operation_type, intent_reason: intent.operation_type, intent.reason
 * - client_name: client.name
 * - detection_types, pii_detected, flags: lists joined with ';'
 * - policy_decision, policy_reason: policy.decision, policy.reason
 * - response_truncated (true/false), request_bytes, response_bytes, hash
 * With include_bodies, two more columns follow: arguments and response, as JSON text.
 * Absent values are empty cells.
 */
export const CSV_COLUMNS = [
  'id',
  'timestamp',
  'type',
  'server_name',
  'tool_name',
  'status',
  'duration_ms',
  'session_id',
  'request_id',
  'error',
  'intent_operation_type',
  'intent_reason',
  'client_name',
  'detection_types',
  'pii_detected',
  'flags',
  'policy_decision',
  'policy_reason',
  'response_truncated',
  'request_bytes',
  'response_bytes',
  'hash',
] as const
export const CSV_BODY_COLUMNS = ['arguments', 'response'] as const

/** Rows read per chunk: one chunk of output is yielded per read. */
export const EXPORT_CHUNK_ROWS = 1000

type Cell = string | number | undefined

const list = (v: string[] | undefined): string | undefined => (v === undefined ? undefined : v.join(';'))
const bool = (v: boolean | undefined): string | undefined => (v === undefined ? undefined : String(v))
const json = (v: unknown): string | undefined => (v === undefined ? undefined : JSON.stringify(v))

function csvCells(r: ActivityRecord, includeBodies: boolean): Cell[] {
  const cells: Cell[] = [
    r.id,
    r.timestamp,
    r.type,
    r.server_name,
    r.tool_name,
    r.status,
    r.duration_ms,
    r.session_id,
    r.request_id,
    r.error,
    r.intent?.operation_type,
    r.intent?.reason,
    r.client?.name,
    list(r.detection_types),
    list(r.pii_detected),
    list(r.flags),
    r.policy?.decision,
    r.policy?.reason,
    bool(r.response_truncated),
    r.request_bytes,
    r.response_bytes,
    r.hash,
  ]
  if (includeBodies) cells.push(json(r.arguments), json(r.response))
  return cells
}

/**
 * The JSON line of a record with its bodies. The bodies are stored as JSON text, so they are
 * spliced in as they are rather than parsed and serialized again (most of an export's work).
 */
function jsonLineWithBodies(row: ActivityRow & BodyRow): string {
  const head = JSON.stringify(fromRows(row))
  let tail = ''
  if (row.arguments !== null) tail += ',"arguments":' + row.arguments
  if (row.response !== null) tail += ',"response":' + row.response
  return tail ? head.slice(0, -1) + tail + '}' : head
}

/** Streams the records matching `filter`, oldest first; see CSV_COLUMNS for the CSV layout. */
export async function* exportActivity(db: Db, filter: ActivityFilter, options: ExportOptions): AsyncIterable<string> {
  // Every chunk walks activity_by_id from the last id, checking the other conditions per row:
  // collecting all matches of a type list or of q again for each chunk would make it quadratic.
  // q's matches are collected once into a temp table (on disk when large) the walk probes.
  const { q, ...rest } = filter
  const where = buildWhere(rest, { scan: ['type', 'status'] })
  let matches: string | null = null
  if (q !== undefined) {
    const match = ftsQuery(q)
    matches = `activity_export_match_${++exportSerial}`
    db.exec(`CREATE TEMP TABLE ${matches} (rid INTEGER PRIMARY KEY)`)
    db.prepare(`INSERT INTO temp.${matches} (rid) SELECT rowid FROM activity_fts WHERE activity_fts MATCH ?`).run(match)
    where.sql += ` AND +rid IN (SELECT rid FROM temp.${matches})`
  }
  try {
    yield* exportChunks(db, where, options)
  } finally {
    if (matches) db.exec(`DROP TABLE IF EXISTS temp.${matches}`)
  }
}

let exportSerial = 0

async function* exportChunks(db: Db, where: WhereClause, options: ExportOptions): AsyncIterable<string> {
  const bodies = options.includeBodies
  const inner = `SELECT rid, ${ROW_COLUMNS} FROM activity WHERE ${where.sql} AND id > ? ORDER BY id LIMIT ${EXPORT_CHUNK_ROWS}`
  const stmt = db.prepare(
    bodies
      ? `SELECT x.*, b.arguments, b.response FROM (${inner}) x LEFT JOIN activity_body b ON b.rid = x.rid ORDER BY x.id`
      : inner,
  )
  const csv = options.format === 'csv'
  if (csv) yield stringify([bodies ? [...CSV_COLUMNS, ...CSV_BODY_COLUMNS] : [...CSV_COLUMNS]])
  let last = ''
  for (;;) {
    const out: string[] = []
    const cells: Cell[][] = []
    let n = 0
    for (const row of stmt.iterate(...where.params, last) as IterableIterator<ActivityRow & BodyRow>) {
      if (csv) cells.push(csvCells(fromRows(row, bodies ? row : null), bodies))
      else out.push(bodies ? jsonLineWithBodies(row) : JSON.stringify(fromRows(row)))
      last = row.id
      n++
    }
    if (n === 0) return
    yield csv ? stringify(cells) : out.join('\n') + '\n'
    if (n < EXPORT_CHUNK_ROWS) return
  }
}
