import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityInput } from '../../shared/activity'
import { openActivityStoreReadOnly, createActivityStore } from './store'
import type { ActivityStore, AppendedBatch } from './types'

let dir: string
let file: string
const opened: ActivityStore[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'store-'))
  file = join(dir, 'activity.db')
})
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
  rmSync(dir, { recursive: true, force: true })
})

const open = (pollMs = 20): ActivityStore => {
  const s = createActivityStore({ file, pollMs, retention: false })
  opened.push(s)
  return s
}
const call = (tool: string): ActivityInput => ({
  type: 'tool_call',
  status: 'success',
  server_name: 'srv',
  tool_name: tool,
  arguments: { q: tool },
  response: `result of ${tool}`,
})
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10))
}

describe('activity store', () => {
  it('records through the writer and reads back through the queries', async () => {
    const s = open()
    const id = s.record(call('alpha'))
    await s.flush()
    expect(s.get(id)).toMatchObject({ id, tool_name: 'alpha', arguments: { q: 'alpha' }, response: 'result of alpha' })
    expect(s.count({})).toBe(1)
    expect(s.lastSeq()).toBe(1)
    expect(await s.verify()).toMatchObject({ ok: true, checked: 1 })
    expect(s.stats()).toMatchObject({ written: 1, queued: 0 })
  })

  it('emits its own commits and records another process appended, each once', async () => {
    const app = open()
    const other = open()
    const seen: AppendedBatch[] = []
    const off = app.onAppended((b) => seen.push(b))
    const ids = [app.record(call('a1')), app.record(call('a2'))]
    await app.flush()
    expect(seen).toHaveLength(1)
    expect(seen[0]!.records.map((r) => r.id)).toEqual(ids)

    ids.push(other.record(call('o1')), other.record(call('o2')))
    await other.flush()
    ids.push(app.record(call('a3')))
    await app.flush()
    await until(() => seen.flatMap((b) => b.records).length >= 5)
    await new Promise((r) => setTimeout(r, 60))
    const emitted = seen.flatMap((b) => b.records.map((r) => r.id))
    expect([...emitted].sort()).toEqual([...ids].sort())
    expect(new Set(emitted).size).toBe(emitted.length)
    expect(seen.at(-1)!.lastSeq).toBe(5)

    off()
    other.record(call('o3'))
    await other.flush()
    await new Promise((r) => setTimeout(r, 60))
    expect(seen.flatMap((b) => b.records)).toHaveLength(5)
  })

  it('emits the record of a deletion and reports whether anything was deleted', async () => {
    const s = open()
    const seen: AppendedBatch[] = []
    s.onAppended((b) => seen.push(b))
    const id = s.record(call('doomed'))
    // still queued: the delete writes the queue first, so it finds the record
    expect(s.delete(id, 'test')).toBe(true)
    expect(s.delete(id, 'test')).toBe(false)
    expect(seen.at(-1)!.records[0]).toMatchObject({ type: 'config_change', metadata: { action: 'activity_deleted', ids: [id] } })
    expect(s.get(id)).toBeNull()
    expect((await s.verify()).ok).toBe(true)
  })

  it('applies changed settings to the records written after the change', async () => {
    const s = createActivityStore({ file, retention: false })
    opened.push(s)
    const before = s.record(call('big'))
    await s.flush()
    s.updateSettings({ metadataOnly: true })
    const after = s.record(call('big'))
    await s.flush()
    expect(s.get(before)!.arguments).toEqual({ q: 'big' })
    expect(s.get(after)!.arguments).toBeUndefined()
  })

  it('flushes on close and reopens with everything in place', async () => {
    const s = open()
    for (let i = 0; i < 30; i++) s.record(call(`t${i}`))
    await s.close()
    await s.close()
    const again = open()
    expect(again.count({})).toBe(30)
    expect(await again.verify()).toMatchObject({ ok: true, checked: 30 })
  })

  it('exports and imports back into a fresh database, idempotent on id', async () => {
    const s = open()
    for (let i = 0; i < 5; i++) s.record(call(`t${i}`))
    await s.close()
    const lines: string[] = []
    const source = open()
    for await (const chunk of source.export({}, { format: 'json', includeBodies: true })) lines.push(chunk)
    const target = createActivityStore({ file: join(dir, 'restore.db'), retention: false })
    opened.push(target)
    expect(await target.import(lines, undefined, { actor: 'tester', source: 'backup.jsonl' })).toMatchObject({ imported: 5, skipped_existing: 0, skipped_deleted: 0 })
    expect(await target.import(lines)).toMatchObject({ imported: 0, skipped_existing: 5 })
    // a record deleted here is not brought back by importing the old export again
    const gone = JSON.parse(lines.join('').split('\n')[2]!) as { id: string }
    expect(target.delete(gone.id, 'tester')).toBe(true)
    expect(await target.import(lines)).toMatchObject({ imported: 0, skipped_existing: 4, skipped_deleted: 1 })
    expect(target.get(gone.id)).toBeNull()
    // each import is recorded, with its counts and who did it
    await target.flush()
    const imports = target.list({ type: ['config_change'] }, { limit: 100, offset: 0 }).activities.map((a) => target.get(a.id)!).filter((r) => r.metadata?.action === 'activity_imported')
    expect(imports.map((r) => [r.metadata?.imported, r.metadata?.skipped_deleted]).reverse()).toEqual([
      [5, 0],
      [0, 0],
      [0, 1],
    ])
    expect(imports.at(-1)!.metadata).toMatchObject({ actor: 'tester', source: 'backup.jsonl', read: 5, skipped_existing: 0 })
    expect(await target.verify()).toMatchObject({ ok: true })
  })

  it('records an import that fails partway as an error', async () => {
    const target = open()
    async function* failing(): AsyncIterable<string> {
      yield '{"nope": true}\n'
      throw new Error('the source broke')
    }
    await expect(target.import(failing(), undefined, { actor: 'tester' })).rejects.toThrow('the source broke')
    await target.flush()
    const [failed] = target.list({ type: ['config_change'] }, { limit: 100, offset: 0 }).activities.map((a) => target.get(a.id)!)
    expect(failed).toMatchObject({ status: 'error', metadata: { action: 'activity_imported', actor: 'tester' } })
    expect(failed!.error).toContain('the source broke')
  })

  it('opens read-only for CLI reads, which cannot write', async () => {
    const s = open()
    s.record(call('x'))
    await s.flush()
    const ro = openActivityStoreReadOnly(file)
    try {
      expect(ro.count({})).toBe(1)
      expect(ro.verify().ok).toBe(true)
    } finally {
      ro.close()
    }
    expect(() => openActivityStoreReadOnly(join(dir, 'missing.db'))).toThrow(/cannot open/)
  })
})
