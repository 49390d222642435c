import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ulid } from 'ulid'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bundleFixture } from '../../../test/fixtures/bundle-fixture'
import type { Logger } from '../logger'
import type { ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { importActivity } from './import'
import { createActivityQueries } from './query'
import { chainHash, GENESIS_HASH } from './record-codec'

const T0 = Date.UTC(2026, 3, 1)

let dir: string
let db: Db
let workerFile: string

beforeAll(async () => {
  // a worker runs JavaScript: built the way scripts/build-cli.mjs builds the CLI's workers
  workerFile = await bundleFixture('src/core/activity/import-worker.ts', 'import-worker-unit')
}, 60_000)
afterAll(() => rmSync(workerFile, { force: true }))

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'import-'))
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
    status: 'success',
    server_name: 'fs',
    tool_name: 'read_file',
    arguments: { path: `/srv/${i}` },
    prev_hash: 'f'.repeat(64),
    hash: 'e'.repeat(64),
    ...fields,
  }
}

const line = (r: unknown): string => JSON.stringify(r)

/** Walks the chain by seq and checks every link. */
function chainIsValid(target: Db): boolean {
  const rows = createActivityQueries(target).since(0, 10_000).records
  let prev = GENESIS_HASH
  for (const r of rows) {
    if (r.prev_hash !== prev || r.hash !== chainHash(prev, r)) return false
    prev = r.hash
  }
  return true
}

describe('importActivity', () => {
  it('imports valid lines, reports each bad line with its number and keeps going', async () => {
    const good = [rec(1), rec(2), rec(3)]
    const skewed = rec(4)
    skewed.timestamp = new Date(T0 + 999_999).toISOString()
    const lines = [
      line(good[0]),
      '{not json',
      line({ ...rec(5), status: 'bogus' }),
      '',
      line(skewed),
      line({ ...rec(6), id: 'not-a-ulid' }),
      line(good[1]),
      line({ ...rec(7), timestamp: 'yesterday' }),
      line(good[2]),
    ]
    const result = await importActivity(db, lines)
    expect(result.read).toBe(8)
    expect(result.imported).toBe(3)
    expect(result.skipped_existing).toBe(0)
    expect(result.errors.map((e) => e.line)).toEqual([2, 3, 5, 6, 8])
    expect(result.errors[0]!.error).toMatch(/^not JSON/)
    expect(result.errors[1]!.error).toMatch(/^status:/)
    expect(result.errors[2]!.error).toMatch(/^id: the time of .* differs from timestamp/)
    expect(result.errors[3]!.error).toMatch(/^id: "not-a-ulid" is not a ULID/)
    expect(result.errors[4]!.error).toMatch(/^timestamp:/)
    const q = createActivityQueries(db)
    expect(q.count({})).toBe(3)
    expect(q.get(good[1]!.id)).toMatchObject({ arguments: { path: '/srv/2' } })
  })

  it('is idempotent on id and re-chains records into this database', async () => {
    appendRecords(db, [rec(0)])
    const twice = rec(2)
    const lines = [rec(1), twice, twice, rec(3)].map(line)
    const first = await importActivity(db, lines)
    expect(first).toMatchObject({ read: 4, imported: 3, skipped_existing: 1, errors: [] })
    const again = await importActivity(db, lines)
    expect(again).toMatchObject({ read: 4, imported: 0, skipped_existing: 4, errors: [] })
    const records = createActivityQueries(db).since(0, 100).records
    expect(records).toHaveLength(4)
    expect(records.every((r) => r.hash !== 'e'.repeat(64) && r.prev_hash !== 'f'.repeat(64))).toBe(true)
    expect(chainIsValid(db)).toBe(true)
  })

  it('reads async sources whose items hold several lines, with CRLF endings', async () => {
    async function* source(): AsyncGenerator<string> {
      yield line(rec(1)) + '\r\n' + line(rec(2)) + '\r\n'
      yield 'oops\n'
      yield line(rec(3))
    }
    const progress: number[] = []
    const result = await importActivity(db, source(), (n) => progress.push(n))
    expect(result).toMatchObject({ read: 4, imported: 3, errors: [{ line: 3 }] })
    expect(progress).toEqual([4])
  })

  it('restores the connection cache size afterwards', async () => {
    const before = db.pragma('cache_size', { simple: true })
    await importActivity(db, [line(rec(1))])
    expect(db.pragma('cache_size', { simple: true })).toBe(before)
  })

  it('gives the event loop a turn after each chunk it commits (a core serves calls meanwhile)', async () => {
    // one item of 50 lines parsed on this thread: without the turn the five commits would run
    // back to back in one synchronous loop
    const events: string[] = []
    const item = Array.from({ length: 50 }, (_, i) => line(rec(i))).join('\n')
    const result = await importActivity(
      db,
      [item],
      () => {
        events.push('commit')
        setImmediate(() => events.push('turn'))
      },
      { chunkRecords: 10 },
    )
    expect(result.imported).toBe(50)
    expect(events.join(' ')).toBe('commit turn commit turn commit turn commit turn commit turn')
  })

  it('parses on the worker thread with the same result, line numbers and chain as on this thread', async () => {
    const zero = rec(0)
    appendRecords(db, [zero])
    const first = Array.from({ length: 3000 }, (_, i) => line(rec(10 + i, { arguments: { text: 'x'.repeat(i % 500) } })))
    const lines = [
      ...first,
      '{broken',
      line({ ...rec(5000), type: 'nope' }),
      first[0]!,
      line(rec(6000, { status: 'pending' })),
      line(rec(6001, { server_name: 'lone \ud800 half' })),
    ]
    const other = openDb(join(dir, 'b.db'))
    try {
      appendRecords(other, [zero])
      const inline = await importActivity(other, lines)
      const worked = await importActivity(db, lines, undefined, { workerUrl: pathToFileURL(workerFile) })
      expect(worked).toEqual(inline)
      expect(worked).toMatchObject({ read: 3005, imported: 3002, skipped_existing: 1 })
      expect(worked.errors.map((e) => e.line)).toEqual([3001, 3002])
      const chain = (d: Db): unknown[] => d.prepare('SELECT seq, id, server_name, hash FROM activity ORDER BY rid').all()
      expect(chain(db)).toEqual(chain(other))
      expect(chainIsValid(db)).toBe(true)
    } finally {
      other.close()
    }
  })

  it('goes on on this thread when the worker fails, and says so', async () => {
    const broken = join(dir, 'broken-worker.mjs')
    writeFileSync(broken, "throw new Error('no worker today')\n")
    const warned: string[] = []
    const logger = { warn: (msg: string) => warned.push(msg) } as unknown as Logger
    const lines = Array.from({ length: 4000 }, (_, i) => line(rec(i)))
    const result = await importActivity(db, lines, undefined, { workerUrl: pathToFileURL(broken), logger })
    expect(result).toMatchObject({ read: 4000, imported: 4000, errors: [] })
    expect(warned).toEqual(['the import worker failed; parsing on this thread'])
    expect(chainIsValid(db)).toBe(true)
  })
})
