/**
 * Streams activity records oldest first as JSON Lines or CSV with constant memory: rows are read
 * in chunks keyed by id (`id > last`), so no statement stays open across an await and records
 * written during the export never disturb it. JSON lines are built by SQLite as it reads each row
 * (export-json-line.ts); CSV rows are written by csv-stringify's rules (export-csv-row.ts).
 */
import { stringify } from 'csv-stringify/sync'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import type { Db } from '../store/db'
import { createIsoTime, csvRow, type CsvCell } from './export-csv-row'
import { JSON_LINE_COLUMNS, jsonLine, jsonLineSql, type JsonLineRow } from './export-json-line'
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

/**
 * Rows read per chunk: one chunk of output is yielded per read. Small enough that a chunk's text
 * (about 70 KB of JSON Lines with typical bodies) stays out of V8's large-object space, which is
 * only swept by full collections: 1000-row chunks grew a 1M-record export's heap to ~100 MB.
 */
export const EXPORT_CHUNK_ROWS = 100

/** The columns a CSV export reads, as arrays (raw rows: no object per row), in the order of C. */
const CSV_READ_COLUMNS = ['id', 'ts', 'type', 'status', 'session_id', 'request_id', 'server_name', 'tool_name', 'error', 'duration_ms', 'meta', 'hash']
const C = { id: 0, ts: 1, type: 2, status: 3, session_id: 4, request_id: 5, server_name: 6, tool_name: 7, error: 8, duration_ms: 9, meta: 10, hash: 11, arguments: 12, response: 13 } as const
type CsvReadRow = Array<string | number | null>

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

const cell = (v: string | number | null): CsvCell => (v === null ? undefined : v)
const list = (v: string[] | undefined): string | undefined => (v === undefined ? undefined : v.join(';'))
const bool = (v: boolean | undefined): string | undefined => (v === undefined ? undefined : String(v))

/** The CSV cells of a row (see CSV_COLUMNS); the bodies are their stored JSON text. */
function csvCells(row: CsvReadRow, includeBodies: boolean, isoTime: (ms: number) => string): CsvCell[] {
  const metaText = row[C.meta] as string
  const m = (metaText === '{}' ? {} : JSON.parse(metaText)) as Meta
  const cells: CsvCell[] = [
    row[C.id] as string,
    isoTime(row[C.ts] as number),
    row[C.type] as string,
    cell(row[C.server_name]!),
    cell(row[C.tool_name]!),
    row[C.status] as string,
    cell(row[C.duration_ms]!),
    cell(row[C.session_id]!),
    cell(row[C.request_id]!),
    cell(row[C.error]!),
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
    cell(row[C.hash]!),
  ]
  if (includeBodies) cells.push(cell(row[C.arguments]!), cell(row[C.response]!))
  return cells
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

// Every chunk walks one join in id order (the body by rid per row) from the last id; `where`
// names only activity columns. The chunk is built while the statement steps: nothing but the
// chunk's own text is held.
const fromSql = (bodies: boolean): string => `FROM activity a${bodies ? ' LEFT JOIN activity_body b ON b.rid = a.rid' : ''}`
const bodyColumns = (bodies: boolean): string => (bodies ? ', b.arguments, b.response' : '')

function exportChunks(db: Db, where: WhereClause, options: ExportOptions): AsyncIterable<string> {
  return options.format === 'csv' ? csvChunks(db, where, options.includeBodies) : jsonChunks(db, where, options.includeBodies)
}

async function* jsonChunks(db: Db, where: WhereClause, bodies: boolean): AsyncIterable<string> {
  const stmt = db
    .prepare(
      `SELECT a.id, ${jsonLineSql(bodies)} ${fromSql(bodies)}
       WHERE ${where.sql} AND a.id > ? ORDER BY a.id LIMIT ${EXPORT_CHUNK_ROWS}`,
    )
    .raw(true)
  // the rows the SQL line leaves NULL, read again (in the same read transaction) for jsonLine
  const one = db
    .prepare(`SELECT ${JSON_LINE_COLUMNS.map((c) => 'a.' + c).join(', ')}${bodyColumns(bodies)} ${fromSql(bodies)} WHERE a.id = ?`)
    .raw(true)
  let last = ''
  for (;;) {
    const lines: string[] = []
    for (const [id, line] of stmt.iterate(...where.params, last) as IterableIterator<[string, string | null]>) {
      lines.push(line ?? jsonLine(one.get(id) as JsonLineRow, bodies))
      last = id
    }
    if (lines.length === 0) return
    yield lines.join('\n') + '\n'
    if (lines.length < EXPORT_CHUNK_ROWS) return
  }
}

async function* csvChunks(db: Db, where: WhereClause, bodies: boolean): AsyncIterable<string> {
  const stmt = db
    .prepare(
      `SELECT ${CSV_READ_COLUMNS.map((c) => 'a.' + c).join(', ')}${bodyColumns(bodies)} ${fromSql(bodies)}
       WHERE ${where.sql} AND a.id > ? ORDER BY a.id LIMIT ${EXPORT_CHUNK_ROWS}`,
    )
    .raw(true)
  yield stringify([bodies ? [...CSV_COLUMNS, ...CSV_BODY_COLUMNS] : [...CSV_COLUMNS]])
  const isoTime = createIsoTime()
  let last = ''
  for (;;) {
    let out = ''
    let n = 0
    for (const row of stmt.iterate(...where.params, last) as IterableIterator<CsvReadRow>) {
      out += csvRow(csvCells(row, bodies, isoTime))
      last = row[C.id] as string
      n++
    }
    if (n === 0) return
    yield out
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
