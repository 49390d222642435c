import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { migrate, openDb, type Db } from './db'
import { MIGRATIONS, SCHEMA_VERSION } from './migrations'
import { appendRecords } from '../activity/append'
import { verifyChain } from '../activity/chain'
import { deleteById } from '../activity/deletion'
import { pruneChainPrefix } from '../activity/retention'
import { recomputedCounts, recomputedHourly, storedCounts, storedHourly } from '../../../test/helpers/activity-counts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'db-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

describe('openDb and migrations', () => {
  it('creates a fresh database at the latest schema, in WAL with incremental vacuum and STRICT tables', () => {
    const db = openDb(join(dir, 'a.db'))
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2)
      const tables = db
        .prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'activity_fts%'")
        .all() as Array<{ name: string; strict: number }>
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['activity', 'activity_body', 'chain_checkpoint', 'activity_tombstone', 'session', 'tool_pin']),
      )
      expect(tables.filter((t) => t.strict !== 1)).toEqual([])
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'activity_fts'").pluck().get()).toBe('activity_fts')
      expect(migrate(db)).toBe(0)
    } finally {
      db.close()
    }
  })

  it.runIf(process.platform !== 'win32')('keeps the database and its WAL private (0600), also a file made before with a wider mode', () => {
    const file = join(dir, 'p.db')
    writeFileSync(file, '')
    chmodSync(file, 0o644)
    const db = openDb(file)
    try {
      appendRecords(db, [{ id: '01JQ0000000000000000000000', timestamp: '2025-03-27T00:00:00.000Z', type: 'tool_call', status: 'success' }])
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(statSync(f).mode & 0o777, f).toBe(0o600)
    } finally {
      db.close()
    }
  })

  it('reopens an existing database without migrating it again, keeping its rows', () => {
    const file = join(dir, 'a.db')
    const db = openDb(file)
    db.prepare("INSERT INTO activity (id, ts, type, status) VALUES ('x', 0, 'tool_call', 'success')").run()
    db.close()
    const again = openDb(file)
    try {
      expect(again.prepare('SELECT count(*) FROM activity').pluck().get()).toBe(1)
    } finally {
      again.close()
    }
  })

  it('refuses a database from a newer version with DB_TOO_NEW and leaves it untouched', () => {
    const file = join(dir, 'new.db')
    const raw = new Database(file)
    raw.exec('CREATE TABLE future (x TEXT)')
    raw.pragma('user_version = 999')
    raw.close()
    const before = sha(file)
    expect(() => openDb(file)).toThrow(expect.objectContaining({ code: 'DB_TOO_NEW', message: expect.stringContaining('schema version 999') }))
    expect(sha(file)).toBe(before)
    expect(existsSync(file + '-wal')).toBe(false)
    const check = new Database(file, { readonly: true })
    expect(check.pragma('user_version', { simple: true })).toBe(999)
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete')
    check.close()
  })

  it('rolls back a failing migration as a whole and reports it', () => {
    const file = join(dir, 'b.db')
    const broken = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE half (x TEXT) STRICT; CREATE TABLE oops (' }]
    expect(() => openDb(file, { migrations: broken })).toThrow(
      expect.objectContaining({ code: 'DB_ERROR', message: expect.stringContaining(`migration ${SCHEMA_VERSION + 1} (broken) failed`) }),
    )
    const db = new Database(file, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get()).toBe(0)
    db.close()
  })

  it('opens read-only only an existing, current database', () => {
    expect(() => openDb(join(dir, 'none.db'), { readonly: true })).toThrow(expect.objectContaining({ code: 'DB_ERROR' }))
    const file = join(dir, 'old.db')
    new Database(file).close()
    expect(() => openDb(file, { readonly: true })).toThrow(/needs a migration/)
  })

  it('migrates a version 1 database with rows: triggers gone, counts still right and kept by the write path', () => {
    const file = join(dir, 'v1.db')
    const v1 = openDb(file, { migrations: MIGRATIONS.slice(0, 1) })
    const insert = v1.prepare('INSERT INTO activity (id, ts, type, status, server_name, tool_name, intent_type, sensitive) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    for (let i = 0; i < 20; i++) {
      insert.run(`id${i}`, i, i % 3 ? 'tool_call' : 'policy_decision', i % 4 ? 'success' : 'error', `srv${i % 2}`, i % 5 ? `t${i % 3}` : null, i % 2 ? 'read' : null, i % 7 ? 0 : 1)
    }
    v1.prepare("UPDATE activity SET status = 'timeout' WHERE id = 'id3'").run()
    v1.prepare("DELETE FROM activity WHERE id = 'id4'").run()
    expect(v1.pragma('user_version', { simple: true })).toBe(1)
    const before = storedCounts(v1)
    v1.close()

    const db = openDb(file)
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'").pluck().get()).toBe(0)
      expect(storedCounts(db)).toEqual(before)
      expect(storedCounts(db)).toEqual(recomputedCounts(db))
      expect(storedCounts(db).find((c) => c.field === '*')!.n).toBe(19)
      appendRecords(db, [{ id: '01KAAAAAAAAAAAAAAAAAAAAAAA', type: 'tool_call', timestamp: new Date(0).toISOString(), status: 'success', server_name: 'srv0' }])
      expect(storedCounts(db)).toEqual(recomputedCounts(db))
    } finally {
      db.close()
    }
  })

  it('migrates a version 2 database with rows through version 3: hourly rollups built from the rows, then kept by the write path', () => {
    const file = join(dir, 'v2.db')
    const v2 = openDb(file, { migrations: MIGRATIONS.slice(0, 2) })
    const insert = v2.prepare('INSERT INTO activity (id, ts, type, status, server_name, tool_name, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)')
    for (let i = 0; i < 40; i++) {
      insert.run(`id${i}`, i * 1_000_000, i % 3 ? 'tool_call' : 'server_change', i % 4 ? 'success' : 'error', i % 7 ? `srv${i % 2}` : null, i % 5 ? `t${i % 3}` : null, i % 2 ? i : null)
    }
    expect(v2.pragma('user_version', { simple: true })).toBe(2)
    v2.close()

    const db = openDb(file)
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      const hourly = storedHourly(db)
      expect(hourly).toEqual(recomputedHourly(db))
      expect(hourly.status.length).toBeGreaterThan(10)
      expect(hourly.tool.some((t) => (t as { nulls: number }).nulls === 3)).toBe(true)
      appendRecords(db, [{ id: '01KAAAAAAAAAAAAAAAAAAAAAAA', type: 'tool_call', timestamp: new Date(0).toISOString(), status: 'success', server_name: 'srv0', duration_ms: 3 }])
      expect(storedHourly(db)).toEqual(recomputedHourly(db))
    } finally {
      db.close()
    }
  })

  const record = (i: number): ActivityRecord => ({ id: `01KAAAAAAAAAAAAAAAAAAAAAA${i}`, type: 'tool_call', timestamp: new Date(i).toISOString(), status: 'success' })
  // each chain and the seq of its end: a record, the record of a deletion, a checkpoint, none
  it.each<[string, number, (d: Db) => void]>([
    ['empty', 0, () => {}],
    ['records', 3, (d) => appendRecords(d, [1, 2, 3].map(record))],
    ['newest deleted', 4, (d) => deleteById(d, appendRecords(d, [1, 2, 3].map(record)).inserted[2]!.id)],
    ['all pruned', 2, (d) => pruneChainPrefix(d, appendRecords(d, [1, 2].map(record)).inserted.length, 'count')],
  ])('migrates a version 3 database to version 4: the chain head anchor starts at the end of the chain (%s)', (_name, endSeq, build) => {
    const file = join(dir, 'v3.db')
    const v4 = openDb(file, { migrations: MIGRATIONS.slice(0, 4) })
    build(v4)
    const head = v4.prepare('SELECT seq, hash FROM chain_head').get() as { seq: number }
    expect(head.seq).toBe(endSeq)
    // what version 3 was: the same schema without chain_head
    v4.exec('DROP TABLE chain_head')
    v4.pragma('user_version = 3')
    v4.close()

    const db = openDb(file)
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(db.prepare('SELECT seq, hash FROM chain_head').get()).toEqual(head)
      expect(verifyChain(db).ok).toBe(true)
    } finally {
      db.close()
    }
  })
})
