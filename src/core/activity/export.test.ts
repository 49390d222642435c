import { parse } from 'csv-parse/sync'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { stringify } from 'csv-stringify/sync'
import { CSV_BODY_COLUMNS, CSV_COLUMNS, EXPORT_CHUNK_ROWS, exportActivity } from './export'
import { createIsoTime, csvRow, type CsvCell } from './export-csv-row'
import { JSON_LINE_COLUMNS, jsonLine, jsonLineSql, type JsonLineRow } from './export-json-line'
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

/** Records of every shape the export must write exactly as the record codec round trip does. */
function variedRecords(): ActivityRecord[] {
  const out: ActivityRecord[] = []
  let i = 0
  const at = (ms: number, fields: Partial<ActivityRecord>): void => {
    out.push({ ...rec(0), id: ulid(ms), timestamp: new Date(ms).toISOString(), ...fields })
  }
  const next = (fields: Partial<ActivityRecord>): void => at(T0 + ++i * 1000 + (i % 7) * 111, fields)
  next({})
  next({ status: 'pending', duration_ms: undefined, response: undefined, session_id: undefined })
  next({ type: 'policy_decision', tool_name: undefined, server_name: undefined, arguments: undefined, response: undefined, policy: { decision: 'deny', reason: 'r "q" \u2028 \\' } })
  next({ error: 'bad\nline "x" \\ \t\u0000\u0001\u001f\u007f\u2028\u2029', duration_ms: 1.5, intent: { operation_type: 'read', reason: 'é 東京 😀' }, detection_types: ['jwt'], metadata: { a: [1, null, { b: 'c' }] } })
  next({ server_name: 'lone \ud800 high', tool_name: 'lone \udfff low', error: 'pair 😀 split \ud83d', arguments: { s: 'x\ud800y', '\udc00k': 1 }, metadata: { '\ud800': '\udbff' } })
  next({ session_id: '', request_id: '', error: '', server_name: '', tool_name: '' })
  // one character that needs quoting per record, so that no other cell makes its row quoted
  for (const special of ['cr\ronly', 'comma,only', 'quote"only', 'lf\nonly']) next({ error: special })
  next({ type: 'system_start', status: 'success', server_name: undefined, tool_name: undefined, session_id: undefined, arguments: undefined, response: undefined, duration_ms: undefined, request_bytes: undefined })
  next({ arguments: null, response: 'plain text', duration_ms: 0 })
  next({ arguments: [1, 'two', { three: 3 }], response: 12.5, duration_ms: -0 })
  next({ client: { name: 'Claude, "Desktop"', version: '1.0', pid: 42, exe: '/usr/bin/x' }, trace_id: 't'.repeat(32), span_id: 's'.repeat(16), risk_score: 0.75, entities: ['/tmp/a'], request_tokens: 3, response_tokens: 4, response_truncated: true, response_bytes: 70000, pii_detected: ['email', 'iban'], flags: ['a;b', 'c'] })
  // durations: what the recorders write (whole microseconds), and values SQLite would write otherwise
  for (const d of [12.345, 123456789.123, 0.001, 999999999999.999, 7, 1e-7, 0.00009, 1e15, 1e20, 0.1 + 0.2, 1 / 3, Math.PI * 1e10]) next({ duration_ms: d })
  // every UTF-16 code unit (lone surrogates are stored as U+FFFD by SQLite's UTF-8)
  for (let c = 0; c < 0x10000; c += 2048) {
    next({ error: String.fromCharCode(...Array.from({ length: 2048 }, (_, k) => c + k)), request_id: String.fromCharCode(c, c + 1, c + 2047) })
  }
  // times: the first millisecond ULIDs allow, the last of year 9999, and years JavaScript writes with a sign
  at(1, {})
  at(253_402_300_799_999, {})
  at(253_402_300_800_000, {})
  at(281_474_976_710_655, { duration_ms: 2.5 })
  return out
}

/** The line JSON.stringify gives for the record the codec rebuilds from the rows, bodies last. */
function codecLine(row: ActivityRow & BodyRow, bodies: boolean): string {
  const r = fromRows(row) as unknown as Record<string, unknown>
  if (bodies) {
    if (row.arguments !== null) r.arguments = JSON.parse(row.arguments)
    if (row.response !== null) r.response = JSON.parse(row.response)
  }
  return JSON.stringify(r)
}

const storedRows = (): Array<ActivityRow & BodyRow> =>
  db.prepare(`SELECT ${ROW_COLUMNS}, b.arguments, b.response FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid ORDER BY a.id`).all() as Array<ActivityRow & BodyRow>

