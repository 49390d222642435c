// A core killed with a call in flight: the next core completes that call's pending record as
// interrupted when it starts, because the process that wrote it is gone (not minutes later, once
// both timeouts have passed).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActivityPage } from '../src/shared/activity'
import { INTERRUPTED_ERROR } from '../src/core/activity/orphans'
import { buildCli, exited, freePort, ROOT, run, start } from './cli-helpers'

const KEY = 'interrupted-key-0123456789'
let dir: string
// a copy of the hanging server under a name of this run, so that its leftovers can be ended by name
let hangServer: string
const running: Array<ReturnType<typeof start>> = []

beforeAll(async () => {
  await buildCli()
  dir = mkdtempSync(join(tmpdir(), 'mcpproxy-interrupted-'))
  mkdirSync(join(ROOT, '.tmp'), { recursive: true })
  hangServer = join(ROOT, '.tmp', `hang-server-interrupted-${process.pid}.mjs`)
  copyFileSync(join(ROOT, 'test/fixtures/hang-server.mjs'), hangServer)
}, 120_000)

afterAll(async () => {
  for (const p of running) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL')
      await exited(p.child)
    }
  }
  // a killed core leaves its upstream running (it outlives a closed stdin)
  try {
    execFileSync('pkill', ['-KILL', '-f', hangServer])
  } catch {
    // none left
  }
  rmSync(hangServer, { force: true })
  rmSync(dir, { recursive: true, force: true })
})

async function mcpPost(port: number, body: unknown, session?: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': KEY, ...(session ? { 'mcp-session-id': session } : {}) },
    body: JSON.stringify(body),
    signal,
  })
}

describe('a call in flight when its core is killed', () => {
  it('is completed as interrupted by the next core as it starts', async () => {
    const dataDir = join(dir, 'data')
    mkdirSync(dataDir)
    writeFileSync(
      join(dataDir, 'mcp_config.json'),
      JSON.stringify({ api_key: KEY, mcpServers: { hang: { command: process.execPath, args: [hangServer], quarantined: false } } }),
      { mode: 0o600 },
    )
    const port = await freePort()
    const serve = (): ReturnType<typeof start> => {
      const p = start(['--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${port}`])
      running.push(p)
      return p
    }
    const list = async (status: string): Promise<ActivityPage> =>
      JSON.parse((await run(['--data-dir', dataDir, 'activity', 'list', '--json', '--type', 'tool_call', '--status', status])).stdout) as ActivityPage

    const first = serve()
    await first.waitFor(/MCP endpoint:/)
    const init = await mcpPost(port, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } })
    const session = init.headers.get('mcp-session-id') ?? undefined
    await init.text()
    await (await mcpPost(port, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).text()
    const abort = new AbortController()
    const hanging = mcpPost(port, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'call_tool', arguments: { server: 'hang', tool: 'hang', arguments: {} } } }, session, abort.signal).catch(() => undefined)
    // the call is on disk, pending
    let pending: ActivityPage = await list('pending')
    for (let i = 0; i < 100 && pending.total === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      pending = await list('pending')
    }
    expect(pending.activities).toHaveLength(1)
    const call = pending.activities[0]!
    expect(call).toMatchObject({ server_name: 'hang', tool_name: 'hang', status: 'pending' })

    first.child.kill('SIGKILL')
    await exited(first.child)
    abort.abort()
    await hanging

    const second = serve()
    await second.waitFor(/MCP endpoint:/)
    let errors: ActivityPage = await list('error')
    for (let i = 0; i < 100 && errors.total === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      errors = await list('error')
    }
    expect(errors.activities.map((r) => r.id)).toEqual([call.id])
    expect(errors.activities[0]!.error).toBe(INTERRUPTED_ERROR)
    expect((await list('pending')).total).toBe(0)
    const verify = await run(['--data-dir', dataDir, 'activity', 'verify'])
    expect(verify.code).toBe(0)
  }, 90_000)
})
