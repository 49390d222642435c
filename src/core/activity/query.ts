/**
 * The read side of the activity store: list, get, count, filter-options, summary, metrics and
 * seq-ordered tailing, over one better-sqlite3 connection with prepared statements cached per
 * SQL shape. Shared by REST, IPC and the CLI.
 */
import type Database from 'better-sqlite3'
import { isValid as isUlid } from 'ulid'
import {
  ACTIVITY_STATUSES,
  ACTIVITY_TYPES,
  FILTER_OPTION_FIELDS,
  MAX_HOURLY_HOURS,
  SUMMARY_PERIODS,
  type ActivityFilter,
  type ActivityHourlyInfo,
  type ActivityMetricsInfo,
  type ActivityPage,
  type ActivityRecord,
  type ActivityStatus,
  type ActivitySummaryInfo,
  type ActivityType,
  type FilterOptionField,
  type FilterOptionInfo,
  type MetricsDayInfo,
  type SummaryPeriod,
} from '../../shared/activity'
import { CoreError } from '../errors'
import type { Db } from '../store/db'
import { HOUR_MS } from './activity-counts'
import { FTS_TEXT_SQL, readChainHead } from './append'
import { buildWhere, idBounds, type ScanHint } from './filter-sql'
import { createFtsMatcher, type ExpansionLimits, type FtsParts } from './fts-match'
import { fromRows, type ActivityRow, type BodyRow } from './record-codec'
import type { ActivityQueries, AppendedBatch, PageRequest } from './types'

/** The activity columns a record is rebuilt from (everything but rid). */
export const ROW_COLUMNS =
  'id, seq, ts, type, status, server_name, tool_name, session_id, request_id, intent_type, sensitive, duration_ms, error, meta, prev_hash, hash'

const PREFIXED_COLUMNS = ROW_COLUMNS.split(', ')
  .map((c) => 'a.' + c)
  .join(', ')

export const MAX_PAGE = 100
/**
 * A list under q alone counts its matches exactly up to this many; beyond it `total` is
 * estimated from how densely the newest records match, and `total_estimated` is set.
 */
export const Q_EXACT_TOTAL = 2000
/** The newest-first walk of q's matches gives up (the page is built the general way) after this many. */
const Q_MAX_WALK = 20_000
/** Records below the walk in rid order but newer in id order that are still probed one by one. */
const Q_MAX_STRAGGLERS = 500
/** qWindow indexes at most this many of the newest records again (a few milliseconds)... */
const Q_WINDOW_ROWS = 1000
/** ...found among at most this many of the newest records. */
const Q_WINDOW_SPAN = 5000
/** Matches checked against the other conditions per statement during the walk. */
const Q_STEP = 500
/** At most this many distinct values are returned by filterOptions (most frequent first). */
export const MAX_FILTER_OPTIONS = 1000

const PERIOD_MS: Record<SummaryPeriod, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
}
const DAY_MS = 86_400_000

/** Opaque page cursor: base64url of the last id of the page. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!isUlid(id)) throw new CoreError('INVALID_PARAMETER', 'cursor: not a cursor returned by this service', { parameter: 'cursor' })
  return id
}

/** The filter keys that narrow the result (set, and not an empty list). */
function activeKeys(filter: ActivityFilter): Array<keyof ActivityFilter> {
  return (Object.keys(filter) as Array<keyof ActivityFilter>).filter((k) => {
    const v = filter[k]
    return v !== undefined && !(Array.isArray(v) && v.length === 0)
  })
}

/** Filters answered from activity_count: the filter key, its count field and its values. */
function countShortcut(filter: ActivityFilter): { field: string; values: string[] } | null {
  const keys = activeKeys(filter)
  if (keys.length === 0) return { field: '*', values: [''] }
  if (keys.length > 1) return null
  switch (keys[0]) {
    case 'type':
      return { field: 'type', values: [...new Set(filter.type)] }
    case 'status':
      return { field: 'status', values: [...new Set(filter.status)] }
    case 'server':
      return { field: 'server_name', values: [filter.server!] }
    case 'tool':
      return { field: 'tool_name', values: [filter.tool!] }
    case 'session_id':
      return { field: 'session_id', values: [filter.session_id!] }
    case 'intent_type':
      return { field: 'intent_type', values: [filter.intent_type!] }
    case 'sensitive':
      return filter.sensitive ? { field: 'sensitive', values: ['1'] } : null
    default:
      return null
  }
}

