import { parse } from 'csv-parse/sync'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { CSV_BODY_COLUMNS, CSV_COLUMNS, EXPORT_CHUNK_ROWS, exportActivity } from './export'
import { importActivity } from './import'
import { createActivityQueries, ROW_COLUMNS } from './query'
import { fromRows, type ActivityRow, type BodyRow } from './record-codec'
import type { ExportOptions } from './types'

const T0 = Date.UTC(2026, 2, 1)

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'export-'))
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
    type: 'tool_call',
    status: i % 3 === 0 ? 'error' : 'success',
    server_name: i % 2 ? 'github' : 'fs',
    tool_name: 'tool_' + (i % 5),
    session_id: 'sess-' + (i % 4),
    arguments: { n: i, path: `/tmp/file-${i}` },
    response: { content: [{ type: 'text', text: `result ${i}` }] },
    duration_ms: i,
    request_bytes: 20,
    ...fields,
  }
}

async function collect(filter: ActivityFilter, options: ExportOptions): Promise<string[]> {
  const chunks: string[] = []
  for await (const c of exportActivity(db, filter, options)) chunks.push(c)
  return chunks
}

const withoutHashes = (r: ActivityRecord): ActivityRecord => {
  const { prev_hash: _p, hash: _h, ...rest } = r
  return rest as ActivityRecord
}

describe('exportActivity lines', () => {
  it('are the text of JSON.stringify(fromRows(row)) for every shape of record, bodies appended', async () => {
    appendRecords(db, [
      rec(1),
      rec(2, { status: 'pending', duration_ms: undefined, response: undefined, session_id: undefined }),
      rec(3, { type: 'policy_decision', tool_name: undefined, server_name: undefined, arguments: undefined, response: undefined, policy: { decision: 'deny', reason: 'r "q" \u2028' } }),
      rec(4, { error: 'bad\nline "x"', duration_ms: 1.5, intent: { operation_type: 'read', reason: 'é 東京' }, detection_types: ['jwt'], metadata: { a: [1, null, { b: 'c' }] } }),
    ])
    const rows = db.prepare(`SELECT ${ROW_COLUMNS}, b.arguments, b.response FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid ORDER BY a.id`).all() as Array<ActivityRow & BodyRow>
    expect(rows).toHaveLength(4)
    const plain = (await collect({}, { format: 'json', includeBodies: false })).join('').trimEnd().split('\n')
    const full = (await collect({}, { format: 'json', includeBodies: true })).join('').trimEnd().split('\n')
    expect(plain).toEqual(rows.map((row) => JSON.stringify(fromRows(row))))
    expect(full.map((l) => JSON.parse(l) as unknown)).toEqual(rows.map((row) => fromRows(row, row)))
  })
})

