import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { verifyChain } from './chain'
import { DELETED_IDS_LISTED, deleteById, deleteWhere } from './deletion'

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deletion-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

let clock = Date.UTC(2026, 0, 1)
const rec = (extra: Partial<ActivityRecord> = {}): ActivityRecord => {
  clock += 1000
  return {
    id: ulid(clock),
    type: 'tool_call',
    timestamp: new Date(clock).toISOString(),
    status: 'success',
    server_name: 'alpha',
    tool_name: 'read_file',
    arguments: { path: '/etc/hosts' },
    ...extra,
  }
}
const n = (sql: string, ...p: unknown[]): number => db.prepare(sql).pluck().get(...p) as number

describe('deletion', () => {
  it('moves a record to a tombstone, records the deletion, and the chain still verifies', () => {
    const ids = appendRecords(db, [rec(), rec({ arguments: { path: '/secret/plans' } }), rec()]).inserted.map((r) => r.id)
    const r = deleteById(db, ids[1]!, 'cli')
    expect(r.deleted).toBe(1)
    expect(r.record).toMatchObject({
      type: 'config_change',
      status: 'success',
      metadata: { action: 'activity_deleted', count: 1, ids: [ids[1]], filter: { id: ids[1] }, actor: 'cli' },
    })
    expect(db.prepare('SELECT seq, id, deleted_by FROM activity_tombstone').all()).toEqual([{ seq: 2, id: ids[1], deleted_by: r.record!.id }])
    expect(n('SELECT count(*) FROM activity WHERE id = ?', ids[1])).toBe(0)
    expect(n('SELECT count(*) FROM activity_body')).toBe(3)
    expect(n("SELECT count(*) FROM activity_fts WHERE activity_fts MATCH 'plans'")).toBe(0)
    expect(n('SELECT seq FROM activity WHERE id = ?', r.record!.id)).toBe(4)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 4, last_seq: 4 })
  })

  it('returns nothing deleted and records nothing for an unknown id', () => {
    appendRecords(db, [rec()])
    expect(deleteById(db, 'nope')).toEqual({ deleted: 0 })
    expect(n('SELECT count(*) FROM activity')).toBe(1)
  })

  it('deletes by filter, pending records included, and records it once', () => {
    appendRecords(db, [rec(), rec({ server_name: 'beta' }), rec({ status: 'pending' }), rec({ server_name: 'beta' })])
    const r = deleteWhere(db, { server: 'alpha' }, 'ui')
    expect(r.deleted).toBe(2)
    expect(r.record!.metadata).toMatchObject({ count: 2, filter: { server: 'alpha' }, actor: 'ui' })
    expect(n('SELECT count(*) FROM activity_tombstone')).toBe(1)
    expect(db.prepare("SELECT server_name FROM activity WHERE type = 'tool_call'").pluck().all()).toEqual(['beta', 'beta'])
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 0 })
  })

  it('deletes by full-text query and lists at most the first ids', () => {
    appendRecords(db, Array.from({ length: DELETED_IDS_LISTED + 5 }, () => rec({ error: 'quota exceeded' })))
    appendRecords(db, [rec()])
    const r = deleteWhere(db, { q: 'quota' })
    expect(r.deleted).toBe(DELETED_IDS_LISTED + 5)
    expect((r.record!.metadata!.ids as string[]).length).toBe(DELETED_IDS_LISTED)
    expect(n("SELECT count(*) FROM activity WHERE type = 'tool_call'")).toBe(1)
    expect(verifyChain(db).ok).toBe(true)
  })

  it('never deletes the records of earlier deletions', () => {
    const [a] = appendRecords(db, [rec()]).inserted
    const first = deleteById(db, a!.id).record!
    expect(deleteWhere(db, { type: ['config_change'] })).toEqual({ deleted: 0 })
    expect(deleteById(db, first.id)).toEqual({ deleted: 0 })
    expect(n('SELECT count(*) FROM activity WHERE id = ?', first.id)).toBe(1)
  })

  it('keeps the chain head when the newest record is deleted', () => {
    const ids = appendRecords(db, [rec(), rec()]).inserted.map((r) => r.id)
    const del = deleteById(db, ids[1]!).record!
    expect(appendRecords(db, [rec()]).lastSeq).toBe(4)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 4 })
    // removing the record of the deletion (the chain head at the time) is caught through the tombstone
    db.prepare('DELETE FROM activity WHERE id = ?').run(del.id)
    db.prepare('DELETE FROM activity WHERE seq = 4').run()
    expect(verifyChain(db).problem).toMatchObject({ kind: 'removed', id: del.id })
  })
})
