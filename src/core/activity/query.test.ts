import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ActivityListQuerySchema, type ActivityFilter, type ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { subtractCounts } from './activity-counts'
import { appendRecords, finalizePending } from './append'
import { buildWhere } from './filter-sql'
import { createActivityQueries, encodeCursor, Q_EXACT_TOTAL } from './query'
import type { ActivityQueries } from './types'

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0)
const MIN = 60_000

let dir: string
let db: Db
let q: ActivityQueries
const ids: Record<string, string> = {}

function rec(name: string, at: number, fields: Partial<ActivityRecord>): ActivityRecord {
  const id = ulid(at)
  ids[name] = id
  return { id, timestamp: new Date(at).toISOString(), type: 'tool_call', status: 'success', ...fields }
}

/** Eight records over the five hours before T0 (oldest first). */
function seed(): void {
  appendRecords(db, [
    rec('r1', T0 - 300 * MIN, {
      server_name: 'github',
      tool_name: 'search_repos',
      session_id: 's1',
      intent: { operation_type: 'read' },
      arguments: { query: 'needle in haystack' },
      response: { text: 'found marmalade' },
      duration_ms: 10,
    }),
    rec('r2', T0 - 240 * MIN, {
      server_name: 'github',
      tool_name: 'create_issue',
      session_id: 's1',
      status: 'error',
      intent: { operation_type: 'write', reason: 'file the quarterly report' },
      error: 'rate limited by upstream',
      duration_ms: 200,
    }),
    rec('r3', T0 - 180 * MIN, {
      server_name: 'fs',
      tool_name: 'delete_file',
      session_id: 's2',
      status: 'blocked',
      intent: { operation_type: 'destructive' },
      detection_types: ['aws_access_key'],
    }),
    rec('r4', T0 - 180 * MIN + 1, { type: 'policy_decision', server_name: 'fs', tool_name: 'delete_file', status: 'blocked' }),
    rec('r5', T0 - 120 * MIN, { type: 'server_change', server_name: 'github' }),
    rec('r6', T0 - 61 * MIN, {
      server_name: 'fs',
      tool_name: 'read_file',
      session_id: 's2',
      status: 'timeout',
      duration_ms: 5000,
      pii_detected: ['email'],
    }),
    rec('r7', T0 - 30 * MIN, { server_name: 'fs', tool_name: 'read_file', session_id: 's3', duration_ms: 30 }),
    rec('r8', T0 - 10 * MIN, { server_name: 'fs', tool_name: 'read_file', session_id: 's3', status: 'pending' }),
  ])
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'query-'))
  db = openDb(join(dir, 'a.db'))
  q = createActivityQueries(db)
  seed()
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const names = (records: Array<{ id: string }>): string[] =>
  records.map((r) => Object.keys(ids).find((k) => ids[k] === r.id) ?? r.id)
const listNames = (filter: ActivityFilter, limit = 100): string[] => names(q.list(filter, { limit, offset: 0 }).activities)
const iso = (ms: number): string => new Date(ms).toISOString()

/** Counts with a plain COUNT(*) over the filter, bypassing activity_count. */
function scanCount(filter: ActivityFilter): number {
  const w = buildWhere(filter)
  return (db.prepare(`SELECT count(*) AS n FROM activity WHERE ${w.sql}`).get(...w.params) as { n: number }).n
}

