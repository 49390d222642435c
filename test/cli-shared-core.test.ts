// `mcpproxy stdio` with no core running: it starts a shared core for the data dir
// (`serve --idle-exit`), which the data dir's later stdio clients share, which a `serve` takes
// over from, and which exits once idle. With real server-everything upstreams and the built CLI.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ActivityPage } from '../src/shared/activity'
import type { ApprovalInfo } from '../src/shared/servers'
import { baseEnv, buildCli, CLI, EVERYTHING, exited, freePort, run, start } from './cli-helpers'
import { alive } from './helpers/core-scenario-helpers'

const apiKey = 'shared-core-test-key-0123456789'
let dir: string
const started: number[] = []

beforeAll(async () => {
  await buildCli()
  dir = mkdtempSync(join(tmpdir(), 'mcpproxy-shared-core-'))
}, 60_000)

afterEach(async () => {
  // the shared cores outlive their clients by their idle time: stopped here
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGTERM')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function dataDirWith(name: string, extra: Record<string, unknown> = {}): Promise<{ dataDir: string; port: number }> {
  const dataDir = join(dir, name)
  mkdirSync(dataDir, { recursive: true })
  const port = (extra.port as number | undefined) ?? (await freePort())
  delete extra.port
  const config = { api_key: apiKey, tool_exposure: 'direct', listen: `127.0.0.1:${port}`, mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], quarantined: false } }, ...extra }
  writeFileSync(join(dataDir, 'mcp_config.json'), JSON.stringify(config), { mode: 0o600 })
  return { dataDir, port }
}

async function stdioClient(dataDir: string, name: string): Promise<{ client: Client; transport: StdioClientTransport; errors: Error[]; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--data-dir', dataDir, 'stdio'], env: baseEnv() as Record<string, string>, stderr: 'pipe' })
  let stderr = ''
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
  const client = new Client({ name, version: '1.0.0' })
  const errors: Error[] = []
  client.onerror = (e) => errors.push(e)
  await client.connect(transport)
  return { client, transport, errors, stderr: () => stderr }
}

const echo = async (client: Client, message: string): Promise<string> => {
  const r = (await client.callTool({ name: 'everything__echo', arguments: { message } })) as CallToolResult
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('')
}

function runtimePid(dataDir: string): number {
  const pid = (JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { pid: number }).pid
  started.push(pid)
  return pid
}

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')

/** processes whose parent is `pid` and whose command line holds `needle` */
function childrenRunning(pid: number, needle: string): number {
  let n = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) n++
    } catch {
      // gone meanwhile
    }
  }
  return n
}

