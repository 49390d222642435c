// A live `activity watch` across a restart of the core: the stream's loss is said once, and the
// records of the gap (the old core's stop, the new one's start) are printed from the log.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, exited, freePort, run, start } from './cli-helpers'

let dir: string
const running: Array<ReturnType<typeof start>> = []

beforeAll(async () => {
  await buildCli()
  dir = mkdtempSync(join(tmpdir(), 'mcpproxy-watch-restart-'))
}, 120_000)

afterAll(async () => {
  for (const p of running) {
    if (p.child.exitCode === null) {
      p.child.kill('SIGKILL')
      await exited(p.child)
    }
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('activity watch across a core restart', () => {
  it('says the stream was lost once, then back, and prints the records appended meanwhile', async () => {
    const dataDir = join(dir, 'data')
    const port = await freePort()
    const serve = (): ReturnType<typeof start> => {
      const p = start(['--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${port}`])
      running.push(p)
      return p
    }
    const first = serve()
    await first.waitFor(/MCP endpoint:/)
    const watch = start(['--data-dir', dataDir, 'activity', 'watch'])
    running.push(watch)
    // a record the watch sees live (its first one: what comes later is fetched after it)
    await new Promise((r) => setTimeout(r, 500))
    expect((await run(['--data-dir', dataDir, 'servers', 'add', 'memory', '--', process.execPath, 'memory.js'])).code).toBe(0)
    await watch.waitFor(/memory/)

    first.child.kill('SIGTERM')
    expect(await exited(first.child)).toBe(0)
    const second = serve()
    await second.waitFor(/MCP endpoint:/)
    // the old core's stop and the new one's start, though no event announced them on this stream
    await watch.waitFor(/\[system\] stop[^\n]*\n(.|\n)*\[system\] start/, 30_000)
    expect(watch.err().match(/event stream lost/g)).toHaveLength(1)
    expect(watch.err()).toContain('event stream back')
    watch.child.kill('SIGINT')
    await exited(watch.child)
  }, 90_000)
})
