import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ActivityRecordSchema, type ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords, applyBatch, finalizePending, prepareRecord, prepareRecordDirect, readChainHead } from './append'
import { canonicalJson, chainHash, fromRows, GENESIS_HASH, type ActivityRow, type BodyRow } from './record-codec'

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'append-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const rec = (id: string, extra: Partial<ActivityRecord> = {}): ActivityRecord => ({
  id,
  type: 'tool_call',
  timestamp: '2026-01-02T03:04:05.678+01:00',
  status: 'success',
  server_name: 'github',
  tool_name: 'search_repos',
  arguments: { q: 'needle' },
  response: { items: [1, 2] },
  ...extra,
})

function stored(id: string): { row: ActivityRow & { rid: number }; body: BodyRow | undefined } {
  const row = db.prepare('SELECT * FROM activity WHERE id = ?').get(id) as ActivityRow & { rid: number }
  const body = db.prepare('SELECT arguments, response FROM activity_body WHERE rid = ?').get(row.rid) as BodyRow | undefined
  return { row, body }
}

describe('appendRecords', () => {
  it('chains records from genesis, normalizes timestamps and writes body and full-text rows', () => {
    const r = appendRecords(db, [rec('01A'), rec('01B', { error: 'boom', status: 'error' })])
    expect(r.lastSeq).toBe(2)
    expect(r.inserted.map((x) => x.timestamp)).toEqual(['2026-01-02T02:04:05.678Z', '2026-01-02T02:04:05.678Z'])
    const a = stored('01A')
    const b = stored('01B')
    expect(a.row.seq).toBe(1)
    expect(a.row.prev_hash).toBe(GENESIS_HASH)
    expect(b.row.prev_hash).toBe(a.row.hash)
    expect(b.row.hash).toBe(chainHash(a.row.hash!, fromRows({ ...b.row, prev_hash: null, hash: null }, b.body)))
    expect(a.body).toEqual({ arguments: '{"q":"needle"}', response: '{"items":[1,2]}' })
    const hits = db.prepare("SELECT rowid FROM activity_fts WHERE activity_fts MATCH 'needle'").all()
    expect(hits).toEqual([{ rowid: a.row.rid }, { rowid: b.row.rid }])
    expect(db.prepare("SELECT rowid FROM activity_fts WHERE activity_fts MATCH 'boom'").all()).toEqual([{ rowid: b.row.rid }])
  })

  it('ignores given hashes and fields the codec does not store, so the stored record verifies', () => {
    const odd = { ...rec('01A'), prev_hash: 'x', hash: 'y', not_a_field: 1 } as ActivityRecord
    const [r] = appendRecords(db, [odd]).inserted
    expect(r).not.toHaveProperty('not_a_field')
    const { row, body } = stored('01A')
    expect(row.hash).toBe(chainHash(GENESIS_HASH, fromRows({ ...row, prev_hash: null, hash: null }, body)))
  })

  it('stores text SQLite would alter (lone surrogates) so that the hash still verifies', () => {
    appendRecords(db, [rec('01A', { error: 'bad \ud800 half', server_name: 'nul\u0000inside', tool_name: 'x\udc00', arguments: { s: '\ud800' } })])
    const { row, body } = stored('01A')
    expect(row.error).toBe('bad \ufffd half')
    expect(row.server_name).toBe('nul\u0000inside')
    expect(row.hash).toBe(chainHash(GENESIS_HASH, fromRows({ ...row, prev_hash: null, hash: null }, body)))
    expect(fromRows(row, body).arguments).toEqual({ s: '\ud800' })
  })

  it('skips existing ids with skipExisting and refuses duplicates otherwise, writing nothing', () => {
    appendRecords(db, [rec('01A')])
    expect(appendRecords(db, [rec('01A'), rec('01B')], { skipExisting: true })).toMatchObject({ skipped: 1, lastSeq: 2 })
    expect(() => appendRecords(db, [rec('01C'), rec('01B')])).toThrow(/already exists/)
    expect(db.prepare('SELECT count(*) AS n FROM activity').get()).toEqual({ n: 2 })
  })

  it('rejects an invalid timestamp with a clear error and writes nothing of the batch', () => {
    expect(() => appendRecords(db, [rec('01A'), rec('01B', { timestamp: 'yesterday' })])).toThrow(/01B: timestamp "yesterday"/)
    expect(db.prepare('SELECT count(*) AS n FROM activity').get()).toEqual({ n: 0 })
  })

  it('keeps pending records outside the chain until finalized, in finalization order', () => {
    appendRecords(db, [rec('01P', { status: 'pending', response: undefined }), rec('01A')])
    expect(stored('01P').row).toMatchObject({ seq: null, hash: null, prev_hash: null })
    expect(stored('01A').row.seq).toBe(1)
    const done = finalizePending(db, '01P', { status: 'success', response: 'late answer', duration_ms: 12 })
    expect(done).toMatchObject({ status: 'success', response: 'late answer', duration_ms: 12, prev_hash: stored('01A').row.hash })
    expect(stored('01P').row.seq).toBe(2)
    expect(db.prepare("SELECT rowid FROM activity_fts WHERE activity_fts MATCH 'late AND answer'").all()).toHaveLength(1)
    expect(finalizePending(db, '01P', { status: 'error' })).toBeNull()
    expect(applyBatch(db, [{ kind: 'complete', id: 'nope', completion: { status: 'success' } }]).missing).toEqual(['nope'])
  })

  it('continues the chain after the latest tombstone or checkpoint when the head row is gone', () => {
    appendRecords(db, [rec('01A'), rec('01B')])
    const b = stored('01B').row
    db.prepare('INSERT INTO activity_tombstone (seq, id, prev_hash, hash, deleted_by) VALUES (?, ?, ?, ?, ?)').run(b.seq, b.id, b.prev_hash, b.hash, 'X')
    db.prepare('DELETE FROM activity WHERE id = ?').run('01B')
    expect(readChainHead(db)).toEqual({ seq: 2, hash: b.hash })
    db.prepare(
      "INSERT INTO chain_checkpoint (created_at, first_seq, prev_hash, pruned, reason, hash) VALUES ('t', 10, 'abc', 9, 'age', 'h')",
    ).run()
    expect(readChainHead(db)).toEqual({ seq: 9, hash: 'abc' })
    expect(appendRecords(db, [rec('01C')]).inserted[0]).toMatchObject({ prev_hash: 'abc' })
    expect(stored('01C').row.seq).toBe(10)
  })
})

