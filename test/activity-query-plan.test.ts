/**
 * EXPLAIN QUERY PLAN for every hot activity query, as the query service really issues it: the
 * database handle is wrapped so that each statement run is captured with its values, then
 * explained. Every plan must use the intended named index and never scan `activity` without one.
 */
import type Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../src/shared/activity'
import { appendRecords } from '../src/core/activity/append'
import { exportActivity } from '../src/core/activity/export'
import { createActivityQueries, encodeCursor } from '../src/core/activity/query'
import type { ActivityQueries } from '../src/core/activity/types'
import { openDb, type Db } from '../src/core/store/db'

const T0 = Date.UTC(2026, 4, 1)
const iso = (ms: number): string => new Date(ms).toISOString()

let dir: string
let db: Db
let queries: ActivityQueries
const captured: Array<{ sql: string; args: unknown[] }> = []

/** A handle whose statements record the SQL and values they run with. */
function capturing(target: Db): Db {
  const wrapStatement = (sql: string, st: Database.Statement): Database.Statement => {
    const wrapped: Database.Statement = new Proxy(st, {
      get(s, key) {
        const value = Reflect.get(s, key) as unknown
        if (typeof value !== 'function') return value
        if (key === 'all' || key === 'get' || key === 'iterate') {
          return (...args: unknown[]) => {
            captured.push({ sql, args })
            return (value as (...a: unknown[]) => unknown).apply(s, args)
          }
        }
        // pluck() and raw() return the statement itself: keep capturing through them
        return (...args: unknown[]) => {
          const out = (value as (...a: unknown[]) => unknown).apply(s, args)
          return out === s ? proxy : out
        }
      },
    })
    const proxy = wrapped
    return proxy
  }
  return new Proxy(target, {
    get(t, key) {
      if (key === 'prepare') return (sql: string) => wrapStatement(sql, t.prepare(sql))
      const value = Reflect.get(t, key) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value
    },
  })
}

/** The plan lines of every activity statement `run` issues (activity_count lookups included). */
function plansOf(run: () => unknown): Array<{ sql: string; plan: string[] }> {
  captured.length = 0
  run()
  return captured.map(({ sql, args }) => ({
    sql,
    plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail),
  }))
}

const FULL_SCAN = /^SCAN (activity|a)$/

