/**
 * The JSON line of an exported record: the text JSON.stringify(fromRows(row)) gives (same keys,
 * same order), with the bodies appended when asked. Built from the stored text rather than from
 * a record object: meta and the bodies are stored as JSON already, so they are spliced in as they
 * are instead of being parsed and serialized again.
 *
 * Two builders make the same bytes: `jsonLineSql`, SQLite building the line while it reads the
 * row (one string crosses into JS per record instead of fifteen values, about half of an
 * export's time), and `jsonLine`, for the rows the SQL one leaves NULL because SQLite cannot
 * write one of their values exactly as JavaScript does (see `durationSql`, `timestampSql`).
 */

/** The activity columns `jsonLine` reads, in the order of the J indexes (then the two bodies). */
export const JSON_LINE_COLUMNS = ['id', 'ts', 'type', 'status', 'session_id', 'request_id', 'server_name', 'tool_name', 'error', 'duration_ms', 'meta', 'prev_hash', 'hash'] as const
const J = { id: 0, ts: 1, type: 2, status: 3, session_id: 4, request_id: 5, server_name: 6, tool_name: 7, error: 8, duration_ms: 9, meta: 10, prev_hash: 11, hash: 12, arguments: 13, response: 14 } as const

/** A raw row of JSON_LINE_COLUMNS (then arguments and response with bodies). */
export type JsonLineRow = Array<string | number | null>

const str = JSON.stringify as (v: string | number) => string

/** The line of a raw row of JSON_LINE_COLUMNS (`bodies`: followed by arguments and response). */
export function jsonLine(row: JsonLineRow, bodies: boolean): string {
  let s = '{"id":' + str(row[J.id]!) + ',"type":' + str(row[J.type]!) + ',"timestamp":"' + new Date(row[J.ts] as number).toISOString() + '","status":' + str(row[J.status]!)
  if (row[J.session_id] !== null) s += ',"session_id":' + str(row[J.session_id]!)
  if (row[J.request_id] !== null) s += ',"request_id":' + str(row[J.request_id]!)
  if (row[J.server_name] !== null) s += ',"server_name":' + str(row[J.server_name]!)
  if (row[J.tool_name] !== null) s += ',"tool_name":' + str(row[J.tool_name]!)
  if (row[J.error] !== null) s += ',"error":' + str(row[J.error]!)
  if (row[J.duration_ms] !== null) s += ',"duration_ms":' + str(row[J.duration_ms]!)
  const meta = row[J.meta] as string
  if (meta.length > 2) s += ',' + meta.slice(1, -1)
  if (row[J.prev_hash] !== null) s += ',"prev_hash":' + str(row[J.prev_hash]!)
  if (row[J.hash] !== null) s += ',"hash":' + str(row[J.hash]!)
  if (bodies) {
    if (row[J.arguments] !== null) s += ',"arguments":' + (row[J.arguments] as string)
    if (row[J.response] !== null) s += ',"response":' + (row[J.response] as string)
  }
  return s + '}'
}

/** The latest time toISOString writes as YYYY-MM-DDTHH:MM:SS.sssZ (9999-12-31T23:59:59.999Z). */
const MAX_PLAIN_YEAR_MS = 253_402_300_799_999

/**
 * toISOString of `a.ts`, or NULL outside years 1970..9999 (ULID times are never before 1970;
 * later years get a sign and six digits from JavaScript).
 */
const timestampSql = `CASE WHEN a.ts BETWEEN 0 AND ${MAX_PLAIN_YEAR_MS} THEN strftime('%Y-%m-%dT%H:%M:%S', a.ts / 1000, 'unixepoch') || printf('.%03dZ', a.ts % 1000) END`

/**
 * JSON.stringify of `a.duration_ms`, or NULL where SQLite might write it otherwise. JavaScript
 * writes the shortest digits that read back as the same double; when 15 significant digits read
 * back as the same double (every duration the recorders write: whole microseconds), '%.15g'
 * gives exactly those digits, and between 1e-4 and 1e15 both write them without an exponent.
 * -0 is written 0, as JavaScript does.
 */
const durationSql = `CASE WHEN a.duration_ms = 0 THEN '0'
  WHEN abs(a.duration_ms) >= 1e-4 AND abs(a.duration_ms) < 1e15 AND CAST(printf('%.15g', a.duration_ms) AS REAL) = a.duration_ms
  THEN printf('%.15g', a.duration_ms) END`

/** `,"key":<json_quote(column)>`, or nothing when the column is NULL (json_quote escapes as JSON.stringify does). */
const optionalString = (key: string, column: string): string => `CASE WHEN ${column} IS NULL THEN '' ELSE ',"${key}":' || json_quote(${column}) END`
const optionalJson = (key: string, column: string): string => `CASE WHEN ${column} IS NULL THEN '' ELSE ',"${key}":' || ${column} END`

/**
 * The SQL expression of the line of activity row `a` (and body row `b` when `bodies`): the same
 * text as `jsonLine`, or NULL where `jsonLine` must write it (a NULL part makes `||` NULL).
 */
export function jsonLineSql(bodies: boolean): string {
  return [
    `'{"id":' || json_quote(a.id) || ',"type":' || json_quote(a.type)`,
    `',"timestamp":"' || (${timestampSql}) || '","status":' || json_quote(a.status)`,
    optionalString('session_id', 'a.session_id'),
    optionalString('request_id', 'a.request_id'),
    optionalString('server_name', 'a.server_name'),
    optionalString('tool_name', 'a.tool_name'),
    optionalString('error', 'a.error'),
    `CASE WHEN a.duration_ms IS NULL THEN '' ELSE ',"duration_ms":' || (${durationSql}) END`,
    `CASE WHEN length(a.meta) > 2 THEN ',' || substr(a.meta, 2, length(a.meta) - 2) ELSE '' END`,
    optionalString('prev_hash', 'a.prev_hash'),
    optionalString('hash', 'a.hash'),
    ...(bodies ? [optionalJson('arguments', 'b.arguments'), optionalJson('response', 'b.response')] : []),
    `'}'`,
  ].join('\n || ')
}
