import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import type { Logger } from '../logger'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { recomputedCounts, recomputedHourly, storedCounts, storedHourly } from '../../../test/helpers/activity-counts'
import { verifyChain } from './chain'
import { importActivity } from './import'
import { dbFileBytes, pruneActivity, pruneActivityInTurns, scheduleRetention } from './retention'
import { DEFAULT_ACTIVITY_SETTINGS, type ActivitySettings } from './types'

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'retention-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const NOW = new Date(Date.UTC(2026, 5, 1))
const DAY = 86_400_000
const settings = (s: Partial<ActivitySettings>): ActivitySettings => ({
  ...DEFAULT_ACTIVITY_SETTINGS,
  retentionDays: 0,
  maxRecords: 0,
  maxDbMb: 0,
  ...s,
})
const rec = (ageDays: number, extra: Partial<ActivityRecord> = {}): ActivityRecord => {
  const t = NOW.getTime() - ageDays * DAY
  return {
    id: ulid(t),
    type: 'tool_call',
    timestamp: new Date(t).toISOString(),
    status: 'success',
    tool_name: 'searchable_tool',
    arguments: { age: ageDays },
    ...extra,
  }
}
const n = (sql: string): number => db.prepare(sql).pluck().get() as number

describe('retention', () => {
  it('prunes by age from the start of the chain, with bodies and full-text rows, and still verifies', () => {
    appendRecords(db, [100, 95, 91, 89, 10, 0].map((d) => rec(d)))
    appendRecords(db, [rec(120, { status: 'pending' })])
    const r = pruneActivity(db, settings({ retentionDays: 90 }), { now: NOW })
    expect(r).toEqual({ pruned: 4, reason: 'age' })
    expect(n('SELECT count(*) FROM activity')).toBe(3)
    expect(n('SELECT count(*) FROM activity_body')).toBe(3)
    expect(n("SELECT count(*) FROM activity_fts WHERE activity_fts MATCH 'searchable_tool'")).toBe(3)
    expect(db.prepare('SELECT first_seq, pruned, reason FROM chain_checkpoint').all()).toEqual([{ first_seq: 4, pruned: 3, reason: 'age' }])
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 3, first_seq: 4, last_seq: 6, pending: 0 })
    expect(pruneActivity(db, settings({ retentionDays: 90 }), { now: NOW })).toEqual({ pruned: 0 })
  })

  it('prunes imported records past the age limit that sit after newer ones, leaving tombstones: the chain verifies, counts stay right', async () => {
    appendRecords(db, [10, 5, 0].map((d) => rec(d)))
    const old = [204, 203, 202, 201, 200].map((d) => rec(d, { server_name: 'old', duration_ms: d }))
    expect((await importActivity(db, old.map((r) => JSON.stringify(r)))).imported).toBe(5)
    expect(pruneActivity(db, settings({ retentionDays: 90 }), { now: NOW, chunk: 3 })).toEqual({ pruned: 5, reason: 'age' })
    expect(n("SELECT count(*) FROM activity WHERE server_name = 'old'")).toBe(0)
    expect(db.prepare('SELECT id FROM activity_tombstone ORDER BY seq').pluck().all()).toEqual(old.map((r) => r.id))
    // one recorded deletion per chunk
    const deletions = db.prepare("SELECT meta FROM activity WHERE type = 'config_change' ORDER BY seq").pluck().all() as string[]
    expect(deletions.map((m) => JSON.parse(m) as unknown)).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ action: 'activity_deleted', count: 3, reason: 'age', actor: 'retention' }) }),
      expect.objectContaining({ metadata: expect.objectContaining({ count: 2 }) }),
    ])
    expect(n('SELECT count(*) FROM activity_body')).toBe(n('SELECT count(*) FROM activity'))
    expect(n("SELECT count(*) FROM activity_fts WHERE activity_fts MATCH 'searchable_tool'")).toBe(3)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 10, first_seq: 1, last_seq: 10 })
    expect(storedCounts(db)).toEqual(recomputedCounts(db))
    expect(storedHourly(db)).toEqual(recomputedHourly(db))
    expect(pruneActivity(db, settings({ retentionDays: 90 }), { now: NOW })).toEqual({ pruned: 0 })
    // once the rest is old too, the prefix takes it, tombstones included
    expect(pruneActivity(db, settings({ retentionDays: 90 }), { now: new Date(NOW.getTime() + 100 * DAY) }).pruned).toBe(5)
    expect(n('SELECT count(*) FROM activity_tombstone')).toBe(0)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 0 })
  })

  it('prunes by count in chunks, one chained checkpoint per chunk', () => {
    appendRecords(db, Array.from({ length: 12 }, (_, i) => rec(12 - i)))
    expect(pruneActivity(db, settings({ maxRecords: 5 }), { now: NOW, chunk: 3 })).toEqual({ pruned: 7, reason: 'count' })
    expect(db.prepare('SELECT pruned FROM chain_checkpoint ORDER BY id').pluck().all()).toEqual([3, 3, 1])
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 5, first_seq: 8, last_seq: 12 })
  })

  it('keeps everything by age when the limit reaches back before 1970 (the config allows 36,500 days), and still prunes by count', () => {
    appendRecords(db, Array.from({ length: 12 }, (_, i) => rec(12 - i)))
    expect(pruneActivity(db, settings({ retentionDays: 36_500, maxRecords: 5 }), { now: NOW })).toEqual({ pruned: 7, reason: 'count' })
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 5 })
  })

  it('keeps the chain going after everything was pruned', () => {
    appendRecords(db, [rec(200), rec(150)])
    expect(pruneActivity(db, settings({ retentionDays: 30 }), { now: NOW }).pruned).toBe(2)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 0 })
    appendRecords(db, [rec(1)])
    expect(n('SELECT seq FROM activity')).toBe(3)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 1, first_seq: 3, last_seq: 3 })
  })

  it('prunes by database size and gives the space back to the file system', () => {
    const blob = 'z'.repeat(4000)
    for (let b = 0; b < 10; b++) appendRecords(db, Array.from({ length: 100 }, (_, i) => rec(10 - b, { arguments: { blob, i, b } })))
    const before = dbFileBytes(db)
    expect(before).toBeGreaterThan(4 * 1024 * 1024)
    const r = pruneActivity(db, settings({ maxDbMb: 2 }), { now: NOW })
    expect(r.reason).toBe('size')
    const after = dbFileBytes(db)
    expect(after).toBeLessThanOrEqual(2 * 1024 * 1024)
    expect(n('SELECT count(*) FROM activity')).toBe(1000 - r.pruned)
    expect(n('SELECT count(*) FROM activity')).toBeGreaterThan(0)
    expect(verifyChain(db).ok).toBe(true)
  })

  it('in turns: the same pruning, with a turn of the event loop after each chunk; cancelling stops it between chunks', async () => {
    appendRecords(db, Array.from({ length: 20 }, (_, i) => rec(100 + i)).reverse())
    // a ticker that counts event-loop turns while the pruning runs
    let turns = 0
    let ticking = true
    const tick = (): void => {
      turns++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const inTurns = pruneActivityInTurns(db, settings({ maxRecords: 5 }), { now: NOW, chunk: 4 })
    expect(turns).toBe(0)
    expect(await inTurns).toEqual({ pruned: 15, reason: 'count' })
    ticking = false
    // four chunks of 4 records (the last one short) and the vacuum steps, each followed by a turn
    expect(turns).toBeGreaterThanOrEqual(4)
    expect(n('SELECT count(*) FROM activity')).toBe(5)
    expect(verifyChain(db)).toMatchObject({ ok: true })

    appendRecords(db, Array.from({ length: 10 }, (_, i) => rec(200 + i)))
    let asked = 0
    const cancelled = await pruneActivityInTurns(db, settings({ maxRecords: 5 }), { now: NOW, chunk: 2, cancelled: () => ++asked > 2 })
    // two chunks of 2, then it stopped
    expect(cancelled).toEqual({ pruned: 4, reason: 'cancelled' })
    expect(n('SELECT count(*) FROM activity')).toBe(11)
    expect(verifyChain(db)).toMatchObject({ ok: true })
  })

  it('does not start a run while the last one is still going, and tells a running one to stop', async () => {
    const logger = { error: () => {}, info: () => {} } as unknown as Logger
    let started = 0
    let stopAsked: (() => boolean) | null = null
    let finish: (() => void) | null = null
    const s = scheduleRetention(
      (cancelled) => {
        started++
        stopAsked = cancelled
        return new Promise((resolve) => (finish = () => resolve({ pruned: 0 })))
      },
      0.0005,
      logger,
      0,
    )
    while (started < 1) await new Promise((r) => setTimeout(r, 5))
    // several intervals pass while the first run is still going
    await new Promise((r) => setTimeout(r, 150))
    expect(started).toBe(1)
    expect(stopAsked!()).toBe(false)
    s.stop()
    expect(stopAsked!()).toBe(true)
    finish!()
  })

  it('runs on its schedule and logs a failing run instead of throwing', async () => {
    const errors: string[] = []
    const logger = { error: (m: string) => errors.push(m) } as unknown as Logger
    let runs = 0
    const s = scheduleRetention(
      () => {
        runs++
        throw new Error('disk gone')
      },
      0.0005,
      logger,
      0,
    )
    while (runs < 2) await new Promise((r) => setTimeout(r, 10))
    s.stop()
    const seen = runs
    await new Promise((r) => setTimeout(r, 80))
    expect(runs).toBe(seen)
    expect(errors[0]).toBe('activity retention failed')
  })
})