describe('list', () => {
  it('returns every record newest first without bodies, with the total', () => {
    const page = q.list({}, { limit: 50, offset: 0 })
    expect(names(page.activities)).toEqual(['r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1'])
    expect(page.total).toBe(8)
    expect(page.next_cursor).toBeUndefined()
    expect(page.activities[7]).not.toHaveProperty('arguments')
    expect(page.activities[7]).not.toHaveProperty('response')
    expect(page.activities[7]).toMatchObject({ server_name: 'github', intent: { operation_type: 'read' }, duration_ms: 10 })
  })

  it('applies each filter alone', () => {
    expect(listNames({ type: ['policy_decision'] })).toEqual(['r4'])
    expect(listNames({ type: ['policy_decision', 'server_change'] })).toEqual(['r5', 'r4'])
    expect(listNames({ server: 'github' })).toEqual(['r5', 'r2', 'r1'])
    expect(listNames({ tool: 'read_file' })).toEqual(['r8', 'r7', 'r6'])
    expect(listNames({ session_id: 's2' })).toEqual(['r6', 'r3'])
    expect(listNames({ status: ['blocked'] })).toEqual(['r4', 'r3'])
    expect(listNames({ status: ['error', 'timeout'] })).toEqual(['r6', 'r2'])
    expect(listNames({ start_time: iso(T0 - 61 * MIN) })).toEqual(['r8', 'r7', 'r6'])
    expect(listNames({ end_time: iso(T0 - 240 * MIN) })).toEqual(['r2', 'r1'])
    expect(listNames({ start_time: iso(T0 - 180 * MIN + 1), end_time: iso(T0 - 120 * MIN) })).toEqual(['r5', 'r4'])
    expect(listNames({ intent_type: 'write' })).toEqual(['r2'])
    expect(listNames({ sensitive: true })).toEqual(['r6', 'r3'])
    expect(listNames({ sensitive: false })).toEqual(['r8', 'r7', 'r5', 'r4', 'r2', 'r1'])
  })

  it('combines filters with AND', () => {
    expect(listNames({ server: 'fs', status: ['blocked'], type: ['tool_call'] })).toEqual(['r3'])
    expect(listNames({ tool: 'read_file', start_time: iso(T0 - 60 * MIN) })).toEqual(['r8', 'r7'])
    expect(listNames({ session_id: 's1', q: 'quarterly' })).toEqual(['r2'])
    expect(listNames({ server: 'github', intent_type: 'destructive' })).toEqual([])
  })

  it('searches tool names, arguments, responses, errors and intent reasons with q', () => {
    expect(listNames({ q: 'search_repos' })).toEqual(['r1'])
    expect(listNames({ q: 'haystack' })).toEqual(['r1'])
    expect(listNames({ q: 'marmalade' })).toEqual(['r1'])
    expect(listNames({ q: 'marma' })).toEqual(['r1'])
    expect(listNames({ q: 'rate limited' })).toEqual(['r2'])
    expect(listNames({ q: 'quarterly report' })).toEqual(['r2'])
    expect(listNames({ q: 'needle marmalade' })).toEqual(['r1'])
    expect(listNames({ q: 'needle quarterly' })).toEqual([])
  })

  it('gives the same q results whether it collects the matches or probes them row by row', () => {
    // limit 100: 5 matches of 8 are collected and sorted; limit 2: so many matches that walking
    // activity_by_id and probing the full-text index per row is chosen.
    const all = listNames({ q: 'fs' })
    expect(all).toEqual(['r8', 'r7', 'r6', 'r4', 'r3'])
    const first = q.list({ q: 'fs' }, { limit: 2, offset: 0 })
    const second = q.list({ q: 'fs' }, { limit: 2, offset: 0, cursor: first.next_cursor })
    const third = q.list({ q: 'fs' }, { limit: 2, offset: 0, cursor: second.next_cursor })
    expect([first, second, third].flatMap((p) => names(p.activities))).toEqual(all)
    expect(first.total).toBe(5)
  })

  it('treats FTS syntax in q as plain words and rejects q with nothing searchable', () => {
    expect(listNames({ q: 'needle) OR (*"NEAR' })).toEqual([])
    expect(listNames({ q: '"haystack" AND' })).toEqual([])
    expect(listNames({ q: '"haystack" :' })).toEqual(['r1'])
    expect(() => q.list({ q: '*()"' }, { limit: 10, offset: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER', message: expect.stringMatching(/^q:/) }),
    )
  })

  it('pages with a cursor that stays stable while newer records arrive', () => {
    const first = q.list({}, { limit: 3, offset: 0 })
    expect(names(first.activities)).toEqual(['r8', 'r7', 'r6'])
    appendRecords(db, [rec('n1', T0 + MIN, { server_name: 'fs' }), rec('n2', T0 + 2 * MIN, { server_name: 'fs' })])
    const second = q.list({}, { limit: 3, offset: 0, cursor: first.next_cursor })
    expect(names(second.activities)).toEqual(['r5', 'r4', 'r3'])
    expect(second.total).toBe(10)
    const third = q.list({}, { limit: 3, offset: 0, cursor: second.next_cursor })
    expect(names(third.activities)).toEqual(['r2', 'r1'])
    expect(third.next_cursor).toBeUndefined()
    const filtered = q.list({ server: 'fs' }, { limit: 2, offset: 0 })
    expect(names(filtered.activities)).toEqual(['n2', 'n1'])
    expect(names(q.list({ server: 'fs' }, { limit: 2, offset: 0, cursor: filtered.next_cursor }).activities)).toEqual(['r8', 'r7'])
  })

  it('pages with offset too', () => {
    const page = q.list({}, { limit: 3, offset: 6 })
    expect(names(page.activities)).toEqual(['r2', 'r1'])
    expect(page).toMatchObject({ total: 8, limit: 3, offset: 6 })
  })

  it('rejects bad limits, offsets and cursors naming the parameter', () => {
    const bad = (parameter: string) => expect.objectContaining({ code: 'INVALID_PARAMETER', details: { parameter } })
    expect(() => q.list({}, { limit: 0, offset: 0 })).toThrow(bad('limit'))
    expect(() => q.list({}, { limit: 101, offset: 0 })).toThrow(bad('limit'))
    expect(() => q.list({}, { limit: 10, offset: -1 })).toThrow(bad('offset'))
    expect(() => q.list({}, { limit: 10, offset: 0, cursor: 'bm90LWEtY3Vyc29y' })).toThrow(bad('cursor'))
    expect(() => q.list({ start_time: 'yesterday' }, { limit: 10, offset: 0 })).toThrow(bad('start_time'))
    expect(encodeCursor(ids.r1!)).not.toContain(ids.r1!)
  })
})

describe('list under q: the newest-first walk of the matches', () => {
  /** `n` records a minute apart from T0 + start minutes, every third one matching "walnut". */
  const batch = (start: number, n: number, server = (i: number): string => (i % 2 ? 'odd' : 'even')): ActivityRecord[] =>
    Array.from({ length: n }, (_, k) => {
      const i = start + k
      return rec(`w${i}`, T0 + i * MIN, { server_name: server(i), tool_name: 't', arguments: { note: i % 3 ? 'plain' : `walnut ${i}` } })
    })
  /** What list must return: every match by id newest first, by a plain scan of the rows. */
  const expected = (filter: ActivityFilter, limit: number, offset = 0): string[] => {
    const w = buildWhere(filter)
    return db.prepare(`SELECT id FROM activity WHERE ${w.sql} ORDER BY id DESC LIMIT ? OFFSET ?`).pluck().all(...w.params, limit, offset) as string[]
  }
  const listed = (filter: ActivityFilter, limit: number, offset = 0): string[] =>
    q.list(filter, { limit, offset }).activities.map((r) => r.id)

  it('is exact when older records were written after newer ones (rid order is not id order)', () => {
    appendRecords(db, batch(1000, 300))
    // an import of older records, and a few newer than some of the first batch, written last
    appendRecords(db, [...batch(10, 300), ...batch(1290, 6).map((r, k) => ({ ...r, id: ulid(T0 + (1290 + k) * MIN + 30_000), timestamp: new Date(T0 + (1290 + k) * MIN + 30_000).toISOString() }))])
    for (const [limit, offset] of [[5, 0], [50, 0], [100, 3], [100, 150]] as const) {
      expect(listed({ q: 'walnut' }, limit, offset)).toEqual(expected({ q: 'walnut' }, limit, offset))
      expect(listed({ q: 'walnut', server: 'odd' }, limit, offset)).toEqual(expected({ q: 'walnut', server: 'odd' }, limit, offset))
    }
    expect(q.list({ q: 'walnut' }, { limit: 10, offset: 0 })).toMatchObject({ total: q.count({ q: 'walnut' }) })
    expect(q.list({ q: 'walnut' }, { limit: 10, offset: 0 }).total_estimated).toBeUndefined()
  })

  it('pages on by cursor after the first page without losing or repeating a record', () => {
    appendRecords(db, batch(1000, 200))
    appendRecords(db, batch(10, 200))
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = q.list({ q: 'walnut' }, { limit: 40, offset: 0, cursor })
      seen.push(...page.activities.map((r) => r.id))
      cursor = page.next_cursor
    } while (cursor)
    expect(seen).toEqual(expected({ q: 'walnut' }, 1000))
  })

  it(`counts up to ${Q_EXACT_TOTAL} matches exactly and estimates beyond, saying so`, () => {
    const n = Q_EXACT_TOTAL * 3 + 300
    for (let start = 0; start < n; start += 5000) appendRecords(db, batch(start, Math.min(5000, n - start)))
    const exact = q.count({ q: 'walnut' })
    expect(exact).toBeGreaterThan(Q_EXACT_TOTAL)
    const page = q.list({ q: 'walnut' }, { limit: 50, offset: 0 })
    expect(page.activities.map((r) => r.id)).toEqual(expected({ q: 'walnut' }, 50))
    expect(page.total_estimated).toBe(true)
    expect(Math.abs(page.total - exact) / exact).toBeLessThan(0.05)
    // other conditions beside q: exact again
    expect(q.list({ q: 'walnut', server: 'odd' }, { limit: 50, offset: 0 })).toMatchObject({ total: q.count({ q: 'walnut', server: 'odd' }) })
    expect(q.list({ q: 'walnut 3' }, { limit: 50, offset: 0 }).total_estimated).toBeUndefined()
  })
})

describe('ActivityListQuerySchema', () => {
  const issuePaths = (input: unknown): string[] => {
    const r = ActivityListQuerySchema.safeParse(input)
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'))
  }
  it('rejects limit 0 and 101, an unknown status and a non-RFC-3339 start_time, naming each', () => {
    expect(issuePaths({ limit: '0' })).toEqual(['limit'])
    expect(issuePaths({ limit: '101' })).toEqual(['limit'])
    expect(issuePaths({ status: 'bogus' })[0]).toMatch(/^status/)
    expect(issuePaths({ start_time: 'yesterday' })).toEqual(['start_time'])
    expect(ActivityListQuerySchema.parse({ status: 'error,timeout', limit: '20' })).toMatchObject({
      status: ['error', 'timeout'],
      limit: 20,
      offset: 0,
    })
  })
})

describe('count', () => {
  const filters: ActivityFilter[] = [
    {},
    { type: ['tool_call'] },
    { type: ['tool_call', 'policy_decision'] },
    { status: ['blocked', 'pending'] },
    { server: 'fs' },
    { tool: 'read_file' },
    { session_id: 's3' },
    { intent_type: 'read' },
    { sensitive: true },
    { sensitive: false },
    { server: 'fs', type: ['tool_call'] },
    { q: 'needle' },
    { start_time: iso(T0 - 100 * MIN) },
  ]

  it('equals a full COUNT(*) for every filter, also after completions and deletions', () => {
    for (const f of filters) expect(q.count(f), JSON.stringify(f)).toBe(scanCount(f))
    finalizePending(db, ids.r8!, { status: 'error', duration_ms: 7 })
    subtractCounts(db, 'id IN (?, ?)', ids.r3!, ids.r5!)
    db.prepare('DELETE FROM activity WHERE id IN (?, ?)').run(ids.r3!, ids.r5!)
    for (const f of filters) expect(q.count(f), JSON.stringify(f)).toBe(scanCount(f))
    expect(q.count({})).toBe(6)
    expect(q.count({ status: ['pending'] })).toBe(0)
    expect(q.count({ status: ['error'] })).toBe(2)
  })
})

describe('get', () => {
  it('returns the full record with bodies, or null', () => {
    const r = q.get(ids.r1!)
    expect(r).toMatchObject({
      id: ids.r1,
      arguments: { query: 'needle in haystack' },
      response: { text: 'found marmalade' },
      prev_hash: '0'.repeat(64),
    })
    expect(r?.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(q.get('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBeNull()
  })
})

describe('filterOptions', () => {
  it('lists distinct values with counts, most frequent first', () => {
    expect(q.filterOptions('server_name')).toEqual([
      { value: 'fs', count: 5 },
      { value: 'github', count: 3 },
    ])
    expect(q.filterOptions('status')).toEqual([
      { value: 'success', count: 3 },
      { value: 'blocked', count: 2 },
      { value: 'error', count: 1 },
      { value: 'pending', count: 1 },
      { value: 'timeout', count: 1 },
    ])
    expect(q.filterOptions('type').map((o) => o.value)).toEqual(['tool_call', 'policy_decision', 'server_change'])
    expect(q.filterOptions('session_id')).toEqual([
      { value: 's1', count: 2 },
      { value: 's2', count: 2 },
      { value: 's3', count: 2 },
    ])
  })

  it('honours a filter', () => {
    expect(q.filterOptions('tool_name', { server: 'fs', type: ['tool_call'] })).toEqual([
      { value: 'read_file', count: 3 },
      { value: 'delete_file', count: 1 },
    ])
  })

  it('drops values whose records were all deleted and rejects unknown fields', () => {
    subtractCounts(db, 'server_name = ?', 'github')
    db.prepare('DELETE FROM activity WHERE server_name = ?').run('github')
    expect(q.filterOptions('server_name')).toEqual([{ value: 'fs', count: 5 }])
    expect(() => q.filterOptions('error' as never)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }))
  })
})

describe('summary', () => {
  it('totals the last 24 hours', () => {
    const s = q.summary('24h', new Date(T0))
    expect(s).toEqual({
      period: '24h',
      start_time: iso(T0 - 24 * 60 * MIN),
      end_time: iso(T0),
      total: 8,
      by_status: { success: 3, error: 1, blocked: 2, timeout: 1, pending: 1 },
      by_type: { tool_call: 6, policy_decision: 1, server_change: 1 },
      top_servers: [
        { name: 'fs', count: 4 },
        { name: 'github', count: 2 },
      ],
      top_tools: [
        { server: 'fs', tool: 'read_file', count: 3 },
        { server: 'github', tool: 'create_issue', count: 1 },
        { server: 'fs', tool: 'delete_file', count: 1 },
        { server: 'github', tool: 'search_repos', count: 1 },
      ],
      p50_duration_ms: 30,
      p95_duration_ms: 5000,
      error_rate: 0.4,
    })
  })

  it('covers only the period', () => {
    const s = q.summary('1h', new Date(T0))
    expect(s.total).toBe(2)
    expect(s.by_status).toMatchObject({ success: 1, pending: 1, timeout: 0 })
    expect(s.p50_duration_ms).toBe(30)
    expect(s.error_rate).toBe(0)
    expect(q.summary('1h', new Date(T0 - 24 * 60 * MIN))).toMatchObject({ total: 0, p95_duration_ms: null, top_tools: [] })
  })
})

describe('summary from the hourly rollups', () => {
  /** The summary computed from every record of the period, as the rollups must give it. */
  function reference(startMs: number, endMs: number): Record<string, unknown> {
    const rows = db
      .prepare('SELECT type, status, server_name, tool_name, duration_ms FROM activity WHERE ts >= ? AND ts <= ? ORDER BY server_name, tool_name')
      .all(startMs, endMs) as Array<{ type: string; status: string; server_name: string | null; tool_name: string | null; duration_ms: number | null }>
    const calls = rows.filter((r) => r.type === 'tool_call')
    const byStatus: Record<string, number> = { success: 0, error: 0, blocked: 0, timeout: 0, pending: 0 }
    const byType: Record<string, number> = {}
    for (const r of rows) {
      byStatus[r.status]!++
      byType[r.type] = (byType[r.type] ?? 0) + 1
    }
    const servers = new Map<string, number>()
    const tools = new Map<string, { server: string; tool: string; count: number }>()
    for (const c of calls) {
      if (c.server_name !== null) servers.set(c.server_name, (servers.get(c.server_name) ?? 0) + 1)
      if (c.tool_name === null) continue
      const key = `${c.server_name === null}${c.server_name}/${c.tool_name}`
      tools.set(key, { server: c.server_name ?? '', tool: c.tool_name, count: (tools.get(key)?.count ?? 0) + 1 })
    }
    const durations = calls.flatMap((c) => (c.duration_ms === null ? [] : [c.duration_ms])).sort((a, b) => a - b)
    const rank = (p: number): number | null => (durations.length ? durations[Math.max(0, Math.ceil(durations.length * p) - 1)]! : null)
    const completed = calls.filter((c) => c.status !== 'pending').length
    return {
      total: rows.length,
      by_status: byStatus,
      by_type: byType,
      top_servers: [...servers].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)).slice(0, 5),
      top_tools: [...tools.values()].sort((a, b) => b.count - a.count || a.tool.localeCompare(b.tool)).slice(0, 5),
      p50_duration_ms: rank(0.5),
      p95_duration_ms: rank(0.95),
      error_rate: completed ? calls.filter((c) => c.status === 'error' || c.status === 'timeout').length / completed : 0,
    }
  }

  it('gives what the records of the period give, whole hours or not, after completions and deletions', () => {
    const HOUR = 60 * MIN
    const statuses = ['success', 'error', 'timeout', 'blocked', 'pending'] as const
    const records = Array.from({ length: 600 }, (_, i) =>
      rec(`h${i}`, T0 - 40 * HOUR + i * 7 * MIN + (i % 13) * 1000, {
        type: i % 9 ? 'tool_call' : 'policy_decision',
        status: statuses[i % 5],
        server_name: i % 17 === 0 ? undefined : i % 23 === 0 ? '' : `srv${i % 4}`,
        tool_name: i % 19 === 0 ? undefined : `tool${i % 7}`,
        duration_ms: i % 3 ? (i * 37) % 1000 : undefined,
      }),
    )
    appendRecords(db, records)
    finalizePending(db, ids['h4']!, { status: 'error', duration_ms: 5 })
    db.transaction(() => {
      subtractCounts(db, "id IN (SELECT id FROM activity WHERE server_name = 'srv2' AND tool_name = 'tool3')")
      db.prepare("DELETE FROM activity WHERE server_name = 'srv2' AND tool_name = 'tool3'").run()
    })()
    const ends = [T0, T0 + 1, T0 - 1, T0 - 90 * MIN - 12_345, T0 - 17 * HOUR + 1, T0 + 30 * HOUR]
    for (const end of ends) {
      for (const [period, ms] of [['1h', HOUR], ['24h', 24 * HOUR], ['7d', 7 * 24 * HOUR]] as const) {
        const s = q.summary(period, new Date(end))
        expect(s, `${period} to ${iso(end)}`).toMatchObject(reference(end - ms, end))
      }
    }
  })
})

