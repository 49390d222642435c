import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendPrepared, appendRecords, finalizePending, prepareRecord, readChainHead } from './append'
import { verifyChain } from './chain'
import { deleteById } from './deletion'
import { chainHash, fromRows, toRows } from './record-codec'
import { pruneChainPrefix } from './retention'

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chain-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const T0 = Date.UTC(2026, 0, 1)
const rec = (i: number): ActivityRecord => ({
  id: ulid(T0 + i * 1000),
  type: 'tool_call',
  timestamp: new Date(T0 + i * 1000).toISOString(),
  status: 'success',
  server_name: 'srv',
  tool_name: `tool_${i}`,
  arguments: { i },
  response: `answer ${i}`,
})

function fill(n: number): string[] {
  return appendRecords(db, Array.from({ length: n }, (_, i) => rec(i))).inserted.map((r) => r.id)
}
const seqOf = (id: string): number => (db.prepare('SELECT seq FROM activity WHERE id = ?').get(id) as { seq: number }).seq

describe('verifyChain', () => {
  it('accepts an intact chain and counts pending records apart', () => {
    fill(10)
    appendRecords(db, [{ ...rec(99), status: 'pending' }])
    expect(verifyChain(db)).toEqual({ ok: true, checked: 10, first_seq: 1, last_seq: 10, pending: 1 })
  })

  it('accepts an empty log', () => {
    expect(verifyChain(db)).toEqual({ ok: true, checked: 0, first_seq: undefined, last_seq: undefined, pending: 0 })
  })

  it('names a record whose metadata was edited', () => {
    const ids = fill(10)
    db.prepare(`UPDATE activity SET meta = '{"risk_score":99}' WHERE id = ?`).run(ids[6])
    expect(verifyChain(db)).toMatchObject({ ok: false, checked: 6, problem: { kind: 'edited', id: ids[6], seq: 7 } })
  })

  it('names a record whose body was edited', () => {
    const ids = fill(5)
    db.prepare(`UPDATE activity_body SET response = '"forged"' WHERE rid = (SELECT rid FROM activity WHERE id = ?)`).run(ids[2])
    expect(verifyChain(db).problem).toMatchObject({ kind: 'edited', id: ids[2] })
  })

  it('names a record inserted into the middle with a well-formed hash', () => {
    const ids = fill(6)
    const prev = db.prepare('SELECT hash FROM activity WHERE seq = 3').pluck().get() as string
    db.prepare('UPDATE activity SET seq = -seq WHERE seq > 3').run()
    db.prepare('UPDATE activity SET seq = 1 - seq WHERE seq < 0').run()
    const forged = { ...rec(50), tool_name: 'forged' }
    const { row, body } = toRows(forged, 4)
    row.prev_hash = prev
    row.hash = chainHash(prev, fromRows(row, body))
    const cols = Object.keys(row)
    const rid = db.prepare(`INSERT INTO activity (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...Object.values(row))
      .lastInsertRowid
    db.prepare('INSERT INTO activity_body (rid, arguments, response) VALUES (?, ?, ?)').run(rid, body.arguments, body.response)
    expect(seqOf(ids[3]!)).toBe(5)
    expect(verifyChain(db)).toMatchObject({ ok: false, checked: 4, problem: { kind: 'inserted', id: forged.id, seq: 4 } })
  })

  it('names the gap left by a raw DELETE', () => {
    const ids = fill(8)
    db.prepare('DELETE FROM activity WHERE id = ?').run(ids[4])
    expect(verifyChain(db)).toMatchObject({ ok: false, problem: { kind: 'removed', id: ids[5], seq: 6 } })
    expect(verifyChain(db).problem!.detail).toMatch(/seq 5\.\.5 missing/)
  })

  it('names a removal hidden by renumbering', () => {
    const ids = fill(8)
    db.prepare('DELETE FROM activity WHERE id = ?').run(ids[4])
    db.prepare('UPDATE activity SET seq = -(seq - 1) WHERE seq > 5').run()
    db.prepare('UPDATE activity SET seq = -seq WHERE seq < 0').run()
    expect(verifyChain(db)).toMatchObject({ ok: false, problem: { kind: 'removed', id: ids[5], seq: 5 } })
  })

  it('detects the removal of the first records when no checkpoint explains it', () => {
    const ids = fill(4)
    db.prepare('DELETE FROM activity WHERE id = ?').run(ids[0])
    expect(verifyChain(db).problem).toMatchObject({ kind: 'removed', id: ids[1], seq: 2 })
  })

  it('accepts tombstones left by a recorded deletion, and the appends after them', () => {
    const ids = fill(6)
    deleteById(db, ids[2]!)
    deleteById(db, ids[5]!)
    appendRecords(db, [rec(7)])
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 9, first_seq: 1, last_seq: 9 })
  })

  it('verifies a pruned log from its checkpoint and detects a forged checkpoint', () => {
    fill(10)
    expect(pruneChainPrefix(db, 4, 'count')).toBe(4)
    expect(pruneChainPrefix(db, 2, 'count')).toBe(2)
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 4, first_seq: 7, last_seq: 10 })
    db.prepare('UPDATE chain_checkpoint SET pruned = 1 WHERE id = (SELECT min(id) FROM chain_checkpoint)').run()
    expect(verifyChain(db)).toMatchObject({ ok: false, problem: { kind: 'checkpoint', seq: 5 } })
  })

  it('detects records removed right after a checkpoint', () => {
    const ids = fill(6)
    pruneChainPrefix(db, 2, 'age')
    db.prepare('DELETE FROM activity WHERE id = ?').run(ids[2])
    expect(verifyChain(db).problem).toMatchObject({ kind: 'removed', id: ids[3], seq: 4 })
  })

  it('names the removal of the newest records, also once more records were appended', () => {
    fill(8)
    db.prepare('DELETE FROM activity WHERE seq > 5').run()
    const result = verifyChain(db)
    expect(result).toMatchObject({ ok: false, checked: 5, last_seq: 5, problem: { kind: 'removed', seq: 6 } })
    expect(result.problem!.detail).toMatch(/records after seq 5 were removed: the chain head is seq 8/)
    const [next] = appendRecords(db, [rec(20)]).inserted
    expect(verifyChain(db).problem).toMatchObject({ kind: 'removed', id: next!.id, seq: 9 })
  })

  it('names a log emptied by a raw DELETE', () => {
    fill(3)
    db.prepare('DELETE FROM activity').run()
    expect(verifyChain(db)).toMatchObject({ ok: false, checked: 0, problem: { kind: 'removed', seq: 1 } })
  })

  it('compares the end of the chain with the head anchor', () => {
    const ids = fill(4)
    const anchor = db.prepare('SELECT seq, hash FROM chain_head').get() as { seq: number; hash: string }
    expect(anchor).toEqual(readChainHead(db))
    // seq 3 with record 4's hash: the record at seq 3 is not the one the anchor names
    db.prepare('UPDATE chain_head SET seq = 3').run()
    expect(verifyChain(db).problem).toMatchObject({ kind: 'edited', id: ids[2], seq: 3 })
    db.prepare("UPDATE chain_head SET seq = 4, hash = 'rewritten'").run()
    expect(verifyChain(db).problem).toMatchObject({ kind: 'edited', id: ids[3], seq: 4 })
    db.prepare('DELETE FROM chain_head').run()
    expect(verifyChain(db).problem!.detail).toMatch(/chain head anchor .* was removed/)
  })

  describe('records past the anchor (appended by a process running code from before migration 4)', () => {
    /** what migration 4 left while an older process went on appending: the anchor at seq `seq` */
    const anchorAt = (seq: number): void => {
      db.prepare('UPDATE chain_head SET (seq, hash) = (SELECT seq, hash FROM activity WHERE seq = ?)').run(seq)
    }
    /** a raw insert at `seq`, linked to `prev`, with a hash that recomputes */
    const insertRaw = (r: ActivityRecord, seq: number, prev: string): void => {
      const { row, body } = toRows(r, seq)
      row.prev_hash = prev
      row.hash = chainHash(prev, fromRows(row, body))
      const cols = Object.keys(row)
      const rid = db.prepare(`INSERT INTO activity (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...Object.values(row))
        .lastInsertRowid
      // a raw DELETE before it leaves the body row, whose rid SQLite gives out again
      db.prepare('INSERT OR REPLACE INTO activity_body (rid, arguments, response) VALUES (?, ?, ?)').run(rid, body.arguments, body.response)
    }

    it('accepts them when they link, and the appends of a newer process after them', () => {
      fill(6)
      anchorAt(2)
      expect(verifyChain(db)).toEqual({ ok: true, checked: 6, first_seq: 1, last_seq: 6, pending: 0 })
      // a newer process goes on after the chain's end and moves the anchor there
      const [next] = appendRecords(db, [rec(20)]).inserted
      expect(seqOf(next!.id)).toBe(7)
      expect(db.prepare('SELECT seq FROM chain_head').pluck().get()).toBe(7)
      expect(verifyChain(db)).toMatchObject({ ok: true, checked: 7, last_seq: 7 })
    })

    it('accepts a checkpoint past the anchor (the older process pruned) and checks one that continues from it', () => {
      fill(6)
      anchorAt(2)
      expect(pruneChainPrefix(db, 4, 'count')).toBe(4)
      expect(verifyChain(db)).toMatchObject({ ok: true, checked: 2, first_seq: 5, last_seq: 6 })
      db.prepare("UPDATE chain_head SET seq = 4, hash = 'forged'").run()
      expect(verifyChain(db).problem).toMatchObject({ kind: 'checkpoint', seq: 5 })
      db.prepare("UPDATE chain_head SET hash = (SELECT prev_hash FROM chain_checkpoint)").run()
      expect(verifyChain(db).ok).toBe(true)
    })

    it('still names the removal of records up to the anchor, and records that cover it', () => {
      fill(6)
      anchorAt(4)
      db.prepare('DELETE FROM activity WHERE seq > 3').run()
      const result = verifyChain(db)
      expect(result).toMatchObject({ ok: false, checked: 3, last_seq: 3, problem: { kind: 'removed', seq: 4 } })
      expect(result.problem!.detail).toMatch(/records after seq 3 were removed: the chain head is seq 4/)
      // records linked to seq 3 in place of the removed ones: the record at the anchor's seq is not the one it names
      const h3 = db.prepare('SELECT hash FROM activity WHERE seq = 3').pluck().get() as string
      const cover = { ...rec(30), tool_name: 'cover' }
      insertRaw(cover, 4, h3)
      expect(verifyChain(db).problem).toMatchObject({ kind: 'edited', id: cover.id, seq: 4 })
      expect(verifyChain(db).problem!.detail).toMatch(/the chain head names another record at seq 4/)
    })

    it('names one that does not link as inserted, and one whose hash does not recompute as edited', () => {
      const ids = fill(5)
      anchorAt(2)
      const forged = { ...rec(40), tool_name: 'forged' }
      insertRaw(forged, 6, 'f'.repeat(64))
      const result = verifyChain(db)
      expect(result).toMatchObject({ ok: false, checked: 5, problem: { kind: 'inserted', id: forged.id, seq: 6 } })
      expect(result.problem!.detail).toMatch(/lies after the chain head \(seq 2\) and does not link/)
      db.prepare('DELETE FROM activity WHERE seq = 6').run()
      expect(verifyChain(db).ok).toBe(true)
      db.prepare(`UPDATE activity SET meta = '{"risk_score":99}' WHERE id = ?`).run(ids[3])
      expect(verifyChain(db)).toMatchObject({ ok: false, checked: 3, problem: { kind: 'edited', id: ids[3], seq: 4 } })
    })
  })

  it('keeps the head anchor at the end of the chain through every legitimate change of it', () => {
    const atEnd = (): void => {
      expect(verifyChain(db).ok).toBe(true)
      expect(db.prepare('SELECT seq, hash FROM chain_head').get()).toEqual(readChainHead(db))
    }
    const ids = fill(3)
    atEnd()
    const [pending, imported] = [rec(10), rec(11)]
    appendRecords(db, [{ ...pending, status: 'pending' }])
    expect(finalizePending(db, pending.id, { status: 'success' })).not.toBeNull()
    atEnd()
    appendPrepared(db, [prepareRecord(imported).prepared])
    atEnd()
    deleteById(db, imported.id)
    atEnd()
    deleteById(db, ids[0]!)
    atEnd()
    expect(pruneChainPrefix(db, 100, 'count')).toBe(5)
    atEnd()
    expect(readChainHead(db).seq).toBe(7)
  })
})
