// The heavy reads (summary, metrics, verify) on the read worker: the same answers as on the
// core's thread, the core's event loop free while they run, and a failed worker falling back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ulid } from 'ulid'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bundleFixture } from '../../../test/fixtures/bundle-fixture'
import type { ActivityRecord } from '../../shared/activity'
import type { Logger } from '../logger'
import { openDb } from '../store/db'
import { appendRecords } from './append'
import { createActivityStore, type ActivityStoreHandle } from './store'

let workerUrl: URL
let dir: string
let file: string
const opened: ActivityStoreHandle[] = []
const warned: string[] = []
const logger: Logger = { debug: () => {}, info: () => {}, warn: (msg) => void warned.push(msg), error: () => {}, child: () => logger }

beforeAll(async () => {
  workerUrl = pathToFileURL(await bundleFixture('src/core/activity/read-worker.ts', 'activity-read-worker'))
}, 60_000)
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'read-offload-'))
  file = join(dir, 'activity.db')
  warned.length = 0
})
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})
afterAll(() => rmSync(workerUrl, { force: true }))

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0)

/** `n` tool calls over the hours before NOW, on two servers, one in ten an error. */
function seed(n: number): void {
  const db = openDb(file)
  const records: ActivityRecord[] = []
  for (let i = 0; i < n; i++) {
    const at = NOW - (n - i) * 1000
    records.push({
      id: ulid(at),
      timestamp: new Date(at).toISOString(),
      type: 'tool_call',
      status: i % 10 === 0 ? 'error' : 'success',
      server_name: i % 2 ? 'github' : 'filesystem',
      tool_name: i % 3 ? 'search' : 'read_file',
      duration_ms: i % 100,
      arguments: { i },
    })
  }
  for (let i = 0; i < records.length; i += 5000) appendRecords(db, records.slice(i, i + 5000))
  db.close()
}

const open = (url?: URL | string): ActivityStoreHandle => {
  const s = createActivityStore({ file, retention: false, logger, readWorkerUrl: url })
  opened.push(s)
  return s
}

/** How many timer turns this thread's event loop took while `work` was pending. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0
  const timer = setInterval(() => turns++, 1)
  try {
    const value = await work()
    return { value, turns }
  } finally {
    clearInterval(timer)
  }
}

describe('heavy reads on the read worker', () => {
  it('answer as the core thread does: summary, metrics, verify', async () => {
    seed(3000)
    const here = open()
    const there = open(workerUrl)
    const now = new Date(NOW)
    for (const period of ['1h', '24h'] as const) expect(await there.summary(period, now)).toEqual(await here.summary(period, now))
    expect(await there.metrics(2, undefined, now)).toEqual(await here.metrics(2, undefined, now))
    expect(await there.metrics(2, 'github', now)).toEqual(await here.metrics(2, 'github', now))
    const verified = await there.verify()
    expect(verified).toEqual(await here.verify())
    expect(verified).toMatchObject({ ok: true, checked: 3000 })
    expect((await there.summary('1h', now)).total).toBe(3000)
    expect(warned).toEqual([])
  })

  it('keep the error code of a bad request (the REST status depends on it)', async () => {
    const s = open(workerUrl)
    await expect(s.metrics(0)).rejects.toMatchObject({ code: 'INVALID_PARAMETER' })
    // and the worker goes on answering
    expect(await s.verify()).toMatchObject({ ok: true, checked: 0 })
  })

  it('see what this process wrote and flushed before the read', async () => {
    const s = open(workerUrl)
    expect((await s.summary('1h')).total).toBe(0)
    s.record({ type: 'tool_call', status: 'success', server_name: 'github', tool_name: 'search' })
    await s.flush()
    expect((await s.summary('1h')).total).toBe(1)
    expect(await s.verify()).toMatchObject({ ok: true, checked: 1 })
  })

  it("leave this thread's event loop running while the chain is verified; on this thread it stops", async () => {
    seed(20_000)
    const inline = await turnsDuring(() => open().verify())
    const offloaded = await turnsDuring(() => open(workerUrl).verify())
    expect(inline.value).toMatchObject({ ok: true, checked: 20_000 })
    expect(offloaded.value).toEqual(inline.value)
    // verify on the core thread runs from start to end without a turn of the event loop
    expect(inline.turns).toBe(0)
    expect(offloaded.turns).toBeGreaterThan(0)
  })

  it('a worker that fails to load: the reads run on this thread instead, with one warning', async () => {
    seed(10)
    const broken = join(dir, 'broken-worker.mjs')
    writeFileSync(broken, "throw new Error('this worker does not load')\n")
    const s = open(pathToFileURL(broken))
    expect(await s.verify()).toMatchObject({ ok: true, checked: 10 })
    expect(await s.summary('24h', new Date(NOW))).toMatchObject({ total: 10 })
    expect(warned.filter((w) => w.includes('read worker failed'))).toHaveLength(1)
  })

  it('a worker that cannot open the database: the reads run on this thread, with one warning', async () => {
    seed(10)
    const s = open(workerUrl)
    // this thread's connection keeps the file it opened; the worker, opening it now, finds none
    rmSync(file)
    expect(await s.verify()).toMatchObject({ ok: true, checked: 10 })
    expect(await s.summary('24h', new Date(NOW))).toMatchObject({ total: 10 })
    expect(warned.filter((w) => w.includes('read worker failed'))).toHaveLength(1)
  })

  it('a read still running when the store closes is refused, not left hanging', async () => {
    seed(20_000)
    const s = open(workerUrl)
    const pending = s.verify().then(
      () => 'answered',
      (err: Error) => err.message,
    )
    await s.close()
    expect(await pending).toMatch(/closed before the read finished/)
    await expect(s.verify()).rejects.toThrow(/closed/)
  })
})