describe('hourly', () => {
  it('counts the tool calls of each clock hour as the records give them, after a completion, with empty hours as 0', () => {
    const HOUR = 60 * MIN
    const records = Array.from({ length: 300 }, (_, i) =>
      rec(`hr${i}`, T0 - 30 * HOUR + i * 11 * MIN + (i % 7) * 1000, { type: i % 6 ? 'tool_call' : 'config_change', status: i % 5 ? 'success' : 'pending' }),
    )
    appendRecords(db, records)
    finalizePending(db, ids['hr5']!, { status: 'error', duration_ms: 5 })
    const now = new Date(T0 + 25 * MIN)
    const { hours } = q.hourly(24, now)
    expect(hours).toHaveLength(24)
    expect(hours[23]!.start).toBe(new Date(T0).toISOString())
    for (const h of hours) {
      const start = Date.parse(h.start)
      const n = (db.prepare("SELECT count(*) AS n FROM activity WHERE type = 'tool_call' AND ts >= ? AND ts < ?").get(start, start + HOUR) as { n: number }).n
      expect(h.calls, h.start).toBe(n)
    }
    expect(hours.some((h) => h.calls > 0)).toBe(true)
    // hours after the last record are there, empty
    expect(q.hourly(3, new Date(T0 + 30 * HOUR)).hours.map((h) => h.calls)).toEqual([0, 0, 0])
  })

  it('refuses hours outside 1..168 naming the parameter', () => {
    for (const bad of [0, 169, 1.5]) expect(() => q.hourly(bad)).toThrow(/hours: must be an integer from 1 to 168/)
  })
})

