/**
 * Two processes append to one database at the same time through the real store (as the app
 * and a `wrap` do): every record lands once and the hash chain stays one valid chain.
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-'))
  fixture = await bundleFixture('test/fixtures/crash-writer.ts', 'append-writer')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(fixture, { force: true })
})

interface Writer {
  ready: Promise<void>
  go(): void
  done: Promise<string>
}

/** Starts a writer that waits at a barrier until go(), so that both write at the same time. */
function startWriter(file: string, n: number, tag: string): Writer {
  const child = spawn(process.execPath, [fixture, 'append', file, String(n), tag], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let onReady!: () => void
  const ready = new Promise<void>((r) => (onReady = r))
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    if (out.startsWith('ready\n')) onReady()
  })
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`writer ${tag} exited ${code}: ${err}`))))
  })
  return { ready, go: () => child.stdin.end('go\n'), done }
}

describe('several processes appending to one database', () => {
  it('keeps every record and one valid chain', async () => {
    const file = join(dir, 'shared.db')
    openDb(file).close()
    const N = 1500
    const writers = [startWriter(file, N, 'app'), startWriter(file, N, 'wrap')]
    await Promise.all(writers.map((w) => w.ready))
    for (const w of writers) w.go()
    expect(await Promise.all(writers.map((w) => w.done))).toEqual(['ready\ndone', 'ready\ndone'])
    const db = openDb(file)
    try {
      expect(db.prepare('SELECT server_name, count(*) AS n FROM activity GROUP BY server_name ORDER BY 1').all()).toEqual([
        { server_name: 'app', n: N },
        { server_name: 'wrap', n: N },
      ])
      expect(db.prepare('SELECT min(seq) AS lo, max(seq) AS hi, count(DISTINCT seq) AS n FROM activity').get()).toEqual({ lo: 1, hi: 2 * N, n: 2 * N })
      expect(verifyChain(db)).toEqual({ ok: true, checked: 2 * N, first_seq: 1, last_seq: 2 * N, pending: 0 })
      // both writers were active at once: their records interleave in the chain
      const switches = db.prepare('SELECT server_name FROM activity ORDER BY seq').pluck().all() as string[]
      expect(switches.filter((s, i) => i > 0 && s !== switches[i - 1]).length).toBeGreaterThan(1)
    } finally {
      db.close()
    }
  })
})