describe.runIf(process.platform === 'linux')('mcpproxy stdio with no core running', () => {
  it('starts a shared core that a second stdio client shares: one upstream process, nothing but MCP on stdout, each client its own session', async () => {
    const { dataDir } = await dataDirWith('shared')
    const a = await stdioClient(dataDir, 'agent-a')
    const b = await stdioClient(dataDir, 'agent-b')
    try {
      expect(await echo(a.client, 'from a')).toBe('Echo: from a')
      expect(await echo(b.client, 'from b')).toBe('Echo: from b')
      const core = runtimePid(dataDir)
      expect(cmdline(core)).toEqual(expect.arrayContaining(['serve', '--idle-exit', '30']))
      const status = await run(['--data-dir', dataDir, 'status'])
      expect(status.stdout).toMatch(new RegExp(`pid ${core}\\)`))
      expect(status.stdout).toMatch(/Shared core:\s+started by mcpproxy stdio; exits 30 s after its last MCP client/)
      expect(status.stdout).toMatch(/Clients:\s+2 MCP sessions, 0 following events/)
      // the upstream runs once, under the shared core, and under neither bridge
      expect(childrenRunning(core, EVERYTHING)).toBe(1)
      expect(childrenRunning(a.transport.pid!, EVERYTHING) + childrenRunning(b.transport.pid!, EVERYTHING)).toBe(0)
      // a log line on stdout would have reached a client as a parse error
      expect([...a.errors, ...b.errors]).toEqual([])
      const page = JSON.parse((await run(['--data-dir', dataDir, 'activity', 'list', '--json', '--type', 'tool_call'])).stdout) as ActivityPage
      const calls = page.activities.filter((r) => r.tool_name === 'echo')
      expect(calls.map((r) => r.status)).toEqual(['success', 'success'])
      expect(new Set(calls.map((r) => r.session_id)).size).toBe(2)
      expect(calls.every((r) => r.client?.pid === process.pid)).toBe(true)
    } finally {
      await a.client.close()
      await b.client.close()
    }
  }, 60_000)

  it('three stdio clients started at the same moment get one shared core, and each first tools/list already lists the upstream\'s tools', async () => {
    const { dataDir } = await dataDirWith('together')
    const clients = await Promise.all(['one', 'two', 'three'].map((n) => stdioClient(dataDir, n)))
    try {
      const lists = await Promise.all(clients.map((c) => c.client.listTools()))
      for (const l of lists) expect(l.tools.map((t) => t.name)).toContain('everything__echo')
      expect(await Promise.all(clients.map((c, i) => echo(c.client, `together ${i}`)))).toEqual(['Echo: together 0', 'Echo: together 1', 'Echo: together 2'])
      const core = runtimePid(dataDir)
      expect(childrenRunning(core, EVERYTHING)).toBe(1)
      // only one core ever started for the data dir (none took over from another)
      const starts = JSON.parse((await run(['--data-dir', dataDir, 'activity', 'list', '--json', '--type', 'system_start'])).stdout) as ActivityPage
      expect(starts.total).toBe(1)
      expect(existsSync(join(dataDir, 'shared-core.lock'))).toBe(false)
    } finally {
      for (const c of clients) await c.client.close()
    }
  }, 60_000)

  it('a broken config: the client\'s initialize is answered with the reason, fast, and no core is left running', async () => {
    const { dataDir } = await dataDirWith('broken')
    writeFileSync(join(dataDir, 'mcp_config.json'), '{"api_key": "x", bad json')
    const started = Date.now()
    await expect(stdioClient(dataDir, 'hopeful')).rejects.toThrow(/mcpproxy stdio cannot start: .*mcp_config\.json.*not valid JSON/)
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false)
  }, 30_000)

  it('an ask rule now waits for a person, and `mcpproxy approvals approve` lets the stdio client\'s call through', async () => {
    const { dataDir } = await dataDirWith('asks', { approval_timeout_s: 60, policy: { rules: [{ tool: 'echo', action: 'ask', reason: 'a person looks first' }] } })
    const c = await stdioClient(dataDir, 'asker')
    try {
      runtimePid(dataDir)
      const answer = echo(c.client, 'may I')
      let pending: ApprovalInfo[] = []
      await vi.waitFor(
        async () => {
          pending = JSON.parse((await run(['--data-dir', dataDir, 'approvals', 'list', '--json'])).stdout) as ApprovalInfo[]
          expect(pending).toHaveLength(1)
        },
        { timeout: 20_000, interval: 200 },
      )
      expect(pending[0]).toMatchObject({ tool: 'echo', arguments: { message: 'may I' } })
      expect((await run(['--data-dir', dataDir, 'approvals', 'approve', pending[0]!.id])).code).toBe(0)
      expect(await answer).toBe('Echo: may I')
    } finally {
      await c.client.close()
    }
  }, 60_000)

  it('`serve` takes over from the shared core: the call in flight finishes first, and the stdio client goes on through the new core', async () => {
    const { dataDir } = await dataDirWith('takeover')
    const c = await stdioClient(dataDir, 'stays')
    let serve: ReturnType<typeof start> | undefined
    try {
      expect(await echo(c.client, 'before')).toBe('Echo: before')
      const shared = runtimePid(dataDir)
      const inFlight = c.client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 2, steps: 2 } }) as Promise<CallToolResult>
      await new Promise((r) => setTimeout(r, 300))
      serve = start(['--data-dir', dataDir, 'serve'])
      await serve.waitFor(/MCP endpoint:\s+\S+/, 30_000)
      expect((await inFlight).isError).toBeFalsy()
      expect(alive(shared)).toBe(false)
      expect(runtimePid(dataDir)).toBe(serve.child.pid)
      expect(await echo(c.client, 'after')).toBe('Echo: after')
      expect(childrenRunning(serve.child.pid!, EVERYTHING)).toBe(1)
      expect(c.errors).toEqual([])
      // the serve terminal says what it did
      expect(serve.err()).toMatch(new RegExp(`taking over from the shared core mcpproxy stdio started; its clients move to this core.*${shared}`))
    } finally {
      await c.client.close()
      if (serve) {
        serve.child.kill('SIGTERM')
        await exited(serve.child)
        expect(serve.err()).toMatch(/mcpproxy: stopping \(SIGTERM\): calls in flight finish first, up to 10 s\nmcpproxy: stopped\n/)
      }
    }
  }, 60_000)

  it('a stdio client starting while the shared core stops (draining a call in flight) waits for it and is served by the next shared core', async () => {
    const { dataDir } = await dataDirWith('stopping')
    const a = await stdioClient(dataDir, 'first')
    let b: Awaited<ReturnType<typeof stdioClient>> | undefined
    try {
      expect(await echo(a.client, 'before')).toBe('Echo: before')
      const shared = runtimePid(dataDir)
      const inFlight = a.client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 2, steps: 2 } }) as Promise<CallToolResult>
      await new Promise((r) => setTimeout(r, 300))
      // the shared core stops (as at its idle exit): it drains while the call runs and refuses new sessions meanwhile
      process.kill(shared, 'SIGTERM')
      await new Promise((r) => setTimeout(r, 300))
      b = await stdioClient(dataDir, 'second')
      expect((await inFlight).isError).toBeFalsy()
      expect(await echo(b.client, 'from the second')).toBe('Echo: from the second')
      expect(alive(shared)).toBe(false)
      const next = runtimePid(dataDir)
      expect(next).not.toBe(shared)
      // the first client moved to the same next core
      expect(await echo(a.client, 'after')).toBe('Echo: after')
      expect(childrenRunning(next, EVERYTHING)).toBe(1)
      expect([...a.errors, ...b.errors]).toEqual([])
    } finally {
      await a.client.close()
      await b?.client.close()
    }
  }, 90_000)

  it('when the shared core cannot start (its port is taken), stdio serves its client on its own, says why on stderr, and an ask rule denies at once', async () => {
    const blocker: Server = createServer()
    const port = await freePort()
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r))
    try {
      const { dataDir } = await dataDirWith('alone', { port, approval_timeout_s: 3600, policy: { rules: [{ tool: 'echo', action: 'ask', reason: 'a person looks first' }] } })
      const c = await stdioClient(dataDir, 'alone')
      try {
        const r = (await c.client.callTool({ name: 'everything__echo', arguments: { message: 'may I' } })) as CallToolResult
        expect(r.isError).toBe(true)
        expect(r.content[0]).toMatchObject({ text: expect.stringContaining('nobody can answer approvals of this `mcpproxy stdio`') })
        const sum = (await c.client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } })) as CallToolResult
        expect(sum.isError).toBeFalsy()
        expect(c.stderr()).toMatch(/cannot start a shared core \(the shared core exited with code 1: .*address is in use.*\); serving this client on its own/)
        expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false)
      } finally {
        await c.client.close()
      }
      const page = JSON.parse((await run(['--data-dir', dataDir, 'activity', 'list', '--json', '--type', 'policy_decision'])).stdout) as ActivityPage
      expect(page.activities).toEqual([expect.objectContaining({ tool_name: 'echo', status: 'blocked', policy: expect.objectContaining({ decision: 'deny', reason: expect.stringContaining('(a person looks first)') }) })])
    } finally {
      blocker.close()
    }
  }, 60_000)

  it('serve --idle-exit exits by itself once no MCP client has been connected and nobody has followed its events for that long; 0 is a usage error', async () => {
    const { dataDir } = await dataDirWith('idle')
    const serve = start(['--data-dir', dataDir, 'serve', '--idle-exit', '1'])
    await serve.waitFor(/MCP endpoint:\s+\S+/, 30_000)
    expect(await exited(serve.child)).toBe(0)
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false)
    // someone following the live events (the web UI, `activity watch`) keeps it running; it exits once they leave
    const { dataDir: watched, port } = await dataDirWith('idle-watched')
    const kept = start(['--data-dir', watched, 'serve', '--idle-exit', '1'])
    await kept.waitFor(/MCP endpoint:\s+\S+/, 30_000)
    const viewer = new AbortController()
    const events = await fetch(`http://127.0.0.1:${port}/events`, { headers: { 'X-API-Key': apiKey }, signal: viewer.signal })
    expect(events.status).toBe(200)
    await new Promise((r) => setTimeout(r, 3000))
    expect(kept.child.exitCode).toBeNull()
    viewer.abort()
    expect(await exited(kept.child)).toBe(0)
    const bad = await run(['--data-dir', dataDir, 'serve', '--idle-exit', '0'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--idle-exit: must be a whole number of seconds, at least 1/)
  }, 60_000)
})
