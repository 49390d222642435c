/**
 * The HTTP server as createCore() runs it, with a real upstream (server-everything over stdio)
 * and a real MCP client on /mcp: a call shows up live on /events and in /api/v1/activity.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeConfigFile } from '../src/core/config/load'
import { createCore, type Core } from '../src/core/index'
import { silentLogger } from '../src/core/logger'
import { openSse, readJson, TEST_API_KEY, type Json, type SseStream } from './helpers/core-harness'

const everything = join(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json'), '..', 'dist', 'index.js')
let dataDir: string
let core: Core
let base: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mcpproxy-http-core-'))
  writeConfigFile(join(dataDir, 'mcp_config.json'), {
    listen: '127.0.0.1:0',
    api_key: TEST_API_KEY,
    tool_exposure: 'direct',
    mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'], quarantined: false } },
  })
  core = await createCore({ dataDir, http: true, watchConfig: false, logger: silentLogger })
  await core.start()
  base = `http://${core.listenAddress}`
  for (let i = 0; i < 200 && !core.upstreams.get('everything')?.connected; i++) await new Promise((r) => setTimeout(r, 50))
})
afterAll(async () => {
  await core?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('createCore with http', () => {
  it('serves the real servers list with health', async () => {
    const body = await readJson(await fetch(`${base}/api/v1/servers`, { headers: { 'x-api-key': TEST_API_KEY } }))
    expect(body.data.servers[0]).toMatchObject({ name: 'everything', connected: true, health: { level: 'healthy' } })
  })

  it('a tool call through /mcp (1 MiB argument) is streamed on /events and listed in /activity', async () => {
    let events: SseStream | undefined
    const client = new Client({ name: 'http-core-test', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { 'x-api-key': TEST_API_KEY } } })
    try {
      events = await openSse(`${base}/events?types=activity.tool_call`, { 'x-api-key': TEST_API_KEY })
      await client.connect(transport)
      const message = 'm'.repeat(1024 * 1024)
      const result = await client.callTool({ name: 'everything__echo', arguments: { message } })
      expect(JSON.stringify(result.content)).toContain(`Echo: ${message.slice(0, 100)}`)
      const ms = await events.until((m) => m.some((x) => x.event === 'activity.tool_call.completed'), 'the completed call')
      const started = ms.find((m) => m.event === 'activity.tool_call.started')
      const completed = JSON.parse(ms.find((m) => m.event === 'activity.tool_call.completed')!.data)
      expect(JSON.parse(started!.data).id).toBe(completed.id)
      expect(completed).toMatchObject({ server: 'everything', tool: 'echo', status: 'success' })
      await core.activity.flush()
      const one = await readJson(await fetch(`${base}/api/v1/activity/${completed.id}`, { headers: { 'x-api-key': TEST_API_KEY } }))
      expect(one.data).toMatchObject({ id: completed.id, type: 'tool_call', server_name: 'everything', tool_name: 'echo', status: 'success' })
      const list = await readJson(await fetch(`${base}/api/v1/activity?type=tool_call&server=everything`, { headers: { 'x-api-key': TEST_API_KEY } }))
      expect(list.data.activities.map((a: { id: string }) => a.id)).toContain(completed.id)
      // the store may announce the same record again: one completed event per call
      await new Promise((r) => setTimeout(r, 400))
      expect(events.messages.filter((m) => m.event === 'activity.tool_call.completed')).toHaveLength(1)
    } finally {
      events?.close()
      await client.close()
    }
  })

  it('manages the real upstream: tools, logs, disable/enable, quarantine, add/remove', async () => {
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { 'x-api-key': TEST_API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      return { status: res.status, body: await readJson(res) }
    }
    const tools = await call('GET', '/servers/everything/tools')
    expect(tools.body.data.tools.map((t: { name: string }) => t.name)).toContain('everything:echo')
    expect((await call('GET', '/tools?q=echo&limit=3')).body.tools[0]).toMatchObject({ name: 'everything:echo', server: 'everything' })
    expect(Array.isArray((await call('GET', '/servers/everything/logs?lines=5')).body.data.lines)).toBe(true)
    const approved = await call('POST', '/servers/everything/tools/approve', { tools: ['echo'] })
    expect(approved.status).toBe(200)
    expect(approved.body.data.approved).toEqual(['echo'])

    const changes = await openSse(`${base}/events?types=servers.changed&server=everything`, { 'x-api-key': TEST_API_KEY })
    const quarantines = await openSse(`${base}/events?types=activity.quarantine_change`, { 'x-api-key': TEST_API_KEY })
    try {
      const off = await call('POST', '/servers/everything/disable')
      expect(off.body.data.server).toMatchObject({ enabled: false, health: { admin_state: 'disabled' } })
      await changes.until((m) => m.length >= 1, 'servers.changed for the disable')
      const on = await call('POST', '/servers/everything/enable')
      expect(on.body.data.server.enabled).toBe(true)
      const q = await call('POST', '/servers/everything/quarantine', { quarantined: true })
      expect(q.body.data.server).toMatchObject({ quarantined: true, health: { admin_state: 'quarantined' } })
      const unq = await call('POST', '/servers/everything/quarantine', { quarantined: false })
      expect(unq.body.data.server.quarantined).toBe(false)
      await quarantines.until((m) => m.length >= 2, 'two quarantine changes')
      await core.activity.flush()
      await new Promise((r) => setTimeout(r, 400))
      // one event per change, whether the bus or the store's append feed announced it
      expect(quarantines.messages.map((m) => JSON.parse(m.data).quarantined)).toEqual([true, false])
    } finally {
      changes.close()
      quarantines.close()
    }

    const memory = join(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-memory/package.json'), '..', 'dist', 'index.js')
    const added = await call('POST', '/servers', { name: 'memory', command: process.execPath, args: [memory] })
    expect(added.status).toBe(201)
    expect(added.body.data.server).toMatchObject({ name: 'memory', quarantined: true })
    expect((await call('POST', '/servers', { name: 'memory', command: process.execPath })).status).toBe(409)
    expect((await call('DELETE', '/servers/memory')).status).toBe(200)
    expect((await call('GET', '/servers')).body.data.servers.map((x: { name: string }) => x.name)).toEqual(['everything'])
  })
})

describe('createCore with http, while its upstreams start', () => {
  it('holds an MCP client that connects meanwhile: its first tools/list already lists the upstream\'s tools', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpproxy-http-core-held-'))
    // an upstream that takes a moment before it even starts
    writeConfigFile(join(dir, 'mcp_config.json'), {
      listen: '127.0.0.1:0',
      api_key: TEST_API_KEY,
      tool_exposure: 'direct',
      mcpServers: { slow: { command: 'sh', args: ['-c', `sleep 1.5; exec "${process.execPath}" "${everything}" stdio`], quarantined: false } },
    })
    const held = await createCore({ dataDir: dir, http: true, watchConfig: false, logger: silentLogger })
    const starting = held.start()
    try {
      for (let i = 0; i < 200 && !held.listenAddress; i++) await new Promise((r) => setTimeout(r, 10))
      expect(held.upstreams.get('slow')?.connected).toBeFalsy()
      // an unauthenticated request is not held: it is refused while the upstream is still starting
      const refused = await fetch(`http://${held.listenAddress}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      expect(refused.status).toBe(401)
      expect(held.upstreams.get('slow')?.connected).toBeFalsy()
      const client = new Client({ name: 'early-http', version: '1' })
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://${held.listenAddress}/mcp`), { requestInit: { headers: { 'X-API-Key': TEST_API_KEY } } }))
      const { tools } = await client.listTools()
      expect(tools.map((t) => t.name)).toContain('slow__echo')
      await client.close()
    } finally {
      await starting
      await held.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
