import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate, openDb } from './db'
import { MIGRATIONS, SCHEMA_VERSION } from './migrations'

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
})