describe('metrics', () => {
  it('gives a per-day UTC series and per-server totals of tool calls', () => {
    const m = q.metrics(2, undefined, new Date(T0))
    expect(m.series).toEqual([
      { date: '2026-01-09', calls: 0, errors: 0, blocked: 0, p95_duration_ms: null },
      { date: '2026-01-10', calls: 6, errors: 2, blocked: 1, p95_duration_ms: 5000 },
    ])
    expect(m.per_server).toEqual([
      { server: 'fs', calls: 4, errors: 1, blocked: 1, p95_duration_ms: 5000 },
      { server: 'github', calls: 2, errors: 1, blocked: 0, p95_duration_ms: 200 },
    ])
    const gh = q.metrics(1, 'github', new Date(T0))
    expect(gh).toMatchObject({ days: 1, server: 'github', series: [{ calls: 2, errors: 1, p95_duration_ms: 200 }] })
    expect(() => q.metrics(0)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }))
  })
})

describe('since and lastSeq', () => {
  it('returns chained records after a seq, in seq order, with bodies', () => {
    expect(q.lastSeq()).toBe(7)
    const all = q.since(0, 100)
    expect(names(all.records)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'])
    expect(all.lastSeq).toBe(7)
    expect(all.records[0]).toMatchObject({ arguments: { query: 'needle in haystack' } })
    expect(names(q.since(5, 1).records)).toEqual(['r6'])
    finalizePending(db, ids.r8!, { status: 'success' })
    expect(q.since(7, 10)).toMatchObject({ lastSeq: 8, records: [{ id: ids.r8, status: 'success' }] })
    expect(q.since(8, 10)).toEqual({ records: [], lastSeq: 8 })
  })

  it('skips the seqs the caller has without reading them, and still reports how far it read', () => {
    const some = q.since(0, 100, new Set([2, 4, 7]))
    expect(names(some.records)).toEqual(['r1', 'r3', 'r5', 'r6'])
    expect(some.lastSeq).toBe(7)
    expect(some.records[0]).toMatchObject({ arguments: { query: 'needle in haystack' } })
    expect(q.since(0, 2, new Set([1, 2]))).toEqual({ records: [], lastSeq: 2 })
    expect(q.since(7, 10, new Set([1]))).toEqual({ records: [], lastSeq: 7 })
  })
})
