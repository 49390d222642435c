import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BroadcastChannel } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { build } from 'esbuild'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { bundleFixture } from '../../../test/fixtures/bundle-fixture'
import type { ActivityInput } from '../../shared/activity'
import type { Logger } from '../logger'
import { RECORDING_NICE } from './recording-thread'
import { createActivityStore, type ActivityStoreHandle } from './store'
import { CLOSE_RETRY_MS } from './writer'
import type { AppendedBatch } from './types'

let buildDir: string
let workerUrl: URL
let dir: string
let file: string
const opened: ActivityStoreHandle[] = []

beforeAll(async () => {
  // a worker runs JavaScript: build the worker entry the way scripts/build-cli.mjs does
  // (inside the project, so that its imports of packages resolve from node_modules)
  mkdirSync(join(process.cwd(), '.tmp'), { recursive: true })
  buildDir = mkdtempSync(join(process.cwd(), '.tmp', 'writer-worker-build-'))
  const out = join(buildDir, 'activity-writer-worker.mjs')
  await build({ entryPoints: [join(__dirname, 'writer-worker.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  workerUrl = pathToFileURL(out)
}, 60_000)
afterAll(() => rmSync(buildDir, { recursive: true, force: true }))

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'worker-writer-'))
  file = join(dir, 'activity.db')
})
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})

const logged: Array<{ level: string; msg: string }> = []
const logger: Logger = {
  debug: (msg) => logged.push({ level: 'debug', msg }),
  info: (msg) => logged.push({ level: 'info', msg }),
  warn: (msg) => logged.push({ level: 'warn', msg }),
  error: (msg) => logged.push({ level: 'error', msg }),
  child: () => logger,
}

const open = (options: { url?: URL; pollMs?: number; worker?: boolean; commitWindowMs?: number; queueLimit?: number } = {}): ActivityStoreHandle => {
  const s = createActivityStore({
    file,
    pollMs: options.pollMs ?? 20,
    retention: false,
    logger,
    writerWorkerUrl: options.worker === false ? undefined : (options.url ?? workerUrl),
    settings: { ...(options.commitWindowMs === undefined ? {} : { commitWindowMs: options.commitWindowMs }), ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }) },
  })
  opened.push(s)
  return s
}
const call = (tool: string, extra: Partial<ActivityInput> = {}): ActivityInput => ({
  type: 'tool_call',
  status: 'success',
  server_name: 'srv',
  tool_name: tool,
  arguments: { q: tool },
  response: `result of ${tool}`,
  ...extra,
})
const rawRows = (): Array<{ id: string; seq: number | null; status: string }> => {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT id, seq, status FROM activity ORDER BY rid').all() as Array<{ id: string; seq: number | null; status: string }>
  } finally {
    db.close()
  }
}
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10))
}
/** 'resolved', the rejection's error, or 'still pending' after `ms` */
const settled = (p: Promise<unknown>, ms = 2_000): Promise<unknown> =>
  Promise.race([p.then(() => 'resolved', (err: unknown) => err), new Promise((r) => setTimeout(() => r('still pending'), ms).unref())])