describe('exportActivity as JSON Lines', () => {
  it('streams every record oldest first in chunks and round-trips through import into a fresh db', async () => {
    const n = EXPORT_CHUNK_ROWS * 2 + 7
    const records = Array.from({ length: n }, (_, i) =>
      rec(i, i === 5 ? { intent: { operation_type: 'write', reason: 'a, "quoted"\nreason' }, pii_detected: ['email'] } : {}),
    )
    appendRecords(db, [records[0]!, { ...rec(-1), status: 'pending', id: ulid(T0 + 500), timestamp: new Date(T0 + 500).toISOString() }])
    appendRecords(db, records.slice(1))
    const chunks = await collect({}, { format: 'json', includeBodies: true })
    expect(chunks.length).toBe(3)
    const lines = chunks.join('').trimEnd().split('\n')
    expect(lines.length).toBe(n + 1)
    const exported = lines.map((l) => JSON.parse(l) as ActivityRecord)
    expect(exported.map((r) => r.id)).toEqual([...exported.map((r) => r.id)].sort())
    expect(exported[0]).toMatchObject({ arguments: { n: 0 }, hash: expect.stringMatching(/^[0-9a-f]{64}$/) })

    const fresh = openDb(join(dir, 'b.db'))
    try {
      const progress: number[] = []
      const result = await importActivity(fresh, lines, (read) => progress.push(read))
      expect(result).toEqual({ read: n + 1, imported: n + 1, skipped_existing: 0, errors: [] })
      expect(progress.at(-1)).toBe(n + 1)
      const back = createActivityQueries(fresh)
      const source = createActivityQueries(db)
      for (const r of [exported[0]!, exported[1]!, exported[6]!, exported[n]!]) {
        expect(withoutHashes(back.get(r.id)!)).toEqual(withoutHashes(source.get(r.id)!))
      }
      expect(back.count({})).toBe(n + 1)
      expect(back.get(exported[1]!.id)).toMatchObject({ status: 'pending' })
    } finally {
      fresh.close()
    }
  })

  it('leaves bodies out unless asked and honours the filter', async () => {
    appendRecords(db, [rec(1), rec(2), rec(3), rec(4)])
    const lines = (await collect({ server: 'github' }, { format: 'json', includeBodies: false })).join('').trimEnd().split('\n')
    const records = lines.map((l) => JSON.parse(l) as ActivityRecord)
    expect(records.map((r) => r.arguments?.toString())).toEqual([undefined, undefined])
    expect(records.map((r) => r.server_name)).toEqual(['github', 'github'])
    expect(records[0]).not.toHaveProperty('response')
    expect(await collect({ q: 'nothing-matches-this' }, { format: 'json', includeBodies: false })).toEqual([])
    const hit = (await collect({ q: 'file-3', type: ['tool_call', 'policy_decision'] }, { format: 'json', includeBodies: true })).join('')
    expect(hit.trimEnd().split('\n').map((l) => (JSON.parse(l) as ActivityRecord).arguments)).toEqual([{ n: 3, path: '/tmp/file-3' }])
  })
})

describe('exportActivity as CSV', () => {
  it('writes the documented header and escapes commas, quotes and newlines', async () => {
    appendRecords(db, [
      rec(1, {
        error: 'failed, then "retried"\nand failed again',
        intent: { operation_type: 'write', reason: 'x' },
        detection_types: ['github_token', 'jwt'],
        response_truncated: true,
        client: { name: 'Claude Desktop' },
        policy: { decision: 'deny', reason: 'rule 1' },
      }),
      rec(2),
    ])
    const text = (await collect({}, { format: 'csv', includeBodies: true })).join('')
    expect(text.split('\n')[0]).toBe([...CSV_COLUMNS, ...CSV_BODY_COLUMNS].join(','))
    const rows = parse(text, { columns: true }) as Array<Record<string, string>>
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({
      error: 'failed, then "retried"\nand failed again',
      intent_operation_type: 'write',
      detection_types: 'github_token;jwt',
      response_truncated: 'true',
      client_name: 'Claude Desktop',
      policy_decision: 'deny',
      policy_reason: 'rule 1',
      request_bytes: '20',
      duration_ms: '1',
      pii_detected: '',
      arguments: '{"n":1,"path":"/tmp/file-1"}',
    })
    expect(JSON.parse(rows[1]!.response!)).toEqual({ content: [{ type: 'text', text: 'result 2' }] })
    expect(rows[1]!.hash).toMatch(/^[0-9a-f]{64}$/)

    const noBodies = (await collect({}, { format: 'csv', includeBodies: false })).join('')
    expect(noBodies.split('\n')[0]).toBe(CSV_COLUMNS.join(','))
    expect(noBodies).not.toContain('/tmp/file-1')
  })

  it('writes only the header when nothing matches', async () => {
    expect(await collect({ server: 'none' }, { format: 'csv', includeBodies: false })).toEqual([CSV_COLUMNS.join(',') + '\n'])
  })
})

describe('recordsFromJsonLines', () => {
  it('rebuilds records whatever the chunking, including a last line without newline', async () => {
    const { recordsFromJsonLines } = await import('./export')
    const a = { id: 'a', n: 1 }
    const b = { id: 'b', text: 'line\\nbreak inside a string' }
    const text = JSON.stringify(a) + '\n\n' + JSON.stringify(b)
    async function* chunks(size: number): AsyncGenerator<string> {
      for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size)
    }
    for (const size of [1, 3, 7, text.length]) {
      const out: unknown[] = []
      for await (const r of recordsFromJsonLines(chunks(size))) out.push(r)
      expect(out).toEqual([a, b])
    }
  })
})
