/**
 * Kills a child that writes activity continuously with SIGKILL, then reopens the database: it
 * must be intact, hold no half-written record, verify, and have lost at most the tail of what was
 * queued: with the in-thread writer, what was queued after the last commit (one group-commit
 * window); with the worker-thread writer the built `serve` and `stdio` use, what was queued after
 * the newest record the child saw committed (the window being gathered and the batch the worker
 * was writing: a commit is reported to the child after the fact). Twice, so that a restarted
 * writer continues the chain a killed one left.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../src/core/activity/chain'
import { openDb } from '../src/core/store/db'
import { bundleFixture } from './fixtures/bundle-fixture'

let dir: string
let fixture: string
let workerFile: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crash-'))
  fixture = await bundleFixture('test/fixtures/crash-writer.ts')
  workerFile = await bundleFixture('src/core/activity/writer-worker.ts', 'crash-writer-worker')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(fixture, { force: true })
  rmSync(workerFile, { force: true })
})

/** Runs the writer until it has committed `commits` records, then SIGKILLs it; returns its stdout lines and stderr. */
function runAndKill(file: string, commits: number, worker: boolean): Promise<{ lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, 'crash', file, ...(worker ? [workerFile] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let partial = ''
    let committed = 0
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n')
      partial = parts.pop()!
      for (const l of parts) {
        lines.push(l)
        if (l.startsWith('C ')) committed++
      }
      if (committed >= commits && child.exitCode === null && !child.killed) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (${code}): ${stderr}`))
      else resolve({ lines, stderr })
    })
  })
}

describe.each([
  ['the in-thread writer', false],
  ['the worker-thread writer', true],
])('activity store after SIGKILL of %s', (_name, worker) => {
  it('is intact, verifies, and lost only the tail of the queue after the last commit the child saw', async () => {
    const file = join(dir, `activity-${worker ? 'worker' : 'thread'}.db`)
    let expectedAtLeast = 0
    for (let round = 0; round < 2; round++) {
      const { lines, stderr } = await runAndKill(file, 800, worker)
      // no warning: in particular the worker never failed over to writing on the child's main thread
      expect(stderr).toBe('')
      const db = openDb(file)
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
        db.prepare("INSERT INTO activity_fts (activity_fts) VALUES ('integrity-check')").run()
        const orphans = db
          .prepare('SELECT count(*) FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid WHERE b.rid IS NULL')
          .pluck()
          .get()
        expect(orphans).toBe(0)
        const unsealed = db.prepare("SELECT count(*) FROM activity WHERE (seq IS NULL) != (status = 'pending') OR (seq IS NOT NULL AND hash IS NULL)").pluck().get()
        expect(unsealed).toBe(0)
        const result = verifyChain(db)
        expect(result).toMatchObject({ ok: true })

        const stored = new Map(
          (db.prepare('SELECT id, status FROM activity').all() as Array<{ id: string; status: string }>).map((r) => [r.id, r.status]),
        )
        const committed = lines.filter((l) => l.startsWith('C ')).map((l) => l.slice(2))
        expect(committed.length).toBeGreaterThanOrEqual(800)
        expect(committed.filter((id) => stored.get(id) === undefined || stored.get(id) === 'pending')).toEqual([])

        // nothing queued before the last commit the child saw was lost: in-thread, before the line
        // reporting it; through the worker, up to the newest record it reported committed
        const queued = lines.filter((l) => l.startsWith('Q ')).map((l) => l.slice(2))
        const lastCommitLine = lines.map((l) => l.startsWith('C ')).lastIndexOf(true)
        const queuedBefore = worker
          ? queued.indexOf(committed[committed.length - 1]!) + 1
          : lines.slice(0, lastCommitLine).filter((l) => l.startsWith('Q ')).length
        expect(queued.slice(0, queuedBefore).filter((id) => !stored.has(id))).toEqual([])
        // what is lost is the tail of the queue: nothing queued after a lost record was written
        const firstLost = queued.findIndex((id) => !stored.has(id))
        expect(queued.slice(firstLost < 0 ? queued.length : firstLost).filter((id) => stored.has(id))).toEqual([])
        expect(result.checked).toBeGreaterThan(expectedAtLeast)
        expectedAtLeast = result.checked
      } finally {
        db.close()
      }
    }
  })
})