describe('activity writer on a worker thread', () => {
  it('returns ids at once and writes redacted, chained records; a completion within the window makes one record', async () => {
    const s = open()
    const token = 'ghp_' + 'a1B2c3D4e5'.repeat(3) + 'XyZ123'
    const id = s.record(call('echo', { status: 'pending', arguments: { token }, response: undefined }))
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    s.complete(id, { status: 'success', response: { text: 'ok' }, duration_ms: 2 })
    const other = s.record(call('second'))
    await s.flush()
    expect(rawRows()).toEqual([
      { id, seq: 1, status: 'success' },
      { id: other, seq: 2, status: 'success' },
    ])
    const stored = s.get(id)!
    expect(JSON.stringify(stored.arguments)).not.toContain(token)
    expect(stored.detection_types).toContain('github_token')
    expect(stored.response).toEqual({ text: 'ok' })
    expect(await s.verify()).toMatchObject({ ok: true, checked: 2 })
    expect(s.stats()).toMatchObject({ written: 2, queued: 0, dropped: 0 })
  })

  it('finalizes a pending record already written when its completion comes later', async () => {
    const s = open()
    const id = s.record(call('slow', { status: 'pending' }))
    await s.flush()
    expect(rawRows()).toEqual([{ id, seq: null, status: 'pending' }])
    s.complete(id, { status: 'error', error: 'boom', duration_ms: 900 })
    await s.flush()
    expect(rawRows()).toEqual([{ id, seq: 1, status: 'error' }])
    expect(s.get(id)).toMatchObject({ status: 'error', error: 'boom', duration_ms: 900 })
    expect((await s.verify()).ok).toBe(true)
  })

  it('keeps a pending record back one window: a call ending in the next window is written once, finished', async () => {
    // a long window, so that the completion below surely comes before the second one ends
    const s = open({ commitWindowMs: 400 })
    const quick = s.record(call('quick', { status: 'pending', response: undefined }))
    const slow = s.record(call('slow', { status: 'pending', response: undefined }))
    const done = s.record(call('done'))
    await until(() => rawRows().length > 0)
    expect(rawRows()).toEqual([{ id: done, seq: 1, status: 'success' }])
    s.complete(quick, { status: 'success', response: { text: 'ok' }, duration_ms: 450 })
    await until(() => rawRows().length === 3)
    // quick went as one finished record; slow, still open, was written pending after its second window
    expect(rawRows()).toEqual([
      { id: done, seq: 1, status: 'success' },
      { id: quick, seq: 2, status: 'success' },
      { id: slow, seq: null, status: 'pending' },
    ])
    s.complete(slow, { status: 'error', error: 'late', duration_ms: 900 })
    await s.flush()
    expect(rawRows()[2]).toEqual({ id: slow, seq: 3, status: 'error' })
    expect(s.get(quick)).toMatchObject({ status: 'success', response: { text: 'ok' }, duration_ms: 450 })
    expect(await s.verify()).toMatchObject({ ok: true, checked: 3 })
  })

  it('writes the queue synchronously before a delete and reports it before the deletion', async () => {
    const s = open()
    const seen: AppendedBatch[] = []
    s.onAppended((b) => seen.push(b))
    const id = s.record(call('doomed'))
    expect(s.delete(id, 'test')).toBe(true)
    expect(seen.flatMap((b) => b.records.map((r) => r.tool_name ?? r.type))).toEqual(['doomed', 'config_change'])
    expect(s.get(id)).toBeNull()
    expect((await s.verify()).ok).toBe(true)
  })

  it('emits every record once: its own commits, and another process appending meanwhile', async () => {
    const app = open({ pollMs: 1 })
    const other = open({ worker: false })
    const seen: AppendedBatch[] = []
    app.onAppended((b) => seen.push(b))
    const ids: string[] = []
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10; i++) ids.push(app.record(call(`a${round}-${i}`)))
      ids.push(other.record(call(`o${round}`)))
      await other.flush()
      await app.flush()
    }
    await until(() => seen.flatMap((b) => b.records).length >= ids.length)
    await new Promise((r) => setTimeout(r, 50))
    const emitted = seen.flatMap((b) => b.records.map((r) => r.id))
    expect(emitted.length).toBe(ids.length)
    expect(new Set(emitted)).toEqual(new Set(ids))
    expect(await app.verify()).toMatchObject({ ok: true, checked: ids.length })
  })

  it('falls back to writing on this thread when the worker cannot start, losing nothing', async () => {
    const broken = join(dir, 'broken-worker.mjs')
    writeFileSync(broken, "throw new Error('no worker today')\n")
    logged.length = 0
    const s = open({ url: pathToFileURL(broken) })
    const ids = [s.record(call('a')), s.record(call('b'))]
    await s.flush()
    expect(rawRows().map((r) => r.id)).toEqual(ids)
    expect(logged.some((l) => l.level === 'error' && /worker failed/.test(l.msg))).toBe(true)
    expect((await s.verify()).ok).toBe(true)
  })

  it('while the worker is behind, makes room by dropping the oldest tool calls beyond the queue limit, never audit records', async () => {
    // a window longer than the test: nothing leaves for the worker until the flush
    const s = open({ commitWindowMs: 60_000, queueLimit: 5 })
    const ids: Record<string, string> = {}
    for (const name of ['t1', 't2', 'p1', 't3', 't4', 't5', 't6', 'p2', 't7', 't8']) {
      ids[name] = name.startsWith('p')
        ? s.record({ type: 'policy_decision', status: 'blocked', server_name: 'srv', tool_name: name, policy: { decision: 'deny', reason: 'no' } })
        : s.record(call(name))
    }
    expect(s.stats()).toMatchObject({ dropped: 5, dropped_by_type: { tool_call: 5 } })
    await s.flush()
    expect(rawRows().map((r) => r.id)).toEqual(['p1', 't6', 'p2', 't7', 't8'].map((n) => ids[n]))
    expect(s.stats()).toMatchObject({ written: 5, dropped: 5, queued: 0 })
    expect((await s.verify()).ok).toBe(true)
  })

  it('drops relayed messages before tool calls while behind, and the completion of a dropped pending record with it', async () => {
    const s = open({ commitWindowMs: 60_000, queueLimit: 4 })
    const open1 = s.record({ ...call('t1'), status: 'pending' })
    const request = s.record({ type: 'mcp_message', status: 'pending', server_name: 'srv', metadata: { method: 'resources/read' } })
    for (let i = 0; i < 20; i++) s.record({ type: 'mcp_message', status: 'success', server_name: 'srv', metadata: { method: 'notifications/message' } })
    const t2 = s.record(call('t2'))
    s.complete(request, { status: 'success' })
    s.complete(open1, { status: 'success', duration_ms: 2 })
    expect(s.stats()).toMatchObject({ dropped_by_type: { mcp_message: 19 } })
    await s.flush()
    const rows = rawRows()
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([open1, t2]))
    expect(rows.find((r) => r.id === open1)).toMatchObject({ status: 'success' })
    expect(rows.map((r) => r.id)).not.toContain(request)
  })

  it.skipIf(process.platform !== 'linux')('runs at the lowest priority (Linux sets it per thread) and leaves the calling thread as it was', async () => {
    const nice = (task: string): number => {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
    }
    const before = nice(String(process.pid))
    const tasksBefore = new Set(readdirSync('/proc/self/task'))
    const s = open()
    s.record(call('wake'))
    await s.flush()
    const started = readdirSync('/proc/self/task').filter((t) => !tasksBefore.has(t))
    expect(started.map(nice)).toContain(RECORDING_NICE)
    expect(nice(String(process.pid))).toBe(before)
  })

  it("runs the store's retention on the worker: records are pruned while this thread is blocked", async () => {
    const s = createActivityStore({ file, logger, writerWorkerUrl: workerUrl, settings: { maxRecords: 5, cleanupIntervalMin: 0.001, retentionDays: 0, maxDbMb: 0 } })
    opened.push(s)
    for (let i = 0; i < 20; i++) s.record(call(`t${i}`))
    await s.flush()
    // this thread's event loop stops here for up to 5 s: only another thread can prune meanwhile
    const view = new Int32Array(new SharedArrayBuffer(4))
    const deadline = Date.now() + 5000
    let left = 20
    while (left > 5 && Date.now() < deadline) {
      Atomics.wait(view, 0, 0, 50)
      left = rawRows().filter((r) => r.seq !== null).length
    }
    expect(left).toBe(5)
  })

  it('deletes by filter on the worker: records go while this thread is blocked, and the deletion is reported here', async () => {
    const s = open()
    const seen: AppendedBatch[] = []
    s.onAppended((b) => seen.push(b))
    for (let i = 0; i < 20; i++) s.record(call(`t${i}`, { server_name: i % 2 ? 'doomed' : 'kept' }))
    // queued, not yet written: the worker writes them before it deletes
    const deleting = s.deleteWhere({ server: 'doomed' }, 'test')
    const view = new Int32Array(new SharedArrayBuffer(4))
    const deadline = Date.now() + 5000
    const calls = (): number => {
      const db = new Database(file, { readonly: true })
      try {
        return db.prepare("SELECT count(*) FROM activity WHERE type = 'tool_call'").pluck().get() as number
      } finally {
        db.close()
      }
    }
    let left = -1
    while (left !== 10 && Date.now() < deadline) {
      Atomics.wait(view, 0, 0, 50)
      left = calls()
    }
    expect(left).toBe(10)
    expect(await deleting).toBe(10)
    const deletion = seen.flatMap((b) => b.records).find((r) => r.type === 'config_change')
    expect(deletion).toMatchObject({ status: 'success', metadata: { action: 'activity_deleted', count: 10, actor: 'test' } })
    expect(s.count({ server: 'doomed' })).toBe(0)
    expect((await s.verify()).ok).toBe(true)
  })

  it('a store closed during a deletion on the worker stops it between chunks; its record says how far it got', async () => {
    const s = open()
    for (let i = 0; i < 6_000; i++) s.record(call('bulk'))
    await s.flush()
    const deleting = s.deleteWhere({ tool: 'bulk' })
    const closing = s.close()
    await expect(deleting).rejects.toThrow(/stopped before the deletion finished/)
    await closing
    const db = new Database(file, { readonly: true })
    try {
      const rec = db.prepare("SELECT status, error, seq FROM activity WHERE type = 'config_change'").get() as { status: string; error: string; seq: number | null }
      expect(rec.status).toBe('error')
      expect(rec.seq).not.toBeNull()
      expect(rec.error).toMatch(/^the deletion stopped after \d+ records: mcpproxy stopped before the deletion finished$/)
      const deleted = Number(/after (\d+)/.exec(rec.error)![1])
      expect(deleted).toBeGreaterThan(0)
      expect(deleted).toBeLessThan(6_000)
      expect(db.prepare("SELECT count(*) FROM activity WHERE tool_name = 'bulk'").pluck().get()).toBe(6_000 - deleted)
    } finally {
      db.close()
    }
    const again = open({ worker: false })
    expect((await again.verify()).ok).toBe(true)
  })

  it.each([
    ['once the worker is known to have failed', true],
    ['sent to the worker as it fails: done again here', false],
  ])('deletes by filter on this thread when the worker cannot start (%s)', async (_name, waitForFailure) => {
    const broken = join(dir, 'broken-worker.mjs')
    writeFileSync(broken, "throw new Error('no worker today')\n")
    logged.length = 0
    const s = open({ url: pathToFileURL(broken) })
    for (let i = 0; i < 4; i++) s.record(call('gone'))
    if (waitForFailure) await vi.waitFor(() => expect(logged.some((l) => l.msg.includes('writing on this thread'))).toBe(true), { timeout: 5000 })
    expect(await s.deleteWhere({ tool: 'gone' })).toBe(4)
    expect(logged.some((l) => l.msg.includes('writing on this thread'))).toBe(true)
    expect((await s.verify()).ok).toBe(true)
  })

  it('takes retention back on this thread when the worker cannot start', async () => {
    const broken = join(dir, 'broken-worker.mjs')
    writeFileSync(broken, "throw new Error('no worker today')\n")
    const s = createActivityStore({ file, logger, writerWorkerUrl: pathToFileURL(broken), settings: { maxRecords: 5, cleanupIntervalMin: 0.001, retentionDays: 0, maxDbMb: 0 } })
    opened.push(s)
    for (let i = 0; i < 20; i++) s.record(call(`t${i}`))
    await s.flush()
    await vi.waitFor(() => expect(rawRows().filter((r) => r.seq !== null)).toHaveLength(5), { timeout: 5000 })
  })

  it('flushes on close and ignores records after it', async () => {
    const s = open()
    const id = s.record(call('last'))
    await s.close()
    const late = s.record(call('late'))
    expect(rawRows().map((r) => r.id)).toEqual([id])
    expect(late).not.toBe(id)
  })

  it('settles a flush still waiting when close ends the worker, and a flush after close at once', async () => {
    const s = open()
    const id = s.record(call('last'))
    const closing = s.close()
    // the worker answers this one after its close, when this thread no longer listens to it
    const during = settled(s.flush())
    await closing
    expect(await during).toBe('resolved')
    // nothing more will be written: resolved, as the in-thread writer's flush after a close that wrote everything
    expect(await settled(s.flush(), 500)).toBe('resolved')
    expect(rawRows().map((r) => r.id)).toEqual([id])
  })
})

