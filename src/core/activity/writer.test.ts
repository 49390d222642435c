import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeTime } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityInput } from '../../shared/activity'
import { CoreError } from '../errors'
import { silentLogger, type Logger } from '../logger'
import { openDb, type Db } from '../store/db'
import type { BatchResult } from './append'
import { verifyChain } from './chain'
import { DEFAULT_ACTIVITY_SETTINGS, type ActivitySettings } from './types'
import { CLOSE_RETRY_MS, createActivityWriter, isoTime, type ActivityWriter } from './writer'

let dir: string
let db: Db
let writer: ActivityWriter | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'writer-'))
  db = openDb(join(dir, 'a.db'))
})
afterEach(async () => {
  await writer?.close().catch(() => {})
  writer = undefined
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

function make(settings: Partial<ActivitySettings> = {}, onCommitted?: (r: BatchResult) => void): ActivityWriter {
  writer = createActivityWriter(db, { ...DEFAULT_ACTIVITY_SETTINGS, ...settings }, silentLogger, { onCommitted })
  return writer
}

const call = (extra: Partial<ActivityInput> = {}): ActivityInput => ({
  type: 'tool_call',
  status: 'success',
  server_name: 'srv',
  tool_name: 'echo',
  arguments: { message: 'hi' },
  response: { content: [{ type: 'text', text: 'Echo: hi' }] },
  ...extra,
})

const count = (where = '1'): number => (db.prepare(`SELECT count(*) AS n FROM activity WHERE ${where}`).get() as { n: number }).n
const row = (id: string): Record<string, unknown> => db.prepare('SELECT * FROM activity WHERE id = ?').get(id) as Record<string, unknown>
const body = (id: string): Record<string, unknown> =>
  db.prepare('SELECT b.* FROM activity_body b JOIN activity a ON a.rid = b.rid WHERE a.id = ?').get(id) as Record<string, unknown>

describe('isoTime', () => {
  it('formats exactly as Date#toISOString, within a second, across seconds and far from now', () => {
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, -1, -1000, -1001, 253402300799999, 253402300800000, -62198755200001, 1763700000123.7]
    for (let t = Date.UTC(2026, 0, 1, 23, 59, 58, 990); t < Date.UTC(2026, 0, 2, 0, 0, 0, 20); t += 1) times.push(t)
    for (const t of times) expect([t, isoTime(t)]).toEqual([t, new Date(t).toISOString()])
  })
})

describe('activity writer', () => {
  it('returns a ULID at once, writes nothing on the call path, and commits a burst as one batch', async () => {
    const batches: BatchResult[] = []
    const w = make({}, (r) => batches.push(r))
    const ids = Array.from({ length: 20 }, (_, i) => w.record(call({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() })))
    expect(new Set(ids).size).toBe(20)
    expect(decodeTime(ids[3]!)).toBe(Date.UTC(2026, 0, 1, 0, 0, 3))
    expect(count()).toBe(0)
    expect(w.stats().queued).toBe(20)
    await w.flush()
    expect(count()).toBe(20)
    expect(batches).toHaveLength(1)
    expect(batches[0]!.inserted.map((r) => r.id)).toEqual(ids)
    expect(w.stats()).toMatchObject({ queued: 0, written: 20, batches: 1, dropped: 0 })
  })

  it('commits within the window without a flush', async () => {
    let done!: (r: BatchResult) => void
    const committed = new Promise<BatchResult>((resolve) => (done = resolve))
    const w = make({ commitWindowMs: 10 }, (r) => done(r))
    const id = w.record(call())
    expect((await committed).inserted[0]!.id).toBe(id)
    expect(count()).toBe(1)
  })

  it('writes a full batch without waiting for the window', async () => {
    const batches: number[] = []
    const w = make({ commitWindowMs: 60_000 }, (r) => batches.push(r.inserted.length))
    for (let i = 0; i < 600; i++) w.record(call())
    await new Promise((r) => setImmediate(r))
    expect(batches[0]).toBe(512)
    await w.flush()
    expect(batches).toEqual([512, 88])
  })

  it('coalesces a fast call into one finalized insert, and finalizes a slow one by update', async () => {
    const batches: BatchResult[] = []
    const w = make({}, (r) => batches.push(r))
    const fast = w.record(call({ status: 'pending', response: undefined }))
    w.complete(fast, { status: 'success', response: 'done', duration_ms: 3 })
    await w.flush()
    expect(batches).toHaveLength(1)
    expect(w.stats().written).toBe(1)
    expect(row(fast)).toMatchObject({ status: 'success', seq: 1, duration_ms: 3 })

    const slow = w.record(call({ status: 'pending', response: undefined }))
    await w.flush()
    expect(row(slow)).toMatchObject({ status: 'pending', seq: null })
    w.complete(slow, { status: 'error', error: 'upstream failed', duration_ms: 900 })
    await w.flush()
    expect(row(slow)).toMatchObject({ status: 'error', seq: 2, error: 'upstream failed' })
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 2, pending: 0 })
  })

  it('drops the oldest droppable records on overflow, counts them by type, and never drops audit records', async () => {
    const w = make({ queueLimit: 4, commitWindowMs: 60_000 })
    const kept: string[] = []
    for (let i = 0; i < 3; i++) kept.push(w.record({ type: 'policy_decision', status: 'blocked', policy: { decision: 'deny' } }))
    const calls = Array.from({ length: 5 }, () => w.record(call()))
    kept.push(w.record({ type: 'quarantine_change', status: 'success', server_name: 'srv' }))
    kept.push(w.record({ type: 'tool_change', status: 'success', server_name: 'srv' }))
    w.record({ type: 'config_change', status: 'success' })
    expect(w.stats()).toMatchObject({ dropped: 6, dropped_by_type: { tool_call: 5, config_change: 1 } })
    await w.flush()
    const stored = (db.prepare('SELECT id FROM activity ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id)
    expect(stored).toEqual(kept)
    expect(stored).not.toContain(calls[4])
  })

  it('drops relayed messages before tool calls, and the completion of a dropped pending record with it', async () => {
    const warnings: string[] = []
    const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) }
    const w = (writer = createActivityWriter(db, { ...DEFAULT_ACTIVITY_SETTINGS, queueLimit: 4, commitWindowMs: 60_000 }, logger))
    const answered = w.record(call({ status: 'pending' }))
    w.complete(answered, { status: 'success', response: { ok: true } })
    const open = w.record(call({ status: 'pending' }))
    const request = w.record({ type: 'mcp_message', status: 'pending', metadata: { method: 'resources/read' } })
    // a burst of a server's notifications
    for (let i = 0; i < 50; i++) w.record({ type: 'mcp_message', status: 'success', metadata: { method: 'notifications/message' } })
    w.complete(request, { status: 'success' })
    w.complete(open, { status: 'success', duration_ms: 3 })
    expect(w.stats()).toMatchObject({ dropped: 49, dropped_by_type: { mcp_message: 49 } })
    await w.flush()
    expect(row(answered)).toMatchObject({ status: 'success' })
    expect(row(open)).toMatchObject({ status: 'success' })
    expect(row(request)).toBeUndefined()
    expect(db.prepare("SELECT count(*) AS n FROM activity WHERE type = 'mcp_message'").get()).toEqual({ n: 2 })
    expect(warnings).toEqual([])
  })

  it('drops the relayed messages first however many tool calls are queued ahead of them', () => {
    const w = make({ queueLimit: 2_000, commitWindowMs: 60_000 })
    for (let i = 0; i < 1_500; i++) w.record(call())
    for (let i = 0; i < 1_000; i++) w.record({ type: 'mcp_message', status: 'success', metadata: { method: 'notifications/progress' } })
    for (let i = 0; i < 10; i++) w.record(call())
    expect(w.stats()).toMatchObject({ dropped: 510, dropped_by_type: { mcp_message: 510 } })
    // with no relayed message left, the oldest tool calls go
    for (let i = 0; i < 500; i++) w.record(call())
    expect(w.stats()).toMatchObject({ dropped: 1_010, dropped_by_type: { mcp_message: 1_000, tool_call: 10 } })
  })

  it('never throws into the caller: a bad timestamp becomes now, an unknown type is dropped', async () => {
    const w = make()
    const before = Date.now()
    const id = w.record(call({ timestamp: 'not a time' }))
    const unknown = w.record({ ...call(), type: 'bogus' as never })
    await w.flush()
    expect(decodeTime(id)).toBeGreaterThanOrEqual(before)
    expect(row(id)).toMatchObject({ ts: decodeTime(id) })
    expect(row(unknown)).toBeUndefined()
  })

  it('flushes the queue on close and ignores records after it', async () => {
    const w = make({ commitWindowMs: 60_000 })
    w.record(call())
    await w.close()
    expect(count()).toBe(1)
    w.record(call())
    await new Promise((r) => setTimeout(r, 5))
    expect(count()).toBe(1)
  })

  it('queues an admitted record as it is, merges its completion, and ignores admitted records after close', async () => {
    const w = make({ commitWindowMs: 60_000 })
    const id = '01KAAAAAAAAAAAAAAAAAAAAAAA'
    w.recordAdmitted({ ...call({ status: 'pending', response: undefined }), id, timestamp: '2026-01-02T03:04:05.678Z' })
    w.complete(id, { status: 'success', response: { content: [{ type: 'text', text: 'Echo: hi' }] }, duration_ms: 2 })
    await w.close()
    expect(row(id)).toMatchObject({ ts: Date.parse('2026-01-02T03:04:05.678Z'), status: 'success', duration_ms: 2 })
    expect(JSON.parse(body(id).response as string)).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] })
    w.recordAdmitted({ ...call(), id: '01KBBBBBBBBBBBBBBBBBBBBBBB', timestamp: new Date().toISOString() })
    expect(w.stats().queued).toBe(0)
    expect(count()).toBe(1)
  })

  it('keeps a batch the disk cannot take, reports the error, and writes it once space returns', async () => {
    const w = make({ commitWindowMs: 60_000 })
    const pages = db.pragma('page_count', { simple: true }) as number
    db.pragma(`max_page_count = ${pages + 2}`)
    const big = 'x'.repeat(6000)
    const ids = Array.from({ length: 30 }, (_, i) => w.record(call({ arguments: { big, i } })))
    await expect(w.flush()).rejects.toMatchObject({ code: 'SQLITE_FULL' })
    expect(w.stats()).toMatchObject({ queued: 30, written: 0 })
    expect(w.stats().last_error).toMatch(/SQLITE_FULL/)
    expect(count()).toBe(0)
    db.pragma('max_page_count = 1073741823')
    await w.flush()
    expect(w.stats()).toMatchObject({ queued: 0, written: 30 })
    expect(w.stats().last_error).toBeUndefined()
    expect((db.prepare('SELECT id FROM activity ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id)).toEqual(ids)
    expect(verifyChain(db).ok).toBe(true)
  })

  describe('closing on a full disk', () => {
    const errors: Array<{ msg: string; fields?: Record<string, unknown> }> = []
    const logger: Logger = { ...silentLogger, error: (msg, fields) => void errors.push({ msg, fields }), child: () => logger }
    const fill = (): void => {
      db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 2}`)
    }
    const big = 'x'.repeat(6000)
    beforeEach(() => void errors.splice(0))

    it(`retries for CLOSE_RETRY_MS (${CLOSE_RETRY_MS} ms), then rejects with DISK_FULL counting the records lost, and says so on the logger`, async () => {
      writer = createActivityWriter(db, { ...DEFAULT_ACTIVITY_SETTINGS, commitWindowMs: 60_000 }, logger)
      const w = writer
      fill()
      for (let i = 0; i < 30; i++) w.record(call({ arguments: { big, i } }))
      const started = Date.now()
      const err = await w.close().catch((e: unknown) => e)
      // it kept trying for the whole bound before giving up
      expect(Date.now() - started).toBeGreaterThanOrEqual(CLOSE_RETRY_MS - 50)
      expect(err).toBeInstanceOf(CoreError)
      expect(err).toMatchObject({ code: 'DISK_FULL', status: 507, details: { lost: 30 } })
      expect((err as Error).message).toBe('30 activity records could not be written before closing and are lost (SQLITE_FULL: database or disk is full)')
      // the logger's error level is the one a CLI shell copies to stderr
      expect(errors.at(-1)).toEqual({ msg: (err as Error).message, fields: { lost: 30, error: 'SQLITE_FULL: database or disk is full' } })
      expect(count()).toBe(0)
      expect(w.stats()).toMatchObject({ queued: 30, written: 0 })
      w.record(call())
      expect(w.stats().queued).toBe(30)
      // nothing more is written after that: a flush gets the same answer at once, even with space back
      db.pragma('max_page_count = 1073741823')
      await expect(w.flush()).rejects.toBe(err)
      expect(count()).toBe(0)
    })

    it('writes everything when space returns within the bound, and closes cleanly', async () => {
      writer = createActivityWriter(db, { ...DEFAULT_ACTIVITY_SETTINGS, commitWindowMs: 60_000 }, logger)
      const w = writer
      fill()
      const ids = Array.from({ length: 30 }, (_, i) => w.record(call({ arguments: { big, i } })))
      setTimeout(() => db.pragma('max_page_count = 1073741823'), 500)
      await w.close()
      expect(w.stats()).toMatchObject({ queued: 0, written: 30 })
      expect((db.prepare('SELECT id FROM activity ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id)).toEqual(ids)
      expect(verifyChain(db).ok).toBe(true)
      expect(errors.map((e) => e.msg)).not.toContainEqual(expect.stringMatching(/lost/))
    })
  })

  it('truncates a large response to a preview, keeping its original size', async () => {
    const w = make({ maxResponseSize: 100 })
    const response = { text: 'é'.repeat(500) }
    const id = w.record(call({ response }))
    const small = w.record(call({ response: 'short' }))
    await w.flush()
    const meta = JSON.parse(row(id).meta as string)
    expect(meta).toMatchObject({ response_truncated: true, response_bytes: Buffer.byteLength(JSON.stringify(response)) })
    const preview = JSON.parse(body(id).response as string) as string
    expect(typeof preview).toBe('string')
    expect(Buffer.byteLength(preview)).toBeLessThanOrEqual(100)
    expect(preview.startsWith('{"text":"éé')).toBe(true)
    expect(JSON.parse(row(small).meta as string)).toMatchObject({ response_bytes: 7 })
    expect(JSON.parse(row(small).meta as string)).not.toHaveProperty('response_truncated')
  })

  it('measures what the recorder left out: sizes, token estimates and entities, with secrets in entities masked', async () => {
    const w = make()
    const args = { url: 'https://bob:hunter2hunter2@db.example.org/x', path: '/srv/data/report.csv' }
    const response = { content: [{ type: 'text', text: 'done' }] }
    const measured = w.record(call({ arguments: args, response }))
    const given = w.record(call({ arguments: args, response, request_bytes: 1, request_tokens: 1, response_bytes: 2, response_tokens: 2, entities: ['given'] }))
    const pending = w.record(call({ status: 'pending', arguments: { id: 'a' }, response: undefined }))
    w.complete(pending, { status: 'success', response: { big: 'x'.repeat(400) } })
    const other = w.record({ type: 'config_change', status: 'success', metadata: { key: 'listen' } })
    const read = w.record({ type: 'mcp_message', status: 'success', arguments: { uri: 'file:///srv/data/plan.md' }, metadata: { method: 'resources/read' } })
    await w.flush()
    const meta = (id: string): Record<string, unknown> => JSON.parse(row(id).meta as string) as Record<string, unknown>
    const requestBytes = Buffer.byteLength(JSON.stringify(args))
    const responseBytes = Buffer.byteLength(JSON.stringify(response))
    expect(meta(measured)).toMatchObject({ request_bytes: requestBytes, request_tokens: Math.ceil(requestBytes / 4), response_bytes: responseBytes, response_tokens: Math.ceil(responseBytes / 4) })
    const entities = meta(measured).entities as string[]
    expect(entities).toContain('/srv/data/report.csv')
    expect(entities.join(' ')).not.toContain('hunter2')
    expect(meta(given)).toMatchObject({ request_bytes: 1, request_tokens: 1, response_bytes: 2, response_tokens: 2, entities: ['given'] })
    expect(meta(pending)).toMatchObject({ request_bytes: Buffer.byteLength('{"id":"a"}'), entities: ['id=a'], response_bytes: 410, response_tokens: 103 })
    expect(meta(other)).not.toHaveProperty('request_bytes')
    // a relayed message is measured too: what a resources/read touched is its URI
    expect(meta(read)).toMatchObject({ request_bytes: Buffer.byteLength('{"uri":"file:///srv/data/plan.md"}'), entities: ['file:///srv/data/plan.md'] })
  })

  it('scans only what can reach the preview of a huge response, and masks a secret cut by the preview', async () => {
    const w = make({ maxResponseSize: 1000 })
    const token = 'ghp_' + 'Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6N'
    const huge = { content: [{ type: 'text', text: 'a'.repeat(950) + ' ' + token + ' ' + 'b'.repeat(3_000_000) }], tail: [token] }
    const id = w.record(call({ response: huge }))
    await w.flush()
    const preview = JSON.parse(body(id).response as string) as string
    expect(Buffer.byteLength(preview)).toBeLessThanOrEqual(1000)
    expect(preview).not.toContain(token.slice(0, 8))
    expect(preview).toMatch(/a \[REDACTED:[a-z_]*$/)
    const meta = JSON.parse(row(id).meta as string)
    expect(meta).toMatchObject({ response_truncated: true, response_bytes: Buffer.byteLength(JSON.stringify(huge)), detection_types: ['github_token'] })
  })

  it('stores no bodies in metadata-only mode', async () => {
    const w = make({ metadataOnly: true })
    const id = w.record(call())
    await w.flush()
    expect(body(id)).toMatchObject({ arguments: null, response: null })
    expect(row(id)).toMatchObject({ tool_name: 'echo' })
  })

  it('redacts secrets before writing and records what it found', async () => {
    const w = make()
    const token = 'ghp_' + 'a1B2c3D4e5'.repeat(3) + 'XyZ123'
    const id = w.record(call({ arguments: { token }, error: `auth failed for ${token}` }))
    await w.flush()
    expect(JSON.stringify(body(id))).not.toContain(token)
    expect(row(id).error).not.toContain(token)
    expect(JSON.parse(row(id).meta as string).detection_types).toContain('github_token')
  })

  it('scores each tool call once its final state is known: a secret in the response of a slow call raises it', async () => {
    const w = make()
    const token = 'ghp_' + 'a1B2c3D4e5'.repeat(3) + 'XyZ123'
    const meta = (id: string): { risk_score?: number } => JSON.parse(row(id).meta as string) as { risk_score?: number }
    const plain = w.record(call())
    const destructive = w.record(call({ flags: ['destructive'], arguments: { email: 'jane.doe@example.com' } }))
    const slow = w.record(call({ status: 'pending', response: undefined, flags: ['write'] }))
    await w.flush()
    expect(meta(plain).risk_score).toBe(0)
    expect(meta(destructive).risk_score).toBe(25 + 20)
    w.complete(slow, { status: 'success', response: { content: [{ type: 'text', text: `here: ${token}` }] } })
    await w.flush()
    expect(meta(slow).risk_score).toBe(10 + 40)
    // a score given by the recorder is kept, on a pending call too; records of other types have none
    const given = w.record(call({ risk_score: 77 }))
    const givenPending = w.record(call({ status: 'pending', response: undefined, risk_score: 55 }))
    const change = w.record({ type: 'server_change', status: 'success', server_name: 'srv' })
    await w.flush()
    w.complete(givenPending, { status: 'success', response: { content: [{ type: 'text', text: `again ${token}` }] } })
    await w.flush()
    expect(meta(given).risk_score).toBe(77)
    expect(meta(givenPending).risk_score).toBe(55)
    expect(meta(change).risk_score).toBeUndefined()
    expect(verifyChain(db)).toMatchObject({ ok: true })
  })

  it('drops only a record that cannot be stored, keeping the rest of its batch', async () => {
    const w = make()
    const good = w.record(call())
    const bad = w.record(call({ duration_ms: 'slow' as unknown as number }))
    const unserializable = w.record(call({ response: { big: 10n } }))
    const after = w.record(call())
    await w.flush()
    expect(row(good)).toBeDefined()
    expect(row(after)).toBeDefined()
    expect(row(bad)).toBeUndefined()
    expect(row(unserializable)).toBeUndefined()
    expect(w.stats()).toMatchObject({ dropped: 2, dropped_by_type: { tool_call: 2 }, written: 2, queued: 0 })
    expect(w.stats().last_error).toBeUndefined()
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 2 })
  })
})
