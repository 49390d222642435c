import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords, applyBatch, finalizePending } from './append'
import { deleteById, deleteWhere } from './deletion'
import { importActivity } from './import'
import { pruneActivity } from './retention'
import { DEFAULT_ACTIVITY_SETTINGS } from './types'
import { recomputedCounts, recomputedHourly, storedCounts, storedHourly } from '../../../test/helpers/activity-counts'

const NOW = Date.UTC(2026, 5, 1)
const DAY = 86_400_000

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'activity-counts-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

let k = 0
function rec(ageDays: number, fields: Partial<ActivityRecord> = {}): ActivityRecord {
  const at = NOW - ageDays * DAY + k++
  return {
    id: ulid(at),
    timestamp: new Date(at).toISOString(),
    type: k % 3 === 0 ? 'policy_decision' : 'tool_call',
    status: k % 4 === 0 ? 'error' : 'success',
    server_name: k % 11 === 0 ? undefined : `srv${k % 3}`,
    tool_name: k % 5 === 0 ? undefined : `tool${k % 4}`,
    session_id: k % 6 === 0 ? undefined : `s${k % 5}`,
    arguments: { k },
    ...(k % 2 ? { intent: { operation_type: k % 3 ? ('read' as const) : ('write' as const) } } : {}),
    ...(k % 7 === 0 ? { detection_types: ['jwt'] } : {}),
    ...(k % 3 === 1 ? { duration_ms: k } : {}),
    ...fields,
  }
}

describe('activity_count and the hourly rollups kept by the write path', () => {
  it('equal a recount from scratch after inserts, completions, deletions, retention and import', async () => {
    const check = (): void => {
      expect(storedCounts(db)).toEqual(recomputedCounts(db))
      expect(storedHourly(db)).toEqual(recomputedHourly(db))
    }
    appendRecords(db, Array.from({ length: 40 }, (_, i) => rec(100 - i)))
    check()
    const pending = appendRecords(db, [
      rec(50, { status: 'pending', server_name: 'late', tool_name: 'slow' }),
      rec(50, { status: 'pending', server_name: 'late', tool_name: 'slow' }),
      rec(120, { status: 'pending', session_id: 'stale', server_name: 'old' }),
      rec(49),
    ]).inserted
    check()
    // a mixed batch: a completion changing counted fields, inserts around it, a completion of nothing
    applyBatch(db, [
      { kind: 'insert', record: rec(48) },
      { kind: 'complete', id: pending[0]!.id, completion: { status: 'error', error: 'boom', detection_types: ['aws_access_key'] } },
      { kind: 'insert', record: rec(48, { status: 'pending', server_name: 'late' }) },
      { kind: 'complete', id: 'not-there', completion: { status: 'success' } },
    ])
    check()
    finalizePending(db, pending[1]!.id, { status: 'timeout', duration_ms: 120_000 })
    check()
    expect(db.prepare("SELECT n FROM activity_count WHERE field = 'status' AND value = 'pending'").pluck().get()).toBe(2)

    const victim = db.prepare("SELECT id FROM activity WHERE status = 'error' AND seq IS NOT NULL LIMIT 1").pluck().get() as string
    expect(deleteById(db, victim, 'test').deleted).toBe(1)
    check()
    expect((await deleteWhere(db, { server: 'srv1' }, 'test', { chunk: 2 })).deleted).toBeGreaterThan(5)
    check()
    expect((await deleteWhere(db, { status: ['pending'], server: 'late' })).deleted).toBe(1)
    check()

    // age pruning takes a chain prefix and the stale pending record; count pruning takes more
    const pruned = pruneActivity(db, { ...DEFAULT_ACTIVITY_SETTINGS, retentionDays: 90, maxRecords: 0, maxDbMb: 0 }, { now: new Date(NOW), chunk: 3 })
    expect(pruned.pruned).toBeGreaterThan(5)
    check()
    expect(db.prepare("SELECT count(*) FROM activity WHERE session_id = 'stale'").pluck().get()).toBe(0)
    pruneActivity(db, { ...DEFAULT_ACTIVITY_SETTINGS, retentionDays: 0, maxRecords: 10, maxDbMb: 0 }, { now: new Date(NOW) })
    check()

    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify(rec(5 - i / 10)))
    expect((await importActivity(db, [...lines, lines[3]!])).imported).toBe(30)
    check()
    expect(db.prepare("SELECT n FROM activity_count WHERE field = '*'").pluck().get()).toBe(db.prepare('SELECT count(*) FROM activity').pluck().get())
  })

  it('rolls the counts back with the batch when a write fails', () => {
    const one = rec(1)
    appendRecords(db, [one])
    expect(() => appendRecords(db, [rec(2), one])).toThrow(expect.objectContaining({ code: 'CONFLICT' }))
    expect(storedCounts(db)).toEqual(recomputedCounts(db))
    expect(storedHourly(db)).toEqual(recomputedHourly(db))
    expect(db.prepare("SELECT n FROM activity_count WHERE field = '*'").pluck().get()).toBe(1)
  })
})
