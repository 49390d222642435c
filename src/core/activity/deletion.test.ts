import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords, finalizePending } from './append'
import { verifyChain } from './chain'
import { buildWhere } from './filter-sql'
import { DELETED_IDS_LISTED, deleteById, deleteWhere, doomedSql } from './deletion'
import { closeOrphans } from './orphans'

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

  it('deletes by filter, pending records included, and records it once', async () => {
    appendRecords(db, [rec(), rec({ server_name: 'beta' }), rec({ status: 'pending' }), rec({ server_name: 'beta' })])
    const r = await deleteWhere(db, { server: 'alpha' }, 'ui')
    expect(r.deleted).toBe(2)
    expect(r.record!.metadata).toMatchObject({ count: 2, filter: { server: 'alpha' }, actor: 'ui' })
    expect(n('SELECT count(*) FROM activity_tombstone')).toBe(1)
    expect(db.prepare("SELECT server_name FROM activity WHERE type = 'tool_call'").pluck().all()).toEqual(['beta', 'beta'])
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 0 })
  })

  it('deletes by full-text query and lists at most the first ids', async () => {
    appendRecords(db, Array.from({ length: DELETED_IDS_LISTED + 5 }, () => rec({ error: 'quota exceeded' })))
    appendRecords(db, [rec()])
    const r = await deleteWhere(db, { q: 'quota' })
    expect(r.deleted).toBe(DELETED_IDS_LISTED + 5)
    expect((r.record!.metadata!.ids as string[]).length).toBe(DELETED_IDS_LISTED)
    expect(n("SELECT count(*) FROM activity WHERE type = 'tool_call'")).toBe(1)
    expect(verifyChain(db).ok).toBe(true)
  })

  it('never deletes the records of earlier deletions', async () => {
    const [a] = appendRecords(db, [rec()]).inserted
    const first = deleteById(db, a!.id).record!
    expect(await deleteWhere(db, { type: ['config_change'] })).toEqual({ deleted: 0 })
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

describe('deletion by filter in chunks', () => {
  const alpha = (k: number, extra: Partial<ActivityRecord> = {}): ActivityRecord[] => Array.from({ length: k }, () => rec(extra))
  const deletionRecords = (): Array<{ id: string; status: string; seq: number | null; error: string | null; meta: string }> =>
    db.prepare("SELECT id, status, seq, error, meta FROM activity WHERE type = 'config_change'").all() as never

  it('deletes chunk by chunk, serving between them, and records one deletion, pending until the last chunk', async () => {
    appendRecords(db, [...alpha(10), rec({ server_name: 'beta' })])
    const seen: Array<{ status: string; tombstones: number; verified: boolean }> = []
    let chunks = 0
    const r = await deleteWhere(db, { server: 'alpha' }, 'ui', {
      chunk: 3,
      pause: async () => {
        chunks++
        const [d] = deletionRecords()
        seen.push({ status: d!.status, tombstones: n('SELECT count(*) FROM activity_tombstone WHERE deleted_by = ?', d!.id), verified: verifyChain(db).ok })
        // a record written while the deletion runs is not its to delete, even when it matches
        if (chunks === 1) appendRecords(db, [rec()])
      },
    })
    expect(r.deleted).toBe(10)
    expect(chunks).toBe(3) // 3 + 3 + 3, then a last chunk of 1
    expect(seen.map((s) => s.status)).toEqual(['pending', 'pending', 'pending'])
    expect(seen.map((s) => s.tombstones)).toEqual([3, 6, 9])
    expect(seen.every((s) => s.verified)).toBe(true)
    const [d] = deletionRecords()
    expect(deletionRecords()).toHaveLength(1)
    expect(d).toMatchObject({ id: r.record!.id, status: 'success' })
    expect(d!.seq).not.toBeNull()
    expect(JSON.parse(d!.meta).metadata).toMatchObject({ action: 'activity_deleted', count: 10, filter: { server: 'alpha' }, actor: 'ui' })
    expect((JSON.parse(d!.meta) as { metadata: { ids: string[] } }).metadata.ids).toHaveLength(10)
    expect(n('SELECT count(*) FROM activity_tombstone WHERE deleted_by = ?', d!.id)).toBe(10)
    expect(db.prepare("SELECT server_name FROM activity WHERE type = 'tool_call' ORDER BY id").pluck().all()).toEqual(['beta', 'alpha'])
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 0 })
  })

  it('lets other work run between chunks with the default pause (the next turn of the event loop)', async () => {
    appendRecords(db, alpha(6))
    const order: string[] = []
    const deleting = deleteWhere(db, { server: 'alpha' }, undefined, { chunk: 2 }).then(() => order.push('deleted'))
    setImmediate(() => order.push('served'))
    await deleting
    expect(order).toEqual(['served', 'deleted'])
    expect(n("SELECT count(*) FROM activity WHERE type = 'tool_call'")).toBe(0)
  })

  it('a process ending mid-deletion leaves a pending record that the orphan sweep completes with the count so far', async () => {
    appendRecords(db, alpha(7))
    await expect(
      deleteWhere(db, { server: 'alpha' }, undefined, { chunk: 3, pause: () => Promise.reject(new Error('killed')) }),
    ).rejects.toThrow('killed')
    const [d] = deletionRecords()
    expect(d).toMatchObject({ status: 'pending', seq: null })
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 1 })
    const recorder = { complete: (id: string, c: Parameters<typeof finalizePending>[2]) => void finalizePending(db, id, c) }
    expect(closeOrphans(db, recorder, { callTimeoutMs: 1000, approvalTimeoutS: 1 }, Date.now() + 3_600_000)).toBe(1)
    const [done] = deletionRecords()
    expect(done).toMatchObject({ status: 'error' })
    expect(done!.error).toMatch(/^interrupted: .*3 records it deleted/)
    expect(JSON.parse(done!.meta).metadata).toMatchObject({ action: 'activity_deleted', count: 3 })
    expect(n("SELECT count(*) FROM activity WHERE type = 'tool_call'")).toBe(4)
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 0 })
  })

  it('a chunk that fails completes the record with how far it got, and keeps what it did not delete', async () => {
    appendRecords(db, [...alpha(3), rec({ tool_name: 'stuck' }), ...alpha(2)])
    db.exec("CREATE TEMP TRIGGER refuse BEFORE DELETE ON main.activity WHEN OLD.tool_name = 'stuck' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    await expect(deleteWhere(db, { server: 'alpha' }, undefined, { chunk: 3 })).rejects.toThrow('database or disk is full')
    const [d] = deletionRecords()
    expect(d).toMatchObject({ status: 'error', error: 'the deletion stopped after 3 records: database or disk is full' })
    expect(JSON.parse(d!.meta).metadata).toMatchObject({ count: 3 })
    expect(n("SELECT count(*) FROM activity WHERE type = 'tool_call'")).toBe(3)
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 0 })
  })

  it('finds the records of deletions through the tombstone index, per candidate', () => {
    const where = buildWhere({ server: 'alpha' })
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${doomedSql(where)}`).all(...where.params, 1, 'x', 10) as Array<{ detail: string }>).map((r) => r.detail)
    expect(plan.join('\n')).toContain('activity_tombstone_by_deletion')
    expect(plan.join('\n')).toContain('activity_by_server')
  })
})

