import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createActivityStore } from '../core/activity/store'
import { silentLogger } from '../core/logger'
import { coreWorkerUrls } from './core-workers'

const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'core-workers-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('coreWorkerUrls', () => {
  it('names the worker files that are there, and leaves the rest to the main thread', () => {
    const dir = tempDir()
    expect(coreWorkerUrls(dir)).toEqual({ writerWorkerUrl: undefined, importWorkerUrl: undefined, readWorkerUrl: undefined })
    writeFileSync(join(dir, 'activity-read-worker.js'), '')
    const urls = coreWorkerUrls(dir)
    expect(fileURLToPath(urls.readWorkerUrl!)).toBe(join(dir, 'activity-read-worker.js'))
    expect(urls.writerWorkerUrl).toBeUndefined()
  })

  it('finds all three in the electron-vite build, and its read worker answers', async () => {
    const built = coreWorkerUrls(resolve('out/main'))
    expect(built.readWorkerUrl, 'run `npm run build` before this test').toBeDefined()
    expect(built.writerWorkerUrl).toBeDefined()
    expect(built.importWorkerUrl).toBeDefined()
    const file = join(tempDir(), 'activity.db')
    const warnings: string[] = []
    const store = createActivityStore({ file, retention: false, readWorkerUrl: built.readWorkerUrl, logger: { ...silentLogger, warn: (msg) => void warnings.push(msg) } })
    try {
      store.record({ type: 'tool_call', status: 'success', server_name: 'github', tool_name: 'search' })
      await store.flush()
      expect(await store.verify()).toMatchObject({ ok: true, checked: 1 })
      expect(warnings).toEqual([])
    } finally {
      await store.close()
    }
  })
})