describe('prepareRecordDirect on parsed JSON (import)', () => {
  it('prepares parsed JSON exactly as prepareRecord does: rows, canonical text and full-text', () => {
    const cases: unknown[] = [
      rec('01A'),
      rec('01B', { status: 'pending', response: undefined }),
      { ...rec('01C'), prev_hash: 'p', hash: 'h', client: { version: '1', name: 'z' }, metadata: { b: [1, { y: 2, x: null }], a: -0 } },
      { ...rec('01D'), arguments: null, response: 'text', error: '', duration_ms: 1.5, intent: { operation_type: 'read', reason: 'why' } },
      { ...rec('01E'), tool_name: 'bad \ud800 half', detection_types: ['jwt'], pii_detected: [] },
      { ...rec('01F'), arguments: { __proto__: { polluted: 1 }, 'é': '\ud83d\ude00', n: 1e21 }, unknown_field: 1 },
    ]
    for (const c of cases) {
      const parsed = ActivityRecordSchema.parse(JSON.parse(JSON.stringify(c))) as ActivityRecord
      expect(prepareRecordDirect(parsed).prepared, JSON.stringify(c)).toEqual(prepareRecord(parsed).prepared)
    }
  })
})

describe("prepareRecordDirect on the writer's records", () => {
  it("prepares the writer's records exactly as prepareRecord does, with or without the round trip", () => {
    const iso = '2026-01-02T02:04:05.678Z'
    const cases: ActivityRecord[] = [
      rec('01A', { timestamp: iso }),
      rec('01B', { timestamp: iso, status: 'pending', response: undefined, flags: undefined, client: { name: 'c', exe: undefined } }),
      { ...rec('01C', { timestamp: iso }), prev_hash: 'p', hash: 'h', metadata: { b: [1, { y: 2, x: null }], a: -0 }, response: { n: NaN, big: 1e21 } },
      rec('01D', { timestamp: iso, response: 'text', error: '', duration_ms: 1.5, intent: { operation_type: 'read', reason: 'why' } }),
      rec('01K', { timestamp: iso, arguments: { '2': 'integer-like key', a: '\ud83d\ude00 \udc00' } }),
      // a timestamp with an offset is normalized, not a reason for the round trip
      rec('01I'),
      // each of these takes the round trip
      rec('01E', { timestamp: iso, tool_name: 'bad \ud800 half' }),
      rec('01F', { timestamp: iso, arguments: { list: [1, undefined, 3] } }),
      rec('01G', { timestamp: iso, arguments: { when: new Date(0) as unknown as string } }),
      rec('01H', { timestamp: iso, session_id: null as unknown as string }),
      { ...rec('01J', { timestamp: iso }), unknown_field: 1 } as ActivityRecord,
    ]
    for (const c of cases) {
      const live = prepareRecordDirect(c)
      const general = prepareRecord(c)
      expect(live.prepared, c.id).toEqual(general.prepared)
      if (c.status !== 'pending') expect(live.prepared.canonical, c.id).toBe(canonicalJson(fromRows(live.prepared.row, live.prepared.body)))
      // the first six skip the round trip: their arguments are the very objects given
      expect([c.id, live.stored.arguments === c.arguments]).toEqual([c.id, cases.indexOf(c) < 6])
    }
  })
})
