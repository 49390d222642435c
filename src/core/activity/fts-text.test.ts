import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords, FTS_TEXT_SQL, ftsText } from './append'
import { createActivityQueries } from './query'
import { toRows } from './record-codec'

let dir: string
let db: Db
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fts-text-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const T0 = Date.UTC(2026, 5, 1)
const rec = (i: number, fields: Partial<ActivityRecord>): ActivityRecord => ({ id: ulid(T0 + i), timestamp: new Date(T0 + i).toISOString(), type: 'tool_call', status: 'success', ...fields })

describe('the full-text of a record', () => {
  it('holds policy and change reasons too, and its SQL twin gives the same text', () => {
    const records = [
      rec(1, { tool_name: 'echo', server_name: 'everything', arguments: { message: 'hi' }, response: 'Echo: hi', intent: { operation_type: 'read', reason: 'greet' } }),
      rec(2, { type: 'policy_decision', status: 'blocked', server_name: 'gh', tool_name: 'delete_repo', policy: { decision: 'deny', rule: 'r', reason: 'server is quarantined' } }),
      rec(3, { type: 'quarantine_change', server_name: 'evil', metadata: { action: 'quarantined', reason: 'tool poisoning findings' } }),
      rec(4, { type: 'server_change', server_name: 'odd', metadata: { action: 'x', reason: 42 } }),
    ]
    appendRecords(db, records)
    const sql = db.prepare(`SELECT ${FTS_TEXT_SQL} AS text FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid ORDER BY a.id`).pluck().all() as string[]
    const q = createActivityQueries(db)
    expect(sql).toEqual(records.map((r) => ftsText(r, toRows(r, null).body)))
    const found = (text: string): string[] => q.list({ q: text }, { limit: 10, offset: 0 }).activities.map((r) => r.type)
    expect(found('quarantined')).toEqual(['policy_decision'])
    expect(found('poisoning')).toEqual(['quarantine_change'])
    expect(found('greet')).toEqual(['tool_call'])
  })
})