type StatusCount = { type: ActivityType; status: ActivityStatus; n: number; timed: number }
type ToolCount = { server_name: string | null; tool_name: string | null; n: number }

/** Nearest-rank percentiles of `values` (sorted here, in a Float64Array); null for none. */
function nearestRank(values: ArrayLike<number>, ps: readonly number[]): Array<number | null> {
  const sorted = Float64Array.from(values).sort()
  return ps.map((p) => (sorted.length ? sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]! : null))
}

function emptyByStatus(): Record<ActivityStatus, number> {
  return Object.fromEntries(ACTIVITY_STATUSES.map((s) => [s, 0])) as Record<ActivityStatus, number>
}

function rangeOf(startMs: number, endMs: number): [string, string] {
  return [idBounds(startMs).low, idBounds(endMs).high]
}

export interface ActivityQueriesOptions {
  /** Limits of q's prefix expansion (see fts-match.ts); tests choose small ones. */
  fts?: ExpansionLimits
}

/** Creates the query service over an open (migrated) database. */
export function createActivityQueries(db: Db, options: ActivityQueriesOptions = {}): ActivityQueries {
  const statements = new Map<string, Database.Statement<unknown[], unknown>>()
  const stmt = (sql: string): Database.Statement<unknown[], unknown> => {
    let s = statements.get(sql)
    if (!s) {
      s = db.prepare(sql)
      statements.set(sql, s)
    }
    return s
  }
  const ftsMatch = createFtsMatcher(db, options.fts)
  /**
   * Runs `fn` in one read transaction when q is searched: the expansion of q's last word (see
   * fts-match.ts) must see the same tokens as the query that uses it. A connection busy stepping
   * a statement of the caller's cannot begin one: `fn` then runs as before, statement by statement.
   */
  const snapshot = <T>(filter: ActivityFilter, fn: () => T): T => {
    if (filter.q === undefined || db.inTransaction) return fn()
    let began = false
    try {
      return db.transaction(() => {
        began = true
        return fn()
      })()
    } catch (err) {
      if (began) throw err
      return fn()
    }
  }

  const count = (filter: ActivityFilter): number => snapshot(filter, () => countIn(filter))

  /** count within the caller's snapshot; `match` is ftsMatch(filter.q) when the caller has it. */
  const countIn = (filter: ActivityFilter, match = filter.q === undefined ? undefined : ftsMatch(filter.q)): number => {
    const shortcut = countShortcut(filter)
    if (shortcut) {
      const marks = shortcut.values.map(() => '?').join(', ')
      const row = stmt(`SELECT coalesce(sum(n), 0) AS n FROM activity_count WHERE field = ? AND value IN (${marks})`).get(
        shortcut.field,
        ...shortcut.values,
      ) as { n: number }
      return row.n
    }
    if (activeKeys(filter).join() === 'q') {
      // The full-text index holds exactly one row per record, so its count needs no row lookups.
      return (stmt('SELECT count(*) AS n FROM activity_fts WHERE activity_fts MATCH ?').get(match) as { n: number }).n
    }
    const where = buildWhere(filter, { match })
    return (stmt(`SELECT count(*) AS n FROM activity WHERE ${where.sql}`).get(...where.params) as { n: number }).n
  }

  /**
   * When the filter matches many records, walking activity_by_id newest first reaches a page
   * sooner than collecting every match of a type/status list or of q and sorting it: a fraction
   * f of N records gives a page of `needed` rows after about needed / f rows.
   */
  const scanHints = (filter: ActivityFilter, matches: number, needed: number): ScanHint[] => {
    const hints: ScanHint[] = []
    if ((filter.type?.length ?? 0) > 1) hints.push('type')
    if ((filter.status?.length ?? 0) > 1) hints.push('status')
    if (filter.q !== undefined) hints.push('q')
    if (hints.length === 0) return hints
    return matches * matches > needed * countIn({}) ? hints : []
  }

  /**
   * The first `needed` records of a q search, newest first, without collecting every match:
   * rid is the insertion order, which is nearly id (time) order, so the full-text matches are
   * read newest rid first (one FTS statement, see fts-match.ts for the last word's prefix) until
   * `needed` records pass the other conditions. q alone counts up to Q_EXACT_TOTAL + 1 matches
   * without stepping them one by one from JS (that was half of the time). The result is
   * exact: a record below the walk in rid order whose id is newer than the needed-th found
   * (an import of older records, a pending record finalized late) is found on activity_by_id
   * (`id > ? AND rid < ?`, about needed / match-rate index entries) and checked. Returns null
   * when walking is no better than collecting every match.
   */
  const qWalk = (
    filter: ActivityFilter,
    match: string,
    needed: number,
  ): { rids: number[]; matches: number; complete: boolean; lastRid: number; estimate?: number } | null => {
    const where = buildWhere({ ...filter, q: undefined })
    const others = where.sql !== '1'
    // NOT INDEXED: look the rids up by primary key, never walk a filter index to match them
    const idsOf = stmt(`SELECT rid, id FROM activity NOT INDEXED WHERE rid IN (SELECT value FROM json_each(?)) AND ${where.sql}`)
    const found: Array<{ rid: number; id: string }> = []
    let matches = 0
    let lowestRid = Number.MAX_SAFE_INTEGER
    let lastRid = 0
    let complete = true
    let pending: number[] = []
    let estimate: number | undefined
    const check = (): void => {
      if (pending.length) found.push(...(idsOf.all(JSON.stringify(pending), ...where.params) as typeof found))
      pending = []
    }
    const newestFirst = 'SELECT rowid FROM activity_fts WHERE activity_fts MATCH ? ORDER BY rowid DESC'
    if (!others) {
      const cap = Math.max(Q_EXACT_TOTAL, needed)
      // ('*' only ever follows a quoted term in a match expression)
      const windowed = match.includes('*') ? qWindow(ftsMatch.parts(filter.q!), needed, cap) : null
      if (windowed) {
        pending = windowed.rids
        matches = cap + 1
        estimate = windowed.estimate
      } else if (match.includes('*')) {
        // a prefix term is merged when the statement starts: start it once, for every rowid
        const rids = stmt(`${newestFirst} LIMIT ?`).pluck().all(match, cap + 1) as number[]
        matches = rids.length
        lastRid = rids[rids.length - 1] ?? 0
        pending = rids.slice(0, needed)
      } else {
        // exact terms cost nothing to start: the page, then the count without a rowid for JS each
        pending = stmt(`${newestFirst} LIMIT ?`).pluck().all(match, needed) as number[]
        const counted = stmt(`SELECT count(*) AS n, min(r) AS low FROM (${newestFirst.replace('rowid', 'rowid AS r')} LIMIT ?)`).get(
          match,
          cap + 1,
        ) as { n: number; low: number | null }
        matches = counted.n
        lastRid = counted.low ?? 0
      }
      complete = matches <= cap
      if (complete) lastRid = 0
      if (pending.length) lowestRid = pending[pending.length - 1]!
    } else {
      for (const rid of stmt(newestFirst).pluck().iterate(match) as IterableIterator<number>) {
        pending.push(rid)
        lowestRid = rid
        if (pending.length >= Q_STEP) check()
        // the total is counted apart: stop once the page is full
        if (found.length >= needed) {
          complete = false
          break
        }
        if (++matches > Q_MAX_WALK) {
          complete = false
          break
        }
      }
    }
    check()
    if (found.length < needed && !complete) return null
    found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    if (found.length >= needed) {
      const floor = found[needed - 1]!.id
      const stragglers = stmt('SELECT rid FROM activity WHERE id > ? AND rid < ? LIMIT ?')
        .pluck()
        .all(floor, lowestRid, Q_MAX_STRAGGLERS + 1) as number[]
      if (stragglers.length > Q_MAX_STRAGGLERS) return null
      if (stragglers.length) {
        // (FTS5 does not narrow a MATCH by `rowid = ?` reliably here, so the matches are collected
        // once, as the general way does; only when such records exist)
        found.push(
          ...(stmt(
            `SELECT rid, id FROM activity NOT INDEXED WHERE rid IN (SELECT value FROM json_each(?)) AND ${where.sql}
             AND rid IN (SELECT rowid FROM activity_fts WHERE activity_fts MATCH ?)`,
          ).all(JSON.stringify(stragglers), ...where.params, match) as typeof found),
        )
        found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      }
    }
    return { rids: found.slice(0, needed).map((f) => f.rid), matches, complete, lastRid, estimate }
  }

  /**
   * The newest `needed` matches of q without merging its prefix terms over the whole index (the
   * merge is most of a search's time when a word starts a thousand rare tokens, as path names
   * like rollback-12.md make): the lazy part gives `needed` matches down to rid `floor`, and the
   * prefix terms are matched only against the records above it, indexed again in a small
   * temporary full-text table. Used when the lazy part alone matches more than `cap` records (so
   * the total is an estimate anyway) and at most Q_WINDOW_ROWS records are to be indexed again
   * (of the newest Q_WINDOW_SPAN when q has other words: only those holding them); null otherwise.
   */
  const qWindow = (parts: FtsParts | null, needed: number, cap: number): { rids: number[]; estimate: number } | null => {
    if (!parts?.rare) return null
    const newestFirst = 'SELECT rowid AS r FROM activity_fts WHERE activity_fts MATCH ? ORDER BY rowid DESC'
    const lazy = stmt(`${newestFirst} LIMIT ?`).pluck().all(parts.lazy, needed) as number[]
    if (lazy.length < needed) return null
    const floor = lazy[needed - 1]!
    const maxRid = stmt('SELECT max(rid) FROM activity').pluck().get() as number
    if (maxRid - floor >= (parts.others === null ? Q_WINDOW_ROWS : Q_WINDOW_SPAN)) return null
    const counted = stmt(`SELECT count(*) AS n, min(r) AS low FROM (${newestFirst} LIMIT ?)`).get(parts.lazy, cap + 1) as {
      n: number
      low: number
    }
    if (counted.n <= cap) return null
    const recent = ftsWindow()
    if (!recent) return null
    // only records holding the other words can match: just those are indexed again
    if (parts.others === null) {
      recent.fill.run(floor)
    } else {
      // (read newest first and stopped: a rowid bound makes FTS5 read the whole doclist)
      const holding: number[] = []
      for (const rid of stmt(newestFirst).pluck().iterate(parts.others) as IterableIterator<number>) {
        if (rid < floor) break
        if (holding.push(rid) > Q_WINDOW_ROWS) return null
      }
      recent.fillRids.run(JSON.stringify(holding))
    }
    const union = [...new Set([...lazy, ...(recent.match.pluck().all(parts.rare) as number[])])].sort((a, b) => b - a)
    const all = countIn({})
    // the lazy part's share of the newest records, times how many more the prefix terms add above floor
    const lazyTotal = ((counted.n - 1) * all) / Math.max(1, maxRid - counted.low + 1)
    return { rids: union.slice(0, needed), estimate: Math.min(all, Math.round((lazyTotal * union.length) / lazy.length)) }
  }

  type FtsWindow = Record<'clear' | 'fill' | 'fillRids' | 'match', Database.Statement<unknown[], unknown>>
  let window: FtsWindow | undefined
  /** A temporary full-text table defined as activity_fts is (so it tokenizes the same way), for qWindow. */
  const ftsWindow = (): FtsWindow | null => {
    try {
      if (window) {
        window.clear.run()
        return window
      }
      const definition = stmt("SELECT sql FROM sqlite_schema WHERE name = 'activity_fts'").pluck().get() as string
      db.exec(definition.replace(/^CREATE VIRTUAL TABLE activity_fts\b/, 'CREATE VIRTUAL TABLE IF NOT EXISTS temp.activity_fts_window'))
      window = {
        clear: db.prepare("INSERT INTO temp.activity_fts_window (activity_fts_window) VALUES ('delete-all')"),
        fill: db.prepare(
          `INSERT INTO temp.activity_fts_window (rowid, body)
           SELECT a.rid, ${FTS_TEXT_SQL} FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid WHERE a.rid >= ?`,
        ),
        fillRids: db.prepare(
          `INSERT INTO temp.activity_fts_window (rowid, body)
           SELECT a.rid, ${FTS_TEXT_SQL} FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid
           WHERE a.rid IN (SELECT value FROM json_each(?))`,
        ),
        match: db.prepare('SELECT rowid FROM temp.activity_fts_window WHERE activity_fts_window MATCH ?'),
      }
      return window
    } catch {
      // (a transaction that rolled back took the temporary table with it, or the connection is
      // busy stepping a statement): the general way gives the same page
      window = undefined
      return null
    }
  }

  /** The q page the walk found, with its total (see Q_EXACT_TOTAL); null to build it the general way. */
  const qPage = (filter: ActivityFilter, match: string, page: PageRequest): ActivityPage | null => {
    const { limit, offset } = page
    if (page.cursor !== undefined || offset + limit > Q_MAX_WALK / 10) return null
    const walk = qWalk(filter, match, offset + limit + 1)
    if (!walk) return null
    let total: number
    let estimated = false
    if (activeKeys(filter).join() !== 'q') total = countIn(filter, match)
    else if (walk.estimate !== undefined) {
      total = walk.estimate
      estimated = true
    } else if (walk.complete) total = walk.matches
    else {
      // the share of matches among the newest records (by rid, nearly dense), times all records
      const all = countIn({})
      const maxRid = stmt('SELECT max(rid) FROM activity').pluck().get() as number
      total = Math.min(all, Math.round(((walk.matches - 1) * all) / Math.max(1, maxRid - walk.lastRid + 1)))
      estimated = true
    }
    const pageRids = walk.rids.slice(offset)
    const rows = pageRids.length
      ? (stmt(`SELECT ${ROW_COLUMNS} FROM activity WHERE rid IN (SELECT value FROM json_each(?)) ORDER BY id DESC`).all(
          JSON.stringify(pageRids),
        ) as ActivityRow[])
      : []
    const more = rows.length > limit
    if (more) rows.pop()
    const result: ActivityPage = { activities: rows.map((r) => fromRows(r)), total, limit, offset }
    if (estimated) result.total_estimated = true
    if (more) result.next_cursor = encodeCursor(rows[rows.length - 1]!.id)
    return result
  }

  const list = (filter: ActivityFilter, page: PageRequest): ActivityPage => snapshot(filter, () => listIn(filter, page))

  const listIn = (filter: ActivityFilter, page: PageRequest): ActivityPage => {
    const { limit, offset } = page
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new CoreError('INVALID_PARAMETER', `limit: must be an integer from 1 to ${MAX_PAGE}`, { parameter: 'limit' })
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new CoreError('INVALID_PARAMETER', 'offset: must be an integer of at least 0', { parameter: 'offset' })
    }
    const match = filter.q === undefined ? undefined : ftsMatch(filter.q)
    const byWalk = match === undefined ? null : qPage(filter, match, page)
    if (byWalk) return byWalk
    const total = countIn(filter, match)
    const where = buildWhere(filter, { scan: scanHints(filter, total, offset + limit + 1), match })
    let sql = where.sql
    const params = [...where.params]
    // A cursor pins the page to ids older than the previous page's last one, so records that
    // arrive meanwhile never shift it; the offset is then counted from the cursor.
    if (page.cursor !== undefined) {
      sql += ' AND id < ?'
      params.push(decodeCursor(page.cursor))
    }
    const rows = stmt(`SELECT ${ROW_COLUMNS} FROM activity WHERE ${sql} ORDER BY id DESC LIMIT ? OFFSET ?`).all(
      ...params,
      limit + 1,
      offset,
    ) as ActivityRow[]
    const more = rows.length > limit
    if (more) rows.pop()
    const result: ActivityPage = {
      activities: rows.map((r) => fromRows(r)),
      total,
      limit,
      offset,
    }
    if (more) result.next_cursor = encodeCursor(rows[rows.length - 1]!.id)
    return result
  }

  const get = (id: string): ActivityRecord | null => {
    const row = stmt(
      `SELECT ${PREFIXED_COLUMNS}, b.arguments, b.response FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid WHERE a.id = ?`,
    ).get(id) as (ActivityRow & BodyRow) | undefined
    return row ? fromRows(row, row) : null
  }

  const filterOptions = (field: FilterOptionField, filter: ActivityFilter = {}): FilterOptionInfo[] => {
    if (!(FILTER_OPTION_FIELDS as readonly string[]).includes(field)) {
      throw new CoreError('INVALID_PARAMETER', `field: must be one of ${FILTER_OPTION_FIELDS.join(', ')}`, { parameter: 'field' })
    }
    const where = buildWhere(filter)
    if (where.sql === '1') {
      return stmt(
        `SELECT value, n AS count FROM activity_count WHERE field = ? AND n > 0 ORDER BY n DESC, value LIMIT ${MAX_FILTER_OPTIONS}`,
      ).all(field) as FilterOptionInfo[]
    }
    // `field` is one of FILTER_OPTION_FIELDS, which are column names.
    return stmt(
      `SELECT ${field} AS value, count(*) AS count FROM activity WHERE ${where.sql} AND ${field} IS NOT NULL
       GROUP BY ${field} ORDER BY count DESC, value LIMIT ${MAX_FILTER_OPTIONS}`,
    ).all(...where.params) as FilterOptionInfo[]
  }

  /**
   * Nearest-rank percentiles of tool-call durations in an id range (`n` = how many are timed).
   * The durations are read as one column of numbers and sorted in a Float64Array: measured on a
   * 33,000-call day, that took a third of the time of sorting in SQL (ORDER BY duration_ms),
   * for 8 bytes per call of the period.
   */
  const percentiles = (n: number, ps: readonly number[], low: string, high: string): Array<number | null> => {
    if (n === 0) return ps.map(() => null)
    const durations = stmt(`SELECT duration_ms FROM activity WHERE type = 'tool_call' AND id >= ? AND id <= ? AND duration_ms IS NOT NULL`)
      .pluck()
      .all(low, high) as number[]
    return nearestRank(durations, ps)
  }

  /**
   * Record counts of [startMs, endMs] by type and status, and tool calls by server and tool: the
   * whole hours inside the period from the hourly rollups (activity-counts.ts), the partial hours
   * at its edges from the records.
   */
  const periodCounts = (startMs: number, endMs: number): { statuses: StatusCount[]; tools: ToolCount[] } => {
    const firstHour = Math.ceil(startMs / HOUR_MS)
    const endHour = Math.floor((endMs + 1) / HOUR_MS)
    const edges: Array<[number, number]> =
      firstHour < endHour
        ? [
            [startMs, firstHour * HOUR_MS - 1],
            [endHour * HOUR_MS, endMs],
          ]
        : [[startMs, endMs]]
    const statuses: StatusCount[] = []
    const tools: ToolCount[] = []
    for (const [from, to] of edges) {
      if (from > to) continue
      const [low, high] = rangeOf(from, to)
      statuses.push(
        ...(stmt(
          `SELECT type, status, count(*) AS n, count(duration_ms) AS timed FROM activity WHERE id >= ? AND id <= ? GROUP BY type, status`,
        ).all(low, high) as StatusCount[]),
      )
      tools.push(
        ...(stmt(
          `SELECT server_name, tool_name, count(*) AS n FROM activity
           WHERE type = 'tool_call' AND id >= ? AND id <= ? GROUP BY server_name, tool_name`,
        ).all(low, high) as ToolCount[]),
      )
    }
    if (firstHour < endHour) {
      statuses.push(
        ...(stmt(
          `SELECT type, status, sum(n) AS n, sum(timed) AS timed FROM activity_hourly_status
           WHERE hour >= ? AND hour < ? GROUP BY type, status`,
        ).all(firstHour, endHour) as StatusCount[]),
      )
      tools.push(
        ...(stmt(
          `SELECT CASE WHEN nulls & 1 THEN NULL ELSE server_name END AS server_name,
             CASE WHEN nulls & 2 THEN NULL ELSE tool_name END AS tool_name, sum(n) AS n
           FROM activity_hourly_tool WHERE hour >= ? AND hour < ? GROUP BY server_name, tool_name, nulls`,
        ).all(firstHour, endHour) as ToolCount[]),
      )
    }
    return { statuses, tools }
  }

  /** Tool calls per hour from the hourly rollups: one read of at most `hours` rollup rows per status. */
  const hourly = (hours: number, now: Date = new Date()): ActivityHourlyInfo => {
    if (!Number.isInteger(hours) || hours < 1 || hours > MAX_HOURLY_HOURS) {
      throw new CoreError('INVALID_PARAMETER', `hours: must be an integer from 1 to ${MAX_HOURLY_HOURS}`, { parameter: 'hours' })
    }
    const current = Math.floor(now.getTime() / HOUR_MS)
    const first = current - hours + 1
    const rows = stmt(
      `SELECT hour, sum(n) AS n FROM activity_hourly_status WHERE hour >= ? AND hour <= ? AND type = 'tool_call' GROUP BY hour`,
    ).all(first, current) as Array<{ hour: number; n: number }>
    const calls = new Map(rows.map((r) => [r.hour, r.n]))
    return { hours: Array.from({ length: hours }, (_, i) => ({ start: new Date((first + i) * HOUR_MS).toISOString(), calls: calls.get(first + i) ?? 0 })) }
  }

  const summary = (period: SummaryPeriod, now: Date = new Date()): ActivitySummaryInfo => {
    if (!(SUMMARY_PERIODS as readonly string[]).includes(period)) {
      throw new CoreError('INVALID_PARAMETER', `period: must be one of ${SUMMARY_PERIODS.join(', ')}`, { parameter: 'period' })
    }
    const endMs = now.getTime()
    const startMs = endMs - PERIOD_MS[period]
    const [low, high] = rangeOf(startMs, endMs)
    const counts = periodCounts(startMs, endMs)
    const byStatus = emptyByStatus()
    const typeCounts = new Map<ActivityType, number>()
    let total = 0
    let completedCalls = 0
    let failedCalls = 0
    let timed = 0
    for (const c of counts.statuses) {
      if (c.n === 0) continue
      total += c.n
      byStatus[c.status] += c.n
      typeCounts.set(c.type, (typeCounts.get(c.type) ?? 0) + c.n)
      if (c.type !== 'tool_call') continue
      if (c.status !== 'pending') completedCalls += c.n
      if (c.status === 'error' || c.status === 'timeout') failedCalls += c.n
      timed += c.timed
    }
    const byType: Partial<Record<ActivityType, number>> = {}
    for (const v of ACTIVITY_TYPES) if (typeCounts.has(v)) byType[v] = typeCounts.get(v)!
    const servers = new Map<string, number>()
    const byTool = new Map<string, { server: string; tool: string; count: number; order: string }>()
    for (const g of counts.tools) {
      if (g.n === 0) continue
      if (g.server_name !== null) servers.set(g.server_name, (servers.get(g.server_name) ?? 0) + g.n)
      if (g.tool_name === null) continue
      // a NULL server and the server '' stay apart (and in this order), as groups of a GROUP BY would
      const order = `${g.server_name === null ? '0' : '1'}${g.server_name ?? ''}`
      const key = `${order}\0${g.tool_name}`
      const t = byTool.get(key)
      if (t) t.count += g.n
      else byTool.set(key, { server: g.server_name ?? '', tool: g.tool_name, count: g.n, order })
    }
    const byCount = <T extends { count: number }>(a: T, b: T): number => b.count - a.count
    const [p50 = null, p95 = null] = percentiles(timed, [0.5, 0.95], low, high)
    return {
      period,
      start_time: new Date(startMs).toISOString(),
      end_time: new Date(endMs).toISOString(),
      total,
      by_status: byStatus,
      by_type: byType,
      top_servers: [...servers]
        .map(([name, c]) => ({ name, count: c }))
        .sort((a, b) => byCount(a, b) || a.name.localeCompare(b.name))
        .slice(0, 5),
      top_tools: [...byTool.values()]
        .sort((a, b) => byCount(a, b) || a.tool.localeCompare(b.tool) || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
        .slice(0, 5)
        .map(({ server, tool, count }) => ({ server, tool, count })),
      p50_duration_ms: p50,
      p95_duration_ms: p95,
      error_rate: completedCalls === 0 ? 0 : failedCalls / completedCalls,
    }
  }

  const metrics = (days: number, server?: string, now: Date = new Date()): ActivityMetricsInfo => {
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      throw new CoreError('INVALID_PARAMETER', 'days: must be an integer from 1 to 366', { parameter: 'days' })
    }
    const firstDay = Math.floor(now.getTime() / DAY_MS) - days + 1
    const [low, high] = rangeOf(firstDay * DAY_MS, now.getTime())
    const serverSql = server === undefined ? '' : ' AND server_name = ?'
    const serverParams = server === undefined ? [] : [server]
    // one pass over the period's tool calls (ts, server, status, duration), counted and sorted
    // here: a query per day and per server read the same rows a dozen times over
    const rows = stmt(
      `SELECT ts, server_name, status, duration_ms FROM activity WHERE type = 'tool_call' AND id >= ? AND id <= ?${serverSql}`,
    )
      .raw()
      .iterate(low, high, ...serverParams) as IterableIterator<[number, string | null, string, number | null]>
    type Group = { calls: number; errors: number; blocked: number; durations: number[] }
    const group = (): Group => ({ calls: 0, errors: 0, blocked: 0, durations: [] })
    const byDay = new Map<number, Group>()
    const byServer = new Map<string, Group>()
    const add = (g: Group, status: string, duration: number | null): void => {
      g.calls++
      if (status === 'error' || status === 'timeout') g.errors++
      else if (status === 'blocked') g.blocked++
      if (duration !== null) g.durations.push(duration)
    }
    for (const [ts, serverName, status, duration] of rows) {
      const day = Math.floor(ts / DAY_MS)
      let d = byDay.get(day)
      if (!d) byDay.set(day, (d = group()))
      add(d, status, duration)
      if (serverName !== null) {
        let g = byServer.get(serverName)
        if (!g) byServer.set(serverName, (g = group()))
        add(g, status, duration)
      }
    }
    const p95 = (durations: number[]): number | null => nearestRank(durations, [0.95])[0]!
    const series: MetricsDayInfo[] = []
    for (let day = firstDay; day < firstDay + days; day++) {
      const d = byDay.get(day)
      series.push({
        date: new Date(day * DAY_MS).toISOString().slice(0, 10),
        calls: d?.calls ?? 0,
        errors: d?.errors ?? 0,
        blocked: d?.blocked ?? 0,
        p95_duration_ms: d ? p95(d.durations) : null,
      })
    }
    const result: ActivityMetricsInfo = {
      days,
      series,
      per_server: [...byServer]
        .sort(([a, x], [b, y]) => y.calls - x.calls || (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, g]) => ({ server: name, calls: g.calls, errors: g.errors, blocked: g.blocked, p95_duration_ms: p95(g.durations) })),
    }
    if (server !== undefined) result.server = server
    return result
  }

  const since = (afterSeq: number, limit: number, except?: ReadonlySet<number>): AppendedBatch => {
    const n = Math.max(1, Math.min(limit, 10_000))
    if (!except?.size) {
      const rows = stmt(
        `SELECT ${PREFIXED_COLUMNS}, b.arguments, b.response FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid
         WHERE a.seq > ? ORDER BY a.seq LIMIT ?`,
      ).all(afterSeq, n) as Array<ActivityRow & BodyRow>
      return { records: rows.map((r) => fromRows(r, r)), lastSeq: rows.length ? rows[rows.length - 1]!.seq! : afterSeq }
    }
    // the seqs alone first (activity_by_seq holds them): a process tailing the log it writes
    // itself fetches only what others wrote
    const seqs = stmt('SELECT seq FROM activity WHERE seq > ? ORDER BY seq LIMIT ?').pluck().all(afterSeq, n) as number[]
    const wanted = seqs.filter((s) => !except.has(s))
    const rows = wanted.length
      ? (stmt(
          `SELECT ${PREFIXED_COLUMNS}, b.arguments, b.response FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid
           WHERE a.seq IN (SELECT value FROM json_each(?)) ORDER BY a.seq`,
        ).all(JSON.stringify(wanted)) as Array<ActivityRow & BodyRow>)
      : []
    return { records: rows.map((r) => fromRows(r, r)), lastSeq: seqs.length ? seqs[seqs.length - 1]! : afterSeq }
  }

  return {
    list,
    get,
    count,
    filterOptions,
    summary,
    metrics,
    hourly,
    since,
    lastSeq: () => readChainHead(db).seq,
  }
}
