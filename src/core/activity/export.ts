/**
 * Streams activity records oldest first as JSON Lines or CSV with constant memory: rows are read
 * in chunks keyed by id (`id > last`), so no statement stays open across an await and records
 * written during the export never disturb it.
 */
import { stringify } from 'csv-stringify/sync'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import type { Db } from '../store/db'
import { buildWhere, ftsQuery, type WhereClause } from './filter-sql'
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

/**
 * The columns an export reads, as arrays (raw rows: no object per row, most of the reading cost
 * after SQLite's own), in the order of the E indexes below.
 */
const EXPORT_COLUMNS = ['id', 'ts', 'type', 'status', 'session_id', 'request_id', 'server_name', 'tool_name', 'error', 'duration_ms', 'meta', 'prev_hash', 'hash']
const E = { id: 0, ts: 1, type: 2, status: 3, session_id: 4, request_id: 5, server_name: 6, tool_name: 7, error: 8, duration_ms: 9, meta: 10, prev_hash: 11, hash: 12, arguments: 13, response: 14 } as const
type ExportRow = Array<string | number | null>

interface Meta {
  intent?: { operation_type?: string; reason?: string }
  client?: { name?: string }
  detection_types?: string[]
  pii_detected?: string[]
  flags?: string[]
  policy?: { decision?: string; reason?: string }
  response_truncated?: boolean
  request_bytes?: number
  response_bytes?: number
}

const cell = (v: string | number | null): Cell => (v === null ? undefined : v)
const list = (v: string[] | undefined): string | undefined => (v === undefined ? undefined : v.join(';'))
const bool = (v: boolean | undefined): string | undefined => (v === undefined ? undefined : String(v))

/** The CSV cells of a row (see CSV_COLUMNS); the bodies are their stored JSON text. */
function csvCells(row: ExportRow, includeBodies: boolean): Cell[] {
  const m = JSON.parse(row[E.meta] as string) as Meta
  const cells: Cell[] = [
    row[E.id] as string,
    new Date(row[E.ts] as number).toISOString(),
    row[E.type] as string,
    cell(row[E.server_name]!),
    cell(row[E.tool_name]!),
    row[E.status] as string,
    cell(row[E.duration_ms]!),
    cell(row[E.session_id]!),
    cell(row[E.request_id]!),
    cell(row[E.error]!),
    m.intent?.operation_type,
    m.intent?.reason,
    m.client?.name,
    list(m.detection_types),
    list(m.pii_detected),
    list(m.flags),
    m.policy?.decision,
    m.policy?.reason,
    bool(m.response_truncated),
    m.request_bytes,
    m.response_bytes,
    cell(row[E.hash]!),
  ]
  if (includeBodies) cells.push(cell(row[E.arguments]!), cell(row[E.response]!))
  return cells
}

const str = JSON.stringify as (v: string | number) => string

/**
 * The JSON line of a row: the text JSON.stringify(fromRows(row)) gives (same keys, same order),
 * with the bodies appended when asked. It is built from the stored text rather than from a
 * record object: meta and the bodies are stored as JSON already, so they are spliced in as they
 * are instead of being parsed and serialized again (most of an export's work).
 */
function jsonLine(row: ExportRow, bodies: boolean): string {
  let s = '{"id":' + str(row[E.id]!) + ',"type":' + str(row[E.type]!) + ',"timestamp":"' + new Date(row[E.ts] as number).toISOString() + '","status":' + str(row[E.status]!)
  if (row[E.session_id] !== null) s += ',"session_id":' + str(row[E.session_id]!)
  if (row[E.request_id] !== null) s += ',"request_id":' + str(row[E.request_id]!)
  if (row[E.server_name] !== null) s += ',"server_name":' + str(row[E.server_name]!)
  if (row[E.tool_name] !== null) s += ',"tool_name":' + str(row[E.tool_name]!)
  if (row[E.error] !== null) s += ',"error":' + str(row[E.error]!)
  if (row[E.duration_ms] !== null) s += ',"duration_ms":' + str(row[E.duration_ms]!)
  const meta = row[E.meta] as string
  if (meta.length > 2) s += ',' + meta.slice(1, -1)
  if (row[E.prev_hash] !== null) s += ',"prev_hash":' + str(row[E.prev_hash]!)
  if (row[E.hash] !== null) s += ',"hash":' + str(row[E.hash]!)
  if (bodies) {
    if (row[E.arguments] !== null) s += ',"arguments":' + (row[E.arguments] as string)
    if (row[E.response] !== null) s += ',"response":' + (row[E.response] as string)
  }
  return s + '}'
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
    where.sql += ` AND +a.rid IN (SELECT rid FROM temp.${matches})`
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
  // One join walked in id order (the body by rid per row); `where` names only activity columns.
  const stmt = db
    .prepare(
      `SELECT ${EXPORT_COLUMNS.map((c) => 'a.' + c).join(', ')}${bodies ? ', b.arguments, b.response' : ''}
       FROM activity a${bodies ? ' LEFT JOIN activity_body b ON b.rid = a.rid' : ''}
       WHERE ${where.sql} AND a.id > ? ORDER BY a.id LIMIT ${EXPORT_CHUNK_ROWS}`,
    )
    .raw(true)
  const csv = options.format === 'csv'
  if (csv) yield stringify([bodies ? [...CSV_COLUMNS, ...CSV_BODY_COLUMNS] : [...CSV_COLUMNS]])
  let last = ''
  for (;;) {
    const out: string[] = []
    const cells: Cell[][] = []
    let n = 0
    for (const row of stmt.iterate(...where.params, last) as IterableIterator<ExportRow>) {
      if (csv) cells.push(csvCells(row, bodies))
      else out.push(jsonLine(row, bodies))
      last = row[E.id] as string
      n++
    }
    if (n === 0) return
    yield csv ? stringify(cells) : out.join('\n') + '\n'
    if (n < EXPORT_CHUNK_ROWS) return
  }
}

/** Full records back from a JSON Lines export stream (any chunking), with constant memory. */
export async function* recordsFromJsonLines(chunks: AsyncIterable<string>): AsyncGenerator<ActivityRecord> {
  let buffered = ''
  for await (const chunk of chunks) {
    buffered += chunk
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim()) yield JSON.parse(line) as ActivityRecord
    }
  }
  if (buffered.trim()) yield JSON.parse(buffered) as ActivityRecord
}
