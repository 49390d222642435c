// The built `mcpproxy` against a served core: `serve` as a child, then the other commands
// talk to it over REST (and /events), with a real server-everything upstream.
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActivityPage, ActivityRecord } from '../src/shared/activity'
import type { ApprovalInfo, ServerInfo, StatusInfo } from '../src/shared/servers'
import { baseEnv, buildCli, CLI, EVERYTHING, exited, freePort, ROOT, run, start } from './cli-helpers'

let dir: string
let dataDir: string
let port: number
let serve: ReturnType<typeof start>
const apiKey = 'cli-test-key-0123456789abcdef'

const cli = (args: string[]) => run(['--data-dir', dataDir, ...args])

async function mcpClient(): Promise<Client> {
  const client = new Client({ name: 'cli-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { 'X-API-Key': apiKey } } }))
  return client
}

beforeAll(async () => {
  await buildCli()
  dir = mkdtempSync(join(tmpdir(), 'mcpproxy-cli-served-'))
  dataDir = join(dir, 'data')
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(
    join(dataDir, 'mcp_config.json'),
    JSON.stringify({
      listen: '127.0.0.1:1',
      api_key: apiKey,
      tool_exposure: 'direct',
      approval_timeout_s: 60,
      policy: { rules: [{ server: 'everything', tool: 'get-sum', action: 'ask', reason: 'sums need a human' }] },
      mcpServers: {
        everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], quarantined: false },
        rugpull: { command: process.execPath, args: [join(ROOT, 'test/fixtures/rugpull-server.mjs')], quarantined: false },
      },
    }),
  )
  port = await freePort()
  serve = start(['--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${port}`])
  await serve.waitFor(/MCP endpoint:\s+\S+/)
}, 60_000)

afterAll(async () => {
  if (serve?.child.exitCode === null) {
    serve.child.kill('SIGKILL')
    await exited(serve.child)
  }
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('mcpproxy with a served core', () => {
  it('serve prints the web UI URL with the key and the MCP endpoint', () => {
    expect(serve.out()).toContain(`Web UI:       http://127.0.0.1:${port}/ui/?apikey=${apiKey}`)
    expect(serve.out()).toContain(`MCP endpoint: http://127.0.0.1:${port}/mcp`)
  })

  it('status finds the core started with --listen (not the config address) and reports it', async () => {
    const r = await cli(['status', '--json'])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout) as StatusInfo
    expect(s.status).toBe('running')
    expect(s.listen).toBe(`127.0.0.1:${port}`)
    const human = await cli(['status'])
    expect(human.stdout).toMatch(/Status:\s+running/)
  })

  it('servers add goes through the core and lands quarantined', async () => {
    const r = await cli(['servers', 'add', 'memory2', '--', process.execPath, EVERYTHING, 'stdio'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/added memory2 \(quarantined/)
    const list = JSON.parse((await cli(['servers', 'list', '--json'])).stdout) as ServerInfo[]
    expect(list.find((s) => s.name === 'memory2')).toMatchObject({ quarantined: true })
    expect(list.find((s) => s.name === 'everything')).toMatchObject({ quarantined: false })
    const cfg = JSON.parse(readFileSync(join(dataDir, 'mcp_config.json'), 'utf8')) as { mcpServers: Record<string, { quarantined?: boolean }> }
    expect(cfg.mcpServers.memory2?.quarantined).not.toBe(false)
    // the table's health hint is a command to run; releasing says the tools are pinned now
    expect((await cli(['servers', 'list'])).stdout).toMatch(/memory2 .*\(review: mcpproxy servers tools memory2, then servers unquarantine memory2\)/)
    const released = await cli(['servers', 'unquarantine', 'memory2'])
    expect(released.stdout).toContain('its new tools are pinned: a later change to one is blocked until `mcpproxy servers approve-tools memory2 TOOL`')
    const gone = await cli(['servers', 'remove', 'memory2'])
    expect(gone.code).toBe(0)
    const missing = await cli(['servers', 'enable', 'nope'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/nope/)
  })

  it('activity watch prints a line when a call happens; list, show, export and verify see it', async () => {
    const watch = start(['--data-dir', dataDir, 'activity', 'watch', '--server', 'everything'])
    const client = await mcpClient()
    try {
      // calls until watch (which connects on its own time) prints the line
      let line = ''
      for (let i = 0; i < 40 && !line; i++) {
        const result = (await client.callTool({ name: 'everything__echo', arguments: { message: `hello ${i}` } })) as CallToolResult
        expect(result.content[0]).toMatchObject({ type: 'text', text: `Echo: hello ${i}` })
        line = await watch.waitFor(/\d\d:\d\d:\d\d \[tool_call\] everything:echo → success \(\d+ms\)/, 500).catch(() => '')
      }
      expect(line).not.toBe('')
    } finally {
      await client.close()
      watch.child.kill('SIGINT')
      expect(await exited(watch.child)).toBe(0)
    }

    const page = JSON.parse((await cli(['activity', 'list', '--json', '--type', 'tool_call', '--server', 'everything'])).stdout) as ActivityPage
    expect(page.total).toBeGreaterThan(0)
    const call = page.activities[0]!
    expect(call).toMatchObject({ server_name: 'everything', tool_name: 'echo', status: 'success' })

    const shown = await cli(['activity', 'show', call.id])
    expect(shown.stdout).toMatch(/Arguments:\n {2}message: "hello \d+"/)
    expect(shown.stdout).toMatch(/Response:\n {2}Echo: hello \d+/)

    const csv = join(dir, 'served.csv')
    const exp = await cli(['activity', 'export', '--format', 'csv', '--output', csv, '--type', 'tool_call'])
    expect(exp.code).toBe(0)
    const lines = readFileSync(csv, 'utf8').trim().split('\n')
    expect(lines[0]).toMatch(/^id,/)
    expect(lines.length).toBe(page.total + 1)
    expect(lines.some((l) => l.startsWith(call.id))).toBe(true)

    const verify = await cli(['activity', 'verify'])
    expect(verify.code).toBe(0)
    expect(verify.stdout).toMatch(/^OK/)
    // the core verified on its read worker (built beside the CLI), not on its own thread
    expect(serve.err()).not.toMatch(/read worker failed/)
    expect(readFileSync(join(dataDir, 'logs', 'mcpproxy.log'), 'utf8')).toContain('activity read worker started')

    const report = join(dir, 'report.html')
    expect((await cli(['activity', 'report', '--output', report])).code).toBe(0)
    expect(readFileSync(report, 'utf8')).toMatch(/<html/i)
  }, 60_000)

  it('activity watch prints every record type as the read-only watch does, and --type server_change only those', async () => {
    expect((await cli(['servers', 'add', 'watched', '--', process.execPath, EVERYTHING, 'stdio'])).code).toBe(0)
    const all = start(['--data-dir', dataDir, 'activity', 'watch'])
    const changes = start(['--data-dir', dataDir, 'activity', 'watch', '--type', 'server_change'])
    const client = await mcpClient()
    try {
      // changes until both watches (which connect on their own time) print one
      const disabled = /\d\d:\d\d:\d\d \[server\] watched disabled → success/
      let seen = false
      for (let i = 0; i < 40 && !seen; i++) {
        expect((await cli(['servers', 'disable', 'watched'])).code).toBe(0)
        expect((await cli(['servers', 'enable', 'watched'])).code).toBe(0)
        seen = await Promise.all([all.waitFor(disabled, 500), changes.waitFor(disabled, 500)]).then(
          () => true,
          () => false,
        )
      }
      expect(seen).toBe(true)
      await all.waitFor(/\[server\] watched enabled → success/)
      await client.callTool({ name: 'everything__echo', arguments: { message: 'while watched' } })
      await all.waitFor(/\[tool_call\] everything:echo → success/)
      // recorded after the call: once the filtered watch prints it, it has had the call too
      expect((await cli(['servers', 'remove', 'watched'])).code).toBe(0)
      await changes.waitFor(/\[server\] watched removed → success/)
      expect(changes.out()).not.toContain('[tool_call]')
      expect(changes.out()).toMatch(/\[server\] watched enabled → success/)
    } finally {
      await client.close()
      for (const w of [all, changes]) {
        w.child.kill('SIGINT')
        expect(await exited(w.child)).toBe(0)
      }
    }
  }, 60_000)

  it("servers tools and servers logs show a server's pinned tools and its stderr", async () => {
    const tools = JSON.parse((await cli(['servers', 'tools', 'everything', '--json'])).stdout) as { tools: Array<{ tool: string }>; changes: unknown[] }
    expect(tools.tools.map((t) => t.tool)).toContain('echo')
    expect(tools.changes).toEqual([])
    const logs = await cli(['servers', 'logs', 'everything', '--lines', '50'])
    expect(logs.code).toBe(0)
    expect(logs.stdout).toMatch(/Starting/)
    const missing = await cli(['servers', 'logs', 'nope'])
    expect(missing.code).toBe(1)
  })

  it('a rug pull shows up in servers tools with its diff, blocks the tool, and approve-tools releases it', async () => {
    const client = await mcpClient()
    try {
      const first = (await client.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Oslo' } })) as CallToolResult
      expect(first.content[0]).toMatchObject({ text: 'Sunny in Oslo' })
      let changes: Array<{ tool: string }> = []
      for (let i = 0; i < 100 && !changes.length; i++) {
        changes = (JSON.parse((await cli(['servers', 'tools', 'rugpull', '--json'])).stdout) as { changes: Array<{ tool: string }> }).changes
        if (!changes.length) await new Promise((r) => setTimeout(r, 100))
      }
      expect(changes.map((c) => c.tool)).toContain('get_weather')
      const human = await cli(['servers', 'tools', 'rugpull'])
      expect(human.stdout).toMatch(/get_weather\s+changed/)
      expect(human.stdout).toMatch(/changed since approval: get_weather\n {2}description:\n {4}- "Gets the weather for a city\."\n {4}\+ "Gets the weather for a city, with an optional context\."/)
      const blocked = (await client.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Oslo' } })) as CallToolResult
      expect(blocked.isError).toBe(true)
      // neither leaving quarantine nor approving "all" approves the changed tool
      expect((await cli(['servers', 'quarantine', 'rugpull'])).code).toBe(0)
      const released = await cli(['servers', 'unquarantine', 'rugpull'])
      expect(released.stdout).toContain('still blocked, changed since approval: get_weather')
      const all = await cli(['servers', 'approve-tools', 'rugpull'])
      expect(all.stdout).toContain('still blocked, changed since approval: get_weather: approve each by name')
      expect(((await client.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Oslo' } })) as CallToolResult).isError).toBe(true)
      // refusing keeps it blocked and takes it off the list of changes waiting
      const refused = await cli(['servers', 'reject-tools', 'rugpull', 'get_weather'])
      expect(refused.stdout).toContain('refused the changes of get_weather on rugpull')
      expect((await cli(['servers', 'tools', 'rugpull'])).stdout).toMatch(/changed since approval, refused \S+: get_weather/)
      expect(((await client.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Oslo' } })) as CallToolResult).isError).toBe(true)
      const approve = await cli(['servers', 'approve-tools', 'rugpull', 'get_weather'])
      expect(approve.code).toBe(0)
      expect(approve.stdout).toMatch(/approved 1 tools of rugpull: get_weather/)
      const again = (await client.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Bergen' } })) as CallToolResult
      expect(again.content[0]).toMatchObject({ text: 'Sunny in Bergen' })
    } finally {
      await client.close()
    }
  }, 60_000)

  it('tools search finds upstream tools through the core', async () => {
    const r = await cli(['tools', 'search', 'echo', '--json'])
    expect(r.code).toBe(0)
    const tools = JSON.parse(r.stdout) as Array<{ name: string }>
    expect(tools.map((t) => t.name)).toContain('everything:echo')
  })

  it('approvals: a call waiting under an "ask" rule is listed with its arguments, and approve / deny decide it', async () => {
    const empty = await cli(['approvals', 'list', '--json'])
    expect(empty.code).toBe(0)
    expect(JSON.parse(empty.stdout)).toEqual([])
    const bad = await cli(['approvals', 'approve', 'nope'])
    expect(bad.code).toBe(1)

    const client = await mcpClient()
    try {
      const waitForApproval = async (): Promise<ApprovalInfo> => {
        for (let i = 0; i < 100; i++) {
          const list = JSON.parse((await cli(['approvals', 'list', '--json'])).stdout) as ApprovalInfo[]
          if (list.length) return list[0]!
          await new Promise((r) => setTimeout(r, 100))
        }
        throw new Error('no approval appeared')
      }
      const approved = client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } }) as Promise<CallToolResult>
      const first = await waitForApproval()
      expect(first).toMatchObject({ server: 'everything', tool: 'get-sum', arguments: { a: 2, b: 3 } })
      const human = await cli(['approvals', 'list'])
      expect(human.stdout).toMatch(/everything:get-sum\s+.*\{"a":2,"b":3\}/)
      expect((await cli(['approvals', 'approve', first.id])).code).toBe(0)
      const result = await approved
      expect(result.isError).toBeFalsy()
      expect(JSON.stringify(result.content)).toContain('5')

      const denied = client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 1 } }) as Promise<CallToolResult>
      const second = await waitForApproval()
      expect((await cli(['approvals', 'deny', second.id])).code).toBe(0)
      expect((await denied).isError).toBe(true)
    } finally {
      await client.close()
    }
  }, 60_000)

  it('stdio bridges to the running core instead of starting the upstreams again; the session names the bridged client', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--data-dir', dataDir, 'stdio'], env: baseEnv() as Record<string, string>, stderr: 'pipe' })
    const client = new Client({ name: 'stdio-test', version: '1.0.0' })
    await client.connect(transport)
    const db = new Database(join(dataDir, 'activity.db'), { readonly: true })
    try {
      const result = (await client.callTool({ name: 'everything__echo', arguments: { message: 'via stdio' } })) as CallToolResult
      expect(result.content[0]).toMatchObject({ type: 'text', text: 'Echo: via stdio' })
      // the client is this process, which started the bridge, not the bridge (the core looks it up while the session lasts)
      let row: { transport: string; client_pid: number | null; client_exe: string | null } | undefined
      for (let i = 0; i < 150 && !row?.client_pid; i++) {
        row = db
          .prepare("SELECT s.transport, s.client_pid, s.client_exe FROM activity a JOIN session s ON s.id = a.session_id JOIN activity_body b ON b.rid = a.rid WHERE a.type = 'tool_call' AND b.arguments LIKE '%via stdio%'")
          .get() as typeof row
        if (!row?.client_pid) await new Promise((r) => setTimeout(r, 100))
      }
      expect(row).toEqual({ transport: 'stdio', client_pid: process.pid, client_exe: realpathSync(process.execPath) })
    } finally {
      db.close()
      await client.close()
    }
    const log = readFileSync(join(dataDir, 'logs', 'mcpproxy-stdio.log'), 'utf8')
    expect(log).toMatch(/bridging stdio to the running core/)
  }, 30_000)

  it('doctor checks the config file on disk too: the running core keeps its last good config, a broken file fails', async () => {
    const file = join(dataDir, 'mcp_config.json')
    const good = readFileSync(file, 'utf8')
    try {
      writeFileSync(file, '{"listen": ')
      const r = await cli(['doctor'])
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/✓ config: the running core's config is valid/)
      expect(r.stdout).toMatch(/✗ config_file: .*mcp_config\.json does not load: .*not valid JSON/)
      const json = JSON.parse((await cli(['doctor', '--json'])).stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean }> }
      expect(json.ok).toBe(false)
      expect(json.checks.find((c) => c.name === 'config_file')).toMatchObject({ ok: false })
      // status says so too, and that the core goes on with its last good config
      expect((await cli(['status'])).stdout).toMatch(/Config:\s+.*not valid JSON.* \(the core goes on with its last good config\)/)
    } finally {
      writeFileSync(file, good)
    }
    const fixed = JSON.parse((await cli(['doctor', '--json'])).stdout) as { checks: Array<{ name: string; ok: boolean }> }
    expect(fixed.checks.find((c) => c.name === 'config_file')).toBeUndefined()
    expect(fixed.checks.find((c) => c.name === 'config')).toMatchObject({ ok: true })
  })

  it('import and delete go through the core: an export re-imported is all skipped; a deleted id is gone', async () => {
    const jsonl = join(dir, 'served.jsonl')
    expect((await cli(['activity', 'export', '--output', jsonl, '--include-bodies', '--type', 'tool_call'])).code).toBe(0)
    const n = readFileSync(jsonl, 'utf8').trim().split('\n').length
    const imported = await cli(['activity', 'import', jsonl, '--json'])
    expect(imported.code).toBe(0)
    expect(JSON.parse(imported.stdout)).toMatchObject({ read: n, imported: 0, skipped_existing: n })
    const page = JSON.parse((await cli(['activity', 'list', '--json', '--type', 'tool_call', '--limit', '1'])).stdout) as ActivityPage
    const id = page.activities[0]!.id
    expect((await cli(['activity', 'delete', id])).code).toBe(0)
    const gone = await cli(['activity', 'show', id])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain(`no activity record ${id}`)
  }, 30_000)

  it('a second serve for the same data dir is refused: no second core, nothing recorded, runtime.json kept', async () => {
    const runtime = join(dataDir, 'runtime.json')
    const before = readFileSync(runtime, 'utf8')
    const systemRecords = async (): Promise<number> =>
      (JSON.parse((await cli(['activity', 'list', '--json', '--type', 'system_start', '--type', 'system_stop'])).stdout) as ActivityPage).total
    const records = await systemRecords()
    const second = await run(['--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${await freePort()}`])
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`another mcpproxy core is already running for ${dataDir}`)
    expect(readFileSync(runtime, 'utf8')).toBe(before)
    expect(await systemRecords()).toBe(records)
  }, 30_000)

  it('serve on an address another process holds exits 1 and says so, every time (it used to end mid-shutdown at random)', async () => {
    const otherDir = join(dir, 'other-data')
    for (let i = 0; i < 4; i++) {
      const r = await run(['--data-dir', otherDir, 'serve', '--listen', `127.0.0.1:${port}`])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is in use`)
    }
  }, 60_000)

  it("another data dir's core on the address this one's config names is not taken for a wrong key: commands go to the local log", async () => {
    const otherDir = join(dir, 'other-config-same-port')
    mkdirSync(otherDir, { recursive: true })
    writeFileSync(join(otherDir, 'mcp_config.json'), JSON.stringify({ api_key: 'another-key-another-key-1234', listen: `127.0.0.1:${port}`, mcpServers: {} }))
    const r = await run(['--data-dir', otherDir, 'activity', 'list', '--json'])
    expect(r.stderr).not.toMatch(/rejected the API key/)
    // the local log, which this data dir does not have yet
    expect(r.stderr).toContain(`no activity database at ${join(otherDir, 'activity.db')}`)
  })

  it('without the socket, commands find the core through the address serve recorded, with the key; a wrong key is a clear error', async () => {
    rmSync(join(dataDir, 'mcpproxy.sock'), { force: true })
    const s = await cli(['status', '--json'])
    expect(s.code).toBe(0)
    expect((JSON.parse(s.stdout) as StatusInfo).listen).toBe(`127.0.0.1:${port}`)
    const wrong = await run(['--data-dir', dataDir, 'activity', 'list'], { env: { ...baseEnv(), MCPPROXY_API_KEY: 'wrong-key-wrong-key-wrong' } })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/rejected the API key/)
  })

  it('serve stops on SIGTERM with exit 0, and status then says stopped', async () => {
    serve.child.kill('SIGTERM')
    expect(await exited(serve.child)).toBe(0)
    const s = JSON.parse((await cli(['status', '--json'])).stdout) as { status: string }
    expect(s.status).toBe('stopped')
    const page = JSON.parse((await cli(['activity', 'list', '--json', '--type', 'system_stop'])).stdout) as ActivityPage
    expect(page.total).toBe(1)
  }, 30_000)
})

describe('mcpproxy wrap with no core running', () => {
  let data2: string
  beforeAll(() => {
    data2 = join(dir, 'data2')
    mkdirSync(data2, { recursive: true })
    writeFileSync(
      join(data2, 'mcp_config.json'),
      JSON.stringify({ api_key: apiKey, tool_exposure: 'direct', listen: '127.0.0.1:1', mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], quarantined: false } } }),
    )
  })

  it('wrap relays one server transparently, records its calls in the same database, exits with its code', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--data-dir', data2, 'wrap', '--sensitive-tools', 'get-env', '--', process.execPath, EVERYTHING, 'stdio'], env: baseEnv() as Record<string, string>, stderr: 'pipe' })
    const client = new Client({ name: 'wrap-test', version: '1.0.0' })
    await client.connect(transport)
    const result = (await client.callTool({ name: 'echo', arguments: { message: 'wrapped' } })) as CallToolResult
    expect(result.content[0]).toMatchObject({ text: 'Echo: wrapped' })
    await client.close()
    const page = JSON.parse((await run(['--data-dir', data2, 'activity', 'list', '--json', '--q', 'wrapped'])).stdout) as ActivityPage
    expect(page.activities.length).toBeGreaterThan(0)
    const rec = JSON.parse((await run(['--data-dir', data2, 'activity', 'show', page.activities[0]!.id, '--json'])).stdout) as ActivityRecord
    expect(rec).toMatchObject({ type: 'tool_call', tool_name: 'echo', arguments: { message: 'wrapped' } })
    const failing = await run(['--data-dir', data2, 'wrap', '--', process.execPath, '-e', 'process.exit(7)'])
    expect(failing.code).toBe(7)
    const verify = await run(['--data-dir', data2, 'activity', 'verify'])
    expect(verify.code).toBe(0)
  }, 40_000)

  it('wrap refuses a database from a newer version before it starts the server', async () => {
    const data3 = join(dir, 'newer')
    mkdirSync(data3, { recursive: true })
    const db = new Database(join(data3, 'activity.db'))
    db.pragma('user_version = 999')
    db.close()
    const marker = join(data3, 'server-started')
    const r = await run(['--data-dir', data3, 'wrap', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('schema version 999')
    expect(existsSync(marker)).toBe(false)
  })
})
