import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { appendRecordsBulk } from './bulk-append'
import { verifyChain } from './chain'

const T0 = Date.UTC(2026, 3, 1)

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bulk-append-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

function rec(i: number, fields: Partial<ActivityRecord> = {}): ActivityRecord {
  const at = T0 + i * 1000
  return {
    id: ulid(at),
    timestamp: new Date(at).toISOString(),
    type: i % 3 === 0 ? 'policy_decision' : 'tool_call',
    status: i % 4 === 0 ? 'error' : 'success',
    server_name: `srv${i % 2}`,
    tool_name: i % 5 === 0 ? undefined : `tool${i % 3}`,
    session_id: `s${i % 4}`,
    arguments: { i },
    ...(i % 2 ? { intent: { operation_type: 'read' as const } } : {}),
    ...(i % 7 === 0 ? { detection_types: ['jwt'] } : {}),
    ...fields,
  }
}

const counts = (d: Db): Array<{ field: string; value: string; n: number }> =>
  d.prepare('SELECT field, value, n FROM activity_count WHERE n <> 0 ORDER BY field, value').all() as Array<{
    field: string
    value: string
    n: number
  }>

describe('appendRecordsBulk', () => {
  it('stores the same chain and the same activity_count as appendRecords', () => {
    const other = openDb(join(dir, 'b.db'))
    try {
      const first = Array.from({ length: 30 }, (_, i) => rec(i))
      const second = [...Array.from({ length: 20 }, (_, i) => rec(30 + i)), first[3]!]
      appendRecords(other, first, { skipExisting: true })
      appendRecords(other, second, { skipExisting: true })
      appendRecordsBulk(db, first, { skipExisting: true })
      const r = appendRecordsBulk(db, second, { skipExisting: true })
      expect(r.skipped).toBe(1)
      expect(r.inserted).toHaveLength(20)
      const hashes = (d: Db): string[] => d.prepare('SELECT hash FROM activity ORDER BY seq').pluck().all() as string[]
      expect(hashes(db)).toEqual(hashes(other))
      expect(counts(db)).toEqual(counts(other))
      expect(counts(db).find((c) => c.field === '*')!.n).toBe(50)
      expect(verifyChain(db)).toMatchObject({ ok: true, checked: 50 })
    } finally {
      other.close()
    }
  })

  it('leaves the insert trigger as it was for every later write', () => {
    const triggers = (): unknown[] => db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name").all()
    const before = triggers()
    appendRecordsBulk(db, [rec(1), rec(2)])
    expect(triggers()).toEqual(before)
    appendRecords(db, [rec(3)])
    expect(db.prepare("SELECT n FROM activity_count WHERE field = '*'").pluck().get()).toBe(3)
  })

  it('rolls back the whole batch, counts included, when one record is a duplicate without skipExisting', () => {
    const one = rec(1)
    appendRecordsBulk(db, [one])
    expect(() => appendRecordsBulk(db, [rec(2), one])).toThrow(expect.objectContaining({ code: 'CONFLICT' }))
    expect(db.prepare('SELECT count(*) FROM activity').pluck().get()).toBe(1)
    expect(db.prepare("SELECT n FROM activity_count WHERE field = '*'").pluck().get()).toBe(1)
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'activity_count_insert'").pluck().get()).toBe(1)
  })
})