describe('exportActivity lines', () => {
  it('are byte for byte JSON.stringify of the codec round trip, for every shape of record, with and without bodies', async () => {
    const records = variedRecords()
    appendRecords(db, records)
    const rows = storedRows()
    expect(rows).toHaveLength(records.length)
    for (const bodies of [false, true]) {
      const text = (await collect({}, { format: 'json', includeBodies: bodies })).join('')
      expect(text.endsWith('\n')).toBe(true)
      const lines = text.slice(0, -1).split('\n')
      expect(lines).toHaveLength(rows.length)
      lines.forEach((line, k) => expect(line, rows[k]!.id).toBe(codecLine(rows[k]!, bodies)))
    }
  })

  it('come from SQLite for what the recorders write, and from jsonLine for the values SQLite writes otherwise', () => {
    const records = variedRecords()
    appendRecords(db, records)
    for (const bodies of [false, true]) {
      const built = db
        .prepare(
          `SELECT a.id, ${jsonLineSql(bodies)} AS line, ${JSON_LINE_COLUMNS.map((c) => 'a.' + c).join(', ')}${bodies ? ', b.arguments, b.response' : ''}
           FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid ORDER BY a.id`,
        )
        .raw(true)
        .all() as Array<[string, string | null, ...JsonLineRow]>
      const byJs = built.map(([, , ...row]) => jsonLine(row, bodies))
      const rows = storedRows()
      built.forEach(([, line], k) => {
        expect(byJs[k]).toBe(codecLine(rows[k]!, bodies))
        if (line !== null) expect(line).toBe(byJs[k])
      })
      const left = new Set(built.filter(([, line]) => line === null).map(([id]) => id))
      const odd = (r: ActivityRecord): boolean =>
        Date.parse(r.timestamp) > 253_402_300_799_999 || [1e-7, 0.00009, 1e15, 1e20, 0.1 + 0.2, 1 / 3, Math.PI * 1e10].includes(r.duration_ms!)
      expect([...left].sort()).toEqual(records.filter(odd).map((r) => r.id).sort())
    }
  })
})

describe('exportActivity durations', () => {
  it('are the digits JavaScript writes, from SQLite for whole microseconds, whatever the double', async () => {
    // a fixed pseudo-random sequence (LCG): recorder durations of every magnitude, and raw doubles
    let seed = 12345
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const durations: number[] = []
    for (let k = 0; k < 1500; k++) durations.push(Math.round(10 ** (rand() * 12 - 3) * 1000) / 1000)
    for (let k = 0; k < 1500; k++) durations.push((rand() - 0.5) * 10 ** (rand() * 30 - 10))
    appendRecords(db, durations.map((d, k) => rec(k, { duration_ms: d })))
    const text = (await collect({}, { format: 'json', includeBodies: false })).join('')
    expect(text.trimEnd().split('\n').map((l) => /"duration_ms":([^,]*),/.exec(l)![1])).toEqual(durations.map((d) => JSON.stringify(d)))
    const bySql = db.prepare(`SELECT ${jsonLineSql(false)} FROM activity a ORDER BY a.id`).pluck().all() as Array<string | null>
    expect(bySql.slice(0, 1500).every((line) => line !== null)).toBe(true)
  })
})

describe('exportActivity as CSV, against csv-stringify of the documented cells', () => {
  it('writes every record exactly as csv-stringify writes the cells of its codec round trip', async () => {
    appendRecords(db, variedRecords())
    const rows = storedRows()
    for (const bodies of [false, true]) {
      const cells = rows.map((row) => {
        const r = fromRows(row, row)
        const list = (v?: string[]): string | undefined => v?.join(';')
        const c: CsvCell[] = [
          r.id, r.timestamp, r.type, r.server_name, r.tool_name, r.status, r.duration_ms, r.session_id, r.request_id, r.error,
          r.intent?.operation_type, r.intent?.reason, r.client?.name, list(r.detection_types), list(r.pii_detected), list(r.flags),
          r.policy?.decision, r.policy?.reason, r.response_truncated === undefined ? undefined : String(r.response_truncated),
          r.request_bytes, r.response_bytes, r.hash,
        ]
        if (bodies) c.push(row.arguments ?? undefined, row.response ?? undefined)
        return c
      })
      const header = bodies ? [...CSV_COLUMNS, ...CSV_BODY_COLUMNS] : [...CSV_COLUMNS]
      const text = (await collect({}, { format: 'csv', includeBodies: bodies })).join('')
      expect(text).toBe(stringify([header, ...cells]))
      expect(parse(text, { relax_column_count: false })).toHaveLength(rows.length + 1)
    }
  })
})

describe('csvRow', () => {
  it('is csv-stringify of the cells, whatever they hold', () => {
    const samples: CsvCell[] = [
      undefined, '', 'plain', 'a,b', 'say "hi"', 'line\nbreak', 'cr\rx', '\r\n', ',', '"', '=1+2', '-3', '+x', '@y', '\tt', ' spaced ',
      'é 東京 😀', 'semi;colon', "it's", 0, -0, 1.5, -2, 1e21, 2 ** 70,
    ]
    for (let k = 0; k < 2000; k++) {
      const cells = Array.from({ length: 1 + (k % 24) }, (_, j) => samples[(k * 7 + j * 13 + (k >> 3)) % samples.length])
      expect(csvRow(cells)).toBe(stringify([cells]))
    }
    // values the mapping never gives (booleans, objects) still go through csv-stringify
    const odd = ['x', true, { a: 1 }, null] as unknown as CsvCell[]
    expect(csvRow(odd)).toBe(stringify([odd]))
  })
})

