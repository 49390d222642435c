// `mcpproxy wrap` as clients run it (the built CLI): a call the server never answers, and the
// signal a client sends to stop its server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { baseEnv, buildCli, exited, ROOT, start } from './cli-helpers'
import { alive } from './helpers/core-scenario-helpers'

const HANG = join(ROOT, 'test/fixtures/hang-server.mjs')
const dirs: string[] = []

beforeAll(async () => {
  await buildCli()
}, 180_000)
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function dataDir(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpproxy-cli-wrap-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'mcp_config.json'), JSON.stringify(config))
  return dir
}

const line = (m: Record<string, unknown>): string => JSON.stringify({ jsonrpc: '2.0', ...m }) + '\n'
const INIT = line({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wrap-life', version: '1' } } })
const call = (id: number, name: string, args: Record<string, unknown> = {}): string => line({ id, method: 'tools/call', params: { name, arguments: args } })

type Row = { request_id: string; tool_name: string; status: string; error: string | null; duration_ms: number | null }
function toolCalls(dir: string): Row[] {
  const db = new Database(join(dir, 'activity.db'), { readonly: true })
  try {
    return db.prepare("SELECT request_id, tool_name, status, error, duration_ms FROM activity WHERE type = 'tool_call' ORDER BY id").all() as Row[]
  } finally {
    db.close()
  }
}

/** Polls until `check` holds (the test fails with the last state after `ms`). */
async function until<T>(read: () => T, check: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    let v: T | undefined
    try {
      v = read()
    } catch {
      v = undefined
    }
    if (v !== undefined && check(v)) return v
    if (Date.now() > deadline) throw new Error(`still not there: ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('mcpproxy wrap: calls without an answer and signals', () => {
  it('records a call unanswered after call_timeout_ms as timeout, while the session goes on', async () => {
    const dir = dataDir({ call_timeout_ms: 300 })
    const w = start(['--data-dir', dir, 'wrap', '--', process.execPath, HANG], baseEnv())
    try {
      w.child.stdin!.write(INIT)
      await w.waitFor(/"id":1[,}]/)
      w.child.stdin!.write(call(2, 'hang') + call(3, 'echo', { message: 'still here' }))
      await w.waitFor(/Echo: still here/)
      const rows = await until(() => toolCalls(dir), (r) => r.length === 2 && r.every((x) => x.status !== 'pending'))
      expect(rows.find((r) => r.request_id === '2')).toMatchObject({ tool_name: 'hang', status: 'timeout', error: 'no answer within 300 ms', duration_ms: 300 })
      expect(rows.find((r) => r.request_id === '3')).toMatchObject({ tool_name: 'echo', status: 'success' })
    } finally {
      // the hang server outlives a closed stdin: it goes with the signal wrap passes on
      const serverPid = Number(/hang-server: started pid (\d+)/.exec(w.err())?.[1])
      w.child.kill('SIGTERM')
      await exited(w.child)
      if (serverPid > 0 && alive(serverPid)) process.kill(serverPid, 'SIGKILL')
    }
  }, 60_000)

  it('passes SIGTERM to the server, fails its unanswered call in the log, and exits with its code', async () => {
    const dir = dataDir({})
    const w = start(['--data-dir', dir, 'wrap', '--', process.execPath, HANG], baseEnv())
    w.child.stdin!.write(INIT)
    await w.waitFor(/"id":1[,}]/)
    // the echo's answer shows the wrap has read (and relayed) the hanging call before it
    w.child.stdin!.write(call(2, 'hang') + call(3, 'echo', { message: 'before the signal' }))
    await w.waitFor(/Echo: before the signal/)
    const serverPid = Number(/hang-server: started pid (\d+)/.exec(w.err())?.[1])
    expect(serverPid).toBeGreaterThan(0)
    w.child.kill('SIGTERM')
    // the hang server outlives a closed stdin: only the passed-on signal ends it
    expect(await exited(w.child)).toBe(128 + 15)
    expect(alive(serverPid)).toBe(false)
    const rows = toolCalls(dir)
    expect(rows.find((r) => r.request_id === '2')).toMatchObject({ status: 'error', error: 'the server exited (code 143) before answering' })
    expect(rows.find((r) => r.request_id === '3')).toMatchObject({ status: 'success' })
  }, 60_000)
})
