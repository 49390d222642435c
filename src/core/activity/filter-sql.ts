/**
 * Turns an ActivityFilter into a SQL WHERE clause over `activity` with bound values only.
 * Column names come from the fixed mapping below, never from input. Shared by list, count,
 * export, filter-options and deleteWhere so that every one of them filters the same way.
 */
import { encodeTime, TIME_MAX } from 'ulid'
import type { ActivityFilter } from '../../shared/activity'
import { CoreError } from '../errors'

export interface WhereClause {
  /** `1` when the filter is empty, otherwise conditions joined with AND (no leading WHERE) */
  sql: string
  params: unknown[]
}

/** The lowest and highest ULID whose time part is `ms`. */
export function idBounds(ms: number): { low: string; high: string } {
  const time = encodeTime(ms)
  return { low: time + '0'.repeat(16), high: time + 'Z'.repeat(16) }
}

function timeBound(name: 'start_time' | 'end_time', value: string): number {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) throw new CoreError('INVALID_PARAMETER', `${name}: must be an RFC 3339 time`, { parameter: name })
  return Math.min(Math.max(ms, 0), TIME_MAX)
}

/** Characters the full-text tokenizer keeps inside a token (unicode61 with tokenchars '_-.'). */
const TOKEN = /[\p{L}\p{N}\p{M}_\-.]+/gu

/** At most this many words of q are searched for. */
const MAX_FTS_WORDS = 16

/**
 * The words of free text as the full-text tokenizer would split them (at most MAX_FTS_WORDS),
 * without leading or trailing `-` and `.`. Throws INVALID_PARAMETER when nothing searchable is left.
 */
export function ftsWords(q: string): string[] {
  const tokens = (q.match(TOKEN) ?? []).map((t) => t.replace(/^[-.]+|[-.]+$/g, '')).filter(Boolean)
  if (tokens.length === 0) {
    throw new CoreError('INVALID_PARAMETER', 'q: must contain at least one letter or digit', { parameter: 'q' })
  }
  return tokens.slice(0, MAX_FTS_WORDS)
}

/** A word as an FTS5 string: quoted, so that it is never read as query syntax. */
export function ftsString(word: string): string {
  return `"${word.replace(/"/g, '""')}"`
}

/**
 * Turns free text into a safe FTS5 query: every token becomes a quoted term and the terms are
 * ANDed, so user text is never read as FTS syntax. Only the last token is a prefix (the word
 * being typed): a prefix term makes FTS5 merge the lists of every indexed token it starts
 * (a path like /x/invoice/budget-12.md gives many), which is most of a search's time; see
 * fts-match.ts for the same query with the prefix expanded.
 * Throws INVALID_PARAMETER when nothing searchable is left.
 */
export function ftsQuery(q: string): string {
  const words = ftsWords(q)
  return words.map((t, i) => `${ftsString(t)}${i === words.length - 1 ? '*' : ''}`).join(' AND ')
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ')

/** Conditions the planner should not drive from their index (see WhereOptions). */
export type ScanHint = 'type' | 'status' | 'q'

export interface WhereOptions {
  /**
   * Conditions to check row by row while another index (activity_by_id) drives the query,
   * instead of looking up every match and sorting them (unary `+` keeps SQLite from driving the
   * query with them; q's matches are then collected once into a set the walk probes). Worth it
   * when the matches are many: walking by id finds a page sooner.
   */
  scan?: readonly ScanHint[]
  /**
   * The FTS5 MATCH expression for q, when the caller has one that matches the same records as
   * ftsQuery(q) (an expansion, see fts-match.ts); ftsQuery(q) otherwise.
   */
  match?: string
}

/** Builds the WHERE conditions for a filter (see WhereClause). */
export function buildWhere(filter: ActivityFilter, options: WhereOptions = {}): WhereClause {
  const parts: string[] = []
  const params: unknown[] = []
  const scan = new Set(options.scan ?? [])
  const inList = (column: 'type' | 'status', values: readonly string[]): void => {
    if (values.length === 1) {
      parts.push(`${column} = ?`)
    } else {
      parts.push(`${scan.has(column) ? '+' : ''}${column} IN (${placeholders(values.length)})`)
    }
    params.push(...values)
  }
  if (filter.type?.length) inList('type', [...new Set(filter.type)])
  if (filter.status?.length) inList('status', [...new Set(filter.status)])
  if (filter.server !== undefined) {
    parts.push('server_name = ?')
    params.push(filter.server)
  }
  if (filter.tool !== undefined) {
    parts.push('tool_name = ?')
    params.push(filter.tool)
  }
  if (filter.session_id !== undefined) {
    parts.push('session_id = ?')
    params.push(filter.session_id)
  }
  if (filter.intent_type !== undefined) {
    parts.push('intent_type = ?')
    params.push(filter.intent_type)
  }
  if (filter.sensitive === true) parts.push('sensitive = 1')
  if (filter.sensitive === false) parts.push('sensitive = 0')
  if (filter.start_time !== undefined) {
    parts.push('id >= ?')
    params.push(idBounds(timeBound('start_time', filter.start_time)).low)
  }
  if (filter.end_time !== undefined) {
    parts.push('id <= ?')
    params.push(idBounds(timeBound('end_time', filter.end_time)).high)
  }
  if (filter.q !== undefined) {
    parts.push(`${scan.has('q') ? '+' : ''}rid IN (SELECT rowid FROM activity_fts WHERE activity_fts MATCH ?)`)
    params.push(options.match ?? ftsQuery(filter.q))
  }
  return { sql: parts.length ? parts.join(' AND ') : '1', params }
}

/** Filter keys that narrow a query (a filter with none of them matches every record). */
export function isEmptyFilter(filter: ActivityFilter): boolean {
  return buildWhere(filter).sql === '1'
}