describe('createIsoTime', () => {
  it('gives toISOString for ascending times across minutes, days and years, after jumps back, and out of its range', () => {
    const iso = createIsoTime()
    const times: number[] = []
    let t = Date.UTC(2025, 11, 31, 23, 58, 0, 0)
    for (let k = 0; k < 5000; k++) {
      t += [0, 1, 7, 999, 1000, 59_999, 60_000, 3_600_000 + 1][k % 8]!
      times.push(t)
    }
    times.push(0, 1, 59_999, 60_000, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) - 1, 253_402_300_799_999, 253_402_300_800_000, 281_474_976_710_655, 5)
    for (const ms of times) expect(iso(ms)).toBe(new Date(ms).toISOString())
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
      expect(result).toEqual({ read: n + 1, imported: n + 1, skipped_existing: 0, skipped_deleted: 0, errors: [] })
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

describe('exportActivity filters', () => {
  /** 120 records spread over every filtered field, a minute apart. */
  function filterableRecords(): ActivityRecord[] {
    const servers = ['github', 'fs', 'memory']
    const tools = ['read', 'write', 'delete', 'search']
    const intents = ['read', 'write', 'destructive'] as const
    return Array.from({ length: 120 }, (_, i) => {
      const at = T0 + i * 60_000
      const type = i % 10 === 9 ? 'policy_decision' : i % 10 === 8 ? 'server_change' : 'tool_call'
      const status = type === 'policy_decision' ? 'blocked' : (['success', 'success', 'error', 'timeout', 'pending'] as const)[i % 5]!
      return rec(i, {
        id: ulid(at),
        timestamp: new Date(at).toISOString(),
        type,
        status,
        server_name: servers[i % 3],
        tool_name: tools[i % 4],
        session_id: `sess-${i % 5}`,
        intent: i % 6 < 3 ? { operation_type: intents[i % 6]!, reason: i % 12 === 1 ? 'rotate the keys' : 'routine' } : undefined,
        detection_types: i % 7 === 0 ? ['jwt'] : undefined,
        pii_detected: i % 11 === 0 ? ['email'] : undefined,
        arguments: { n: i, note: i % 8 === 0 ? 'the needle is here' : 'hay' },
        duration_ms: status === 'pending' ? undefined : i,
        response: status === 'pending' ? undefined : { content: [{ type: 'text', text: `result ${i}` }] },
      })
    })
  }
  const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString()
  // each alone, and together with others: export builds its own WHERE (q as a temp table, type
  // and status scanned) and must select exactly what list selects
  const FILTERS: Array<[string, ActivityFilter]> = [
    ['type', { type: ['tool_call'] }],
    ['type (several)', { type: ['policy_decision', 'server_change'] }],
    ['server', { server: 'fs' }],
    ['tool', { tool: 'write' }],
    ['session_id', { session_id: 'sess-2' }],
    ['status', { status: ['error'] }],
    ['status (several, with pending)', { status: ['blocked', 'pending'] }],
    ['start_time', { start_time: at(70) }],
    ['end_time', { end_time: at(30) }],
    ['start_time and end_time', { start_time: at(20), end_time: at(50) }],
    ['start_time between records', { start_time: new Date(T0 + 40 * 60_000 + 1).toISOString(), end_time: new Date(T0 + 60 * 60_000 - 1).toISOString() }],
    ['intent_type', { intent_type: 'destructive' }],
    ['sensitive', { sensitive: true }],
    ['not sensitive', { sensitive: false }],
    ['q (arguments)', { q: 'needle' }],
    ['q (intent reason)', { q: 'rotate' }],
    ['server, status and intent_type', { server: 'github', status: ['success', 'error'], intent_type: 'read' }],
    ['tool, session_id and sensitive', { tool: 'read', session_id: 'sess-0', sensitive: true }],
    ['q, type and time', { q: 'needle', type: ['tool_call', 'server_change'], start_time: at(10) }],
  ]

  it.each(FILTERS)('%s: JSON Lines and CSV export the ids list returns', async (_name, filter) => {
    appendRecords(db, filterableRecords())
    const queries = createActivityQueries(db)
    const listed: string[] = []
    for (let offset = 0; ; offset += 100) {
      const page = queries.list(filter, { limit: 100, offset })
      listed.push(...page.activities.map((r) => r.id))
      if (page.activities.length < 100) break
    }
    expect(listed.length, 'the filter selects some records').toBeGreaterThan(0)
    expect(listed.length, 'the filter leaves some out').toBeLessThan(120)
    const expected = [...listed].reverse() // list is newest first, export oldest first
    for (const includeBodies of [false, true]) {
      const json = (await collect(filter, { format: 'json', includeBodies })).join('')
      expect(json.trimEnd().split('\n').map((l) => (JSON.parse(l) as ActivityRecord).id)).toEqual(expected)
      const csv = parse((await collect(filter, { format: 'csv', includeBodies })).join(''), { columns: true }) as Array<{ id: string }>
      expect(csv.map((r) => r.id)).toEqual(expected)
    }
    expect(queries.count(filter)).toBe(listed.length)
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
