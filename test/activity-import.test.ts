/**
 * Import through the real parts: the worker thread built as the CLI builds it, a child process
 * killed with SIGKILL in the middle of an import, and another process appending while an import runs.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { ulid } from 'ulid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../src/shared/activity'
import { appendRecords } from '../src/core/activity/append'
import { verifyChain } from '../src/core/activity/chain'
import { importActivity } from '../src/core/activity/import'
import { openDb, type Db } from '../src/core/store/db'
import { bundleFixture } from './fixtures/bundle-fixture'
import { recomputedCounts, storedCounts } from './helpers/activity-counts'

let dir: string
let child: string
let writer: string
let worker: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'activity-import-'))
  child = await bundleFixture('test/fixtures/import-child.ts')
  writer = await bundleFixture('test/fixtures/crash-writer.ts', 'import-append-writer')
  worker = await bundleFixture('src/core/activity/import-worker.ts', 'activity-import-worker')
}, 60_000)
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  for (const f of [child, writer, worker]) rmSync(f, { force: true })
})

/** Records per import transaction here (IMPORT_CHUNK is larger: these tests need a few chunks, not its size). */
const IMPORT_CHUNK = 3000
const T0 = Date.UTC(2026, 1, 1)
function record(i: number): ActivityRecord {
  const at = T0 + i * 1000
  return {
    id: ulid(at),
    type: 'tool_call',
    timestamp: new Date(at).toISOString(),
    status: i % 10 === 0 ? 'error' : 'success',
    server_name: `srv${i % 4}`,
    tool_name: `tool_${i % 9}`,
    session_id: `s${Math.floor(i / 100)}`,
    arguments: { path: `/data/${i}`, words: 'alpha beta gamma' },
    response: { content: [{ type: 'text', text: `answer ${i}` }] },
    duration_ms: i % 50,
    prev_hash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
  }
}

function writeJsonl(file: string, from: number, n: number): void {
  writeFileSync(file, Array.from({ length: n }, (_, k) => JSON.stringify(record(from + k))).join('\n') + '\n')
}

function expectConsistent(db: Db): void {
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
  db.prepare("INSERT INTO activity_fts (activity_fts) VALUES ('integrity-check')").run()
  expect(db.prepare('SELECT count(*) FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid WHERE b.rid IS NULL').pluck().get()).toBe(0)
  expect(verifyChain(db)).toMatchObject({ ok: true })
  expect(storedCounts(db)).toEqual(recomputedCounts(db))
}

describe('import', () => {
  it('killed with SIGKILL in the middle leaves whole chunks and a valid chain; importing again adds the rest', async () => {
    const file = join(dir, 'killed.db')
    const input = join(dir, 'killed.jsonl')
    const n = IMPORT_CHUNK * 5
    writeJsonl(input, 0, n)
    openDb(file).close()
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, [child, 'import', file, input, pathToFileURL(worker).href, String(IMPORT_CHUNK)], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      p.stderr.on('data', (d: Buffer) => (err += d.toString()))
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.split('\n').filter((l) => l.startsWith('P ')).length >= 2 && !p.killed) p.kill('SIGKILL')
      })
      p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`import finished before the kill (${code}): ${out} ${err}`))))
    })
    const db = openDb(file)
    try {
      const kept = db.prepare('SELECT count(*) FROM activity').pluck().get() as number
      expect(kept).toBeGreaterThanOrEqual(2 * IMPORT_CHUNK)
      expect(kept).toBeLessThan(n)
      expect(kept % IMPORT_CHUNK).toBe(0)
      expectConsistent(db)
      const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity })
      const again = await importActivity(db, lines, undefined, { workerUrl: pathToFileURL(worker), chunkRecords: IMPORT_CHUNK })
      expect(again).toMatchObject({ read: n, imported: n - kept, skipped_existing: kept, errors: [] })
      expect(verifyChain(db)).toMatchObject({ ok: true, checked: n })
      expectConsistent(db)
    } finally {
      db.close()
    }
  }, 120_000)

  it('into a database with records while another process appends: every record once, one valid chain', async () => {
    const file = join(dir, 'shared.db')
    const n = IMPORT_CHUNK * 3
    const db = openDb(file)
    try {
      appendRecords(db, [record(0), record(1)])
      const appended = 2000
      const other = spawn(process.execPath, [writer, 'append', file, String(appended), 'other'], { stdio: ['pipe', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      other.stderr.on('data', (d: Buffer) => (err += d.toString()))
      const ready = new Promise<void>((resolve) => other.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.startsWith('ready\n') && resolve())))
      const done = new Promise<void>((resolve, reject) => other.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}: ${err}`)))))
      await ready
      // the other process starts once the first chunk is in and is done before the rest is read:
      // its records land between imported ones, after the worker linked those to an older head
      const all = Array.from({ length: n }, (_, k) => JSON.stringify(record(10 + k)))
      let firstChunk!: () => void
      const firstChunkIn = new Promise<void>((resolve) => (firstChunk = resolve))
      async function* lines(): AsyncGenerator<string> {
        yield* all.slice(0, 2 * IMPORT_CHUNK)
        await firstChunkIn
        other.stdin.end('go\n')
        await done
        yield* all.slice(2 * IMPORT_CHUNK)
      }
      const result = await importActivity(db, lines(), () => firstChunk(), { workerUrl: pathToFileURL(worker), chunkRecords: IMPORT_CHUNK })
      await done
      expect(result).toMatchObject({ read: n, imported: n, skipped_existing: 0, errors: [] })
      expect(db.prepare("SELECT count(*) FROM activity WHERE server_name = 'other'").pluck().get()).toBe(appended)
      const total = 2 + n + appended
      expect(db.prepare('SELECT count(*) AS n, count(DISTINCT seq) AS seqs, max(seq) AS hi FROM activity').get()).toEqual({ n: total, seqs: total, hi: total })
      expect(verifyChain(db)).toMatchObject({ ok: true, checked: total })
      const bySeq = db.prepare('SELECT server_name FROM activity ORDER BY seq').pluck().all() as string[]
      expect(bySeq.indexOf('other')).toBeGreaterThanOrEqual(2 + IMPORT_CHUNK)
      expect(bySeq.lastIndexOf('other')).toBeLessThan(2 + 2 * IMPORT_CHUNK + appended)
      expectConsistent(db)
    } finally {
      db.close()
    }
  }, 120_000)
})