function expectPlan(run: () => unknown, expected: { main: RegExp; sorted?: boolean }): void {
  const plans = plansOf(run)
  expect(plans.length).toBeGreaterThan(0)
  for (const p of plans) {
    for (const line of p.plan) expect(line, `${p.sql}\n${p.plan.join('\n')}`).not.toMatch(FULL_SCAN)
  }
  const main = plans.find((p) => p.plan.some((l) => expected.main.test(l)))
  expect(main, plans.map((p) => `${p.sql}\n  ${p.plan.join('\n  ')}`).join('\n')).toBeDefined()
  if (expected.sorted === false) expect(main!.plan.join('\n')).not.toContain('TEMP B-TREE FOR ORDER BY')
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plan-'))
  db = openDb(join(dir, 'a.db'))
  const records: ActivityRecord[] = Array.from({ length: 2000 }, (_, i) => ({
    id: ulid(T0 + i * 60_000),
    timestamp: iso(T0 + i * 60_000),
    type: i % 5 ? 'tool_call' : 'policy_decision',
    status: (['success', 'error', 'blocked', 'success'] as const)[i % 4]!,
    server_name: 'server-' + (i % 20),
    tool_name: 'tool_' + (i % 200),
    session_id: 'session-' + (i % 30),
    intent: i % 3 ? { operation_type: 'read', reason: 'look at file ' + i } : undefined,
    detection_types: i % 40 ? undefined : ['jwt'],
    duration_ms: i % 300,
    arguments: { path: `/home/u/file-${i}.txt` },
    response: { content: [{ type: 'text', text: `contents of file ${i}` }] },
  }))
  appendRecords(db, records)
  queries = createActivityQueries(capturing(db))
})
afterAll(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const page = { limit: 50, offset: 0 }

describe('query plans of the first list page', () => {
  it('unfiltered: activity_by_id newest first, no sort', () => {
    expectPlan(() => queries.list({}, page), { main: /^SCAN activity USING INDEX activity_by_id$/, sorted: false })
  })
  it.each([
    ['type', { type: ['policy_decision' as const] }, /activity_by_type \(type=\?\)/],
    ['status', { status: ['error' as const] }, /activity_by_status \(status=\?\)/],
    ['server', { server: 'server-3' }, /activity_by_server \(server_name=\?\)/],
    ['tool', { tool: 'tool_7' }, /activity_by_tool \(tool_name=\?\)/],
    ['session', { session_id: 'session-4' }, /activity_by_session \(session_id=\?\)/],
    ['intent', { intent_type: 'read' as const }, /activity_by_intent \(intent_type=\?\)/],
    ['sensitive', { sensitive: true }, /activity_sensitive/],
    ['time range', { start_time: iso(T0 + 3_600_000), end_time: iso(T0 + 7_200_000) }, /activity_by_id \(id>\? AND id<\?\)/],
    ['server with a cursor', { server: 'server-3' }, /activity_by_server \(server_name=\? AND id<\?\)/],
  ])('%s: its (column, id) index, no sort', (label, filter, index) => {
    const cursor = label.includes('cursor') ? encodeCursor(ulid(T0 + 1_000 * 60_000)) : undefined
    expectPlan(() => queries.list(filter, { ...page, cursor }), { main: index, sorted: false })
  })
  it('several statuses matching many records: activity_by_id newest first, no sort', () => {
    expectPlan(() => queries.list({ status: ['success', 'error'] }, page), {
      main: /^SCAN activity USING INDEX activity_by_id$/,
      sorted: false,
    })
  })
  /** Statements of a q list: the newest-first walk of activity_fts, then rows by rid only. */
  const expectQWalk = (filter: { q: string; server?: string }): string[] => {
    const plans = plansOf(() => queries.list(filter, page))
    const all = plans.flatMap((p) => p.plan)
    const walks = plans.filter((p) => p.sql.startsWith('SELECT rowid FROM activity_fts WHERE activity_fts MATCH ? ORDER BY rowid DESC'))
    expect(walks.length, plans.map((p) => p.sql).join('\n')).toBeGreaterThan(0)
    // the full-text index hands out rowids newest first itself: no sort of all the matches
    for (const walk of walks) {
      expect(walk.plan).toHaveLength(1)
      expect(walk.plan[0]).toMatch(/^SCAN activity_fts VIRTUAL TABLE INDEX \d+:M/)
    }
    for (const p of plans.filter((x) => x.sql.includes('json_each'))) {
      expect(p.plan[0], p.sql).toBe('SEARCH activity USING INTEGER PRIMARY KEY (rowid=?)')
    }
    expect(all.filter((l) => FULL_SCAN.test(l))).toEqual([])
    return plans.map((p) => p.sql)
  }
  it('q matching many records: one newest-first walk of the full-text index, rows by rid', () => {
    const sqls = expectQWalk({ q: 'contents' })
    // the total is counted only up to a bound, never over every match
    const counts = sqls.filter((s) => s.includes('FROM activity_fts') && s.includes('count('))
    for (const s of counts) expect(s).toMatch(/ORDER BY rowid DESC LIMIT \?\)$/)
  })
  it('q matching few records: the same walk reaches the end of the matches', () => {
    expectQWalk({ q: 'tool_17' })
  })
  it('q with another filter: the walk checks the other conditions by rid, not through their index', () => {
    expectQWalk({ q: 'contents', server: 'server-3' })
  })
  it('q below the first pages (a cursor): activity_by_id newest first, probing the matches collected once', () => {
    const plan = plansOf(() => queries.list({ q: 'contents' }, { ...page, cursor: encodeCursor(ulid(T0 + 1_000 * 60_000)) })).flatMap(
      (p) => p.plan,
    )
    expect(plan).toContain('SEARCH activity USING INDEX activity_by_id (id<?)')
    expect(plan).toContain('LIST SUBQUERY 1')
    expect(plan.join('\n')).not.toContain('TEMP B-TREE FOR ORDER BY')
  })
})

