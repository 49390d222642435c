import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { build } from 'esbuild'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityInput } from '../../shared/activity'
import type { Logger } from '../logger'
import { RECORDING_NICE } from './recording-thread'
import { createActivityStore, type ActivityStoreHandle } from './store'
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
    expect(s.verify()).toMatchObject({ ok: true, checked: 2 })
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
    expect(s.verify().ok).toBe(true)
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
    expect(s.verify()).toMatchObject({ ok: true, checked: 3 })
  })

  it('writes the queue synchronously before a delete and reports it before the deletion', async () => {
    const s = open()
    const seen: AppendedBatch[] = []
    s.onAppended((b) => seen.push(b))
    const id = s.record(call('doomed'))
    expect(s.delete(id, 'test')).toBe(true)
    expect(seen.flatMap((b) => b.records.map((r) => r.tool_name ?? r.type))).toEqual(['doomed', 'config_change'])
    expect(s.get(id)).toBeNull()
    expect(s.verify().ok).toBe(true)
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
    expect(app.verify()).toMatchObject({ ok: true, checked: ids.length })
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
    expect(s.verify().ok).toBe(true)
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
    expect(s.verify().ok).toBe(true)
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

  it('flushes on close and ignores records after it', async () => {
    const s = open()
    const id = s.record(call('last'))
    await s.close()
    const late = s.record(call('late'))
    expect(rawRows().map((r) => r.id)).toEqual([id])
    expect(late).not.toBe(id)
  })
})
