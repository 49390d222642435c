import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../logger'
import { openDb, type Db } from '../store/db'
import { createSessionRegistry } from './sessions'

const dirs: string[] = []
const dbs: Db[] = []
function tempDb(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'sessions-'))
  dirs.push(dir)
  const db = openDb(join(dir, 'activity.db'))
  dbs.push(db)
  return db
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const rowOf = (db: Db, id: string) => db.prepare('SELECT * FROM session WHERE id = ?').get(id) as Record<string, unknown>

describe('session registry', () => {
  it('persists a session at start, its client when known, call counts on a timer, and its end', async () => {
    const db = tempDb()
    const reg = createSessionRegistry({ db, logger: silentLogger, flushIntervalMs: 20 })
    const s = reg.open('http', {}, 'sess-1')
    expect(rowOf(db, 'sess-1')).toMatchObject({ transport: 'http', client_name: null, call_count: 0, ended_at: null })
    s.setClient({ name: 'claude', version: '1.0', pid: 42, exe: '/usr/bin/claude' })
    expect(rowOf(db, 'sess-1')).toMatchObject({ client_name: 'claude', client_version: '1.0', client_pid: 42, client_exe: '/usr/bin/claude' })
    s.countCall()
    s.countCall()
    expect(rowOf(db, 'sess-1').call_count).toBe(0)
    await expect.poll(() => rowOf(db, 'sess-1').call_count).toBe(2)
    s.countCall()
    s.end()
    expect(rowOf(db, 'sess-1')).toMatchObject({ call_count: 3 })
    expect(rowOf(db, 'sess-1').ended_at).toEqual(expect.any(String))
    expect(reg.get('sess-1')).toMatchObject({ active: false, call_count: 3, client: { name: 'claude' } })
    reg.close()
  })

  it('masks a secret in what the client says of itself before it reaches the session table', () => {
    const db = tempDb()
    const reg = createSessionRegistry({ db, logger: silentLogger })
    const token = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'
    reg.open('http', { name: `agent token=${token}`, version: '2' }, 'sess-s')
    expect(rowOf(db, 'sess-s')).toMatchObject({ client_name: 'agent token=[REDACTED:github_token]', client_version: '2' })
    expect(JSON.stringify(db.prepare('SELECT * FROM session').all())).not.toContain(token)
    reg.close()
    // PII too, when the records' redact_pii is on
    const pii = createSessionRegistry({ db, logger: silentLogger, redactPii: () => true })
    pii.open('http', { name: 'agent of jane@example.com' }, 'sess-p')
    expect(rowOf(db, 'sess-p').client_name).not.toContain('jane@example.com')
    pii.close()
  })

  it('keeps a later client detail without losing the earlier ones, and lists newest first', () => {
    const reg = createSessionRegistry({ logger: silentLogger })
    const a = reg.open('stdio', { pid: 7 })
    a.setClient({ name: 'cursor', version: undefined })
    expect(reg.get(a.info.id)!.client).toEqual({ pid: 7, name: 'cursor' })
    const b = reg.open('http')
    b.info.started_at = new Date(Date.now() + 1000).toISOString()
    expect(reg.list().map((s) => s.id)).toEqual([b.info.id, a.info.id])
    reg.close()
    expect(reg.list().every((s) => !s.active && s.ended_at)).toBe(true)
  })

  it('ends open sessions and writes their counts on close', () => {
    const db = tempDb()
    const reg = createSessionRegistry({ db, logger: silentLogger, flushIntervalMs: 60_000 })
    const s = reg.open('wrap', { name: 'x' }, 'sess-2')
    s.countCall()
    reg.close()
    expect(rowOf(db, 'sess-2')).toMatchObject({ call_count: 1, transport: 'wrap' })
    expect(rowOf(db, 'sess-2').ended_at).toEqual(expect.any(String))
  })
})