describe('query plans of counts, filter-options, summary, get and since', () => {
  it.each([
    ['unfiltered', {}],
    ['type', { type: ['tool_call' as const] }],
    ['status', { status: ['error' as const, 'blocked' as const] }],
    ['server', { server: 'server-1' }],
    ['tool', { tool: 'tool_1' }],
    ['session', { session_id: 'session-1' }],
    ['intent', { intent_type: 'read' as const }],
    ['sensitive', { sensitive: true }],
  ])('count %s: the activity_count primary key', (_label, filter) => {
    expectPlan(() => queries.count(filter), { main: /^SEARCH activity_count USING PRIMARY KEY \(field=\? AND value=\?\)$/ })
  })
  it('count of a time range: the covering activity_by_id index', () => {
    expectPlan(() => queries.count({ start_time: iso(T0), end_time: iso(T0 + 3_600_000) }), {
      main: /^SEARCH activity USING COVERING INDEX activity_by_id \(id>\? AND id<\?\)$/,
    })
  })
  it('count of combined filters: one of their indexes', () => {
    expectPlan(() => queries.count({ server: 'server-1', status: ['error'] }), { main: /activity_by_(server|status)/ })
  })
  it('count of q: the full-text index alone', () => {
    expectPlan(() => queries.count({ q: 'contents' }), { main: /^SCAN activity_fts VIRTUAL TABLE/ })
  })
  it.each(['server_name', 'tool_name', 'status', 'type', 'session_id'] as const)('filter-options %s: activity_count', (field) => {
    expectPlan(() => queries.filterOptions(field), { main: /^SEARCH activity_count USING PRIMARY KEY \(field=\?\)$/ })
  })
  it('filter-options under a filter: the filter index', () => {
    expectPlan(() => queries.filterOptions('tool_name', { server: 'server-2' }), { main: /activity_by_server \(server_name=\?\)/ })
  })
  it('24h summary: the hourly rollups by their primary key, the edge hours and durations by id range', () => {
    const plans = plansOf(() => queries.summary('24h', new Date(T0 + 2000 * 60_000 + 123))).flatMap((p) => p.plan)
    expect(plans).toContain('SEARCH activity_hourly_status USING PRIMARY KEY (hour>? AND hour<?)')
    expect(plans).toContain('SEARCH activity_hourly_tool USING PRIMARY KEY (hour>? AND hour<?)')
    expect(plans).toContain('SEARCH activity USING INDEX activity_by_id (id>? AND id<?)')
    expect(plans).toContain('SEARCH activity USING INDEX activity_by_type (type=? AND id>? AND id<?)')
    expect(plans.filter((l) => FULL_SCAN.test(l) || /^SCAN activity_hourly/.test(l))).toEqual([])
  })
  it('hourly: the hourly rollups by their primary key', () => {
    const plans = plansOf(() => queries.hourly(24, new Date(T0 + 2000 * 60_000))).flatMap((p) => p.plan)
    expect(plans).toEqual(['SEARCH activity_hourly_status USING PRIMARY KEY (hour>? AND hour<?)'])
  })
  it('metrics: id-range index scans only', () => {
    expectPlan(() => queries.metrics(7, undefined, new Date(T0 + 2000 * 60_000)), {
      main: /activity_by_type \(type=\? AND id>\? AND id<\?\)/,
    })
  })
  it('get by id: activity_by_id, then the body by rid', () => {
    const plan = plansOf(() => queries.get(ulid(T0))).flatMap((p) => p.plan)
    expect(plan).toEqual(['SEARCH a USING INDEX activity_by_id (id=?)', 'SEARCH b USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN'])
  })
  it('since: activity_by_seq', () => {
    expectPlan(() => queries.since(100, 50), { main: /^SEARCH a USING INDEX activity_by_seq \(seq>\?\)$/, sorted: false })
  })
  it('since, skipping seqs the caller has: the seqs from activity_by_seq alone, then the others by seq', () => {
    const plans = plansOf(() => queries.since(100, 50, new Set([101, 102, 103])))
    expect(plans[0]!.plan).toEqual(['SEARCH activity USING COVERING INDEX activity_by_seq (seq>?)'])
    expect(plans[1]!.plan[0]).toMatch(/^SEARCH a USING INDEX activity_by_seq \(seq=\?\)$/)
    for (const p of plans) for (const line of p.plan) expect(line).not.toMatch(FULL_SCAN)
  })
  it('export chunks under q: activity_by_id from the last id, probing the matches collected once', async () => {
    const plans: string[] = []
    const chunks = exportActivity(capturing(db), { q: 'tool_17' }, { format: 'csv', includeBodies: false })
    captured.length = 0
    // explained while the export runs: its temp table of matches is dropped at the end
    for await (const _ of chunks) {
      for (const { sql, args } of captured.splice(0)) {
        plans.push(...(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail))
      }
    }
    expect(db.prepare("SELECT count(*) FROM temp.sqlite_master WHERE name LIKE 'activity_export_match_%'").pluck().get()).toBe(0)
    expect(plans).toContain('SEARCH a USING INDEX activity_by_id (id>?)')
    expect(plans.some((l) => /^USING ROWID SEARCH ON TABLE activity_export_match_\d+ FOR IN-OPERATOR$/.test(l))).toBe(true)
    expect(plans.filter((l) => FULL_SCAN.test(l) || l.includes('TEMP B-TREE'))).toEqual([])
  })
  it('export chunks: activity_by_id from the last id, no sort', async () => {
    const plans: string[] = []
    const chunks = exportActivity(capturing(db), { server: 'server-5' }, { format: 'json', includeBodies: true })
    captured.length = 0
    for await (const _ of chunks) {
      // drain
    }
    for (const { sql, args } of captured) {
      plans.push(...(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail))
    }
    expect(plans).toContain('SEARCH a USING INDEX activity_by_server (server_name=? AND id>?)')
    expect(plans.filter((l) => FULL_SCAN.test(l) || l.includes('TEMP B-TREE'))).toEqual([])
    expect(plans).toContain('SEARCH b USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN')
  })
})