describe('activity writer on a worker thread, on a full disk', () => {
  // the worker with a switch for a full disk on its own connection (test/fixtures/full-disk-writer-worker.ts)
  const channelName = `mcpproxy-test-disk-${process.pid}-${Math.random().toString(36).slice(2)}`
  let fullDiskUrl: URL
  let channel: BroadcastChannel
  beforeAll(async () => {
    // the worker reads it from its copy of the environment
    process.env.MCPPROXY_TEST_DISK_CHANNEL = channelName
    fullDiskUrl = pathToFileURL(await bundleFixture('test/fixtures/full-disk-writer-worker.ts'))
    channel = new BroadcastChannel(channelName)
  }, 60_000)
  afterAll(() => channel.close())
  const disk = (full: boolean): Promise<void> =>
    new Promise((resolve) => {
      channel.onmessage = () => resolve()
      channel.postMessage({ full })
    })
  const big = 'x'.repeat(6000)
  /** a store whose worker is up, then a full disk */
  const openFull = async (): Promise<ActivityStoreHandle> => {
    const s = open({ url: fullDiskUrl })
    s.record(call('before'))
    await s.flush()
    await disk(true)
    return s
  }

  it('status follows the writer: a retry that succeeds on its own timer is reported, with no call or flush after it', async () => {
    const s = await openFull()
    for (let i = 0; i < 30; i++) s.record(call(`t${i}`, { arguments: { big, i } }))
    await expect(s.flush()).rejects.toThrow(/database or disk is full/)
    expect(s.stats()).toMatchObject({ queued: 30, written: 1 })
    expect(s.stats().last_error).toMatch(/^SQLITE_FULL/)
    await disk(false)
    // nothing else happens here: before the fix, status said queued 30 and SQLITE_FULL until the next call
    await vi.waitFor(() => expect(s.stats()).toMatchObject({ queued: 0, written: 31 }), { timeout: 10_000, interval: 20 })
    expect(s.stats().last_error).toBeUndefined()
    expect(rawRows()).toHaveLength(31)
  })

  it(`close retries for CLOSE_RETRY_MS, then rejects with DISK_FULL counting the records lost (logged by the worker)`, async () => {
    const s = await openFull()
    opened.splice(opened.indexOf(s), 1)
    for (let i = 0; i < 10; i++) s.record(call(`t${i}`, { arguments: { big, i } }))
    const started = Date.now()
    const err = await s.close().catch((e: unknown) => e)
    expect(Date.now() - started).toBeGreaterThanOrEqual(CLOSE_RETRY_MS - 50)
    expect(err).toMatchObject({ code: 'DISK_FULL', details: { lost: 10 } })
    const message = '10 activity records could not be written before closing and are lost (SQLITE_FULL: database or disk is full)'
    expect((err as Error).message).toBe(message)
    expect(logged).toContainEqual({ level: 'error', msg: message })
    expect(rawRows()).toHaveLength(1)
  })

  it('after a close that gave records up, flush rejects at once with its error; a flush during the close is settled', async () => {
    const s = await openFull()
    opened.splice(opened.indexOf(s), 1)
    for (let i = 0; i < 3; i++) s.record(call(`t${i}`, { arguments: { big, i } }))
    const closing = s.close().catch((e: unknown) => e)
    const during = settled(s.flush(), CLOSE_RETRY_MS + 5_000)
    const err = await closing
    expect(err).toMatchObject({ code: 'DISK_FULL', details: { lost: 3 } })
    // answered by the worker (the write failed) or settled with the close error when it is ended
    expect(await during).toBeInstanceOf(Error)
    // before the fix: posted to the ended worker, never settled
    expect(await settled(s.flush(), 500)).toBe(err)
    expect(await settled(s.flush(), 500)).toBe(err)
    expect(rawRows()).toHaveLength(1)
  })

  it('close writes everything when space returns within the bound', async () => {
    const s = await openFull()
    const ids = Array.from({ length: 10 }, (_, i) => s.record(call(`t${i}`, { arguments: { big, i } })))
    setTimeout(() => void disk(false), 500)
    await s.close()
    expect(rawRows().map((r) => r.id).slice(1)).toEqual(ids)
  })
})
