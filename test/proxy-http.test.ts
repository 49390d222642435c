import { existsSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { startHarness, textOf, type Harness } from './proxy-helpers'

const require = createRequire(import.meta.url)

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-client', version: '9' } },
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  })
}

describe('/mcp over real HTTP with retrieve_tools exposure', () => {
  let h: Harness
  let client: Client
  beforeAll(async () => {
    h = await startHarness()
    client = await h.connectHttp('vitest-agent')
  })
  afterAll(async () => h.close())

  it('lists only the proxy tools and finds echo with retrieve_tools', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual(['call_tool', 'retrieve_tools', 'upstream_servers'])
    const found = JSON.parse(textOf(await client.callTool({ name: 'retrieve_tools', arguments: { query: 'echo message', limit: 3 } })))
    expect(found.tools[0]).toMatchObject({ name: 'everything:echo', server: 'everything', tool: 'echo' })
    expect(found.tools[0].inputSchema.properties).toHaveProperty('message')
    expect(found.tools[0].annotations).toMatchObject({ readOnlyHint: true })
  })

  it('calls echo through call_tool and records a complete tool_call', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const result = await client.callTool({
      name: 'call_tool',
      arguments: { server: 'everything', tool: 'echo', arguments: { message: 'hi /tmp/x.txt' }, intent: { operation_type: 'read', reason: 'test' } },
      _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    })
    expect(textOf(result)).toBe('Echo: hi /tmp/x.txt')
    const rec = (await h.records('tool_call')).find((r) => (r.arguments as { message?: string }).message === 'hi /tmp/x.txt')!
    expect(rec).toMatchObject({
      status: 'success',
      server_name: 'everything',
      tool_name: 'echo',
      trace_id: traceId,
      intent: { operation_type: 'read', reason: 'test' },
      client: { name: 'vitest-agent', version: '1.2.3' },
    })
    expect(rec.span_id).toMatch(/^[0-9a-f]{16}$/)
    expect(rec.duration_ms).toBeGreaterThan(0)
    expect(rec.request_bytes).toBe(JSON.stringify({ message: 'hi /tmp/x.txt' }).length)
    expect(rec.response_bytes).toBeGreaterThan(10)
    expect(rec.request_tokens).toBeGreaterThan(0)
    expect(rec.response_tokens).toBeGreaterThan(0)
    expect(rec.entities).toContain('/tmp/x.txt')
    const session = h.services.sessions.get(rec.session_id!)!
    expect(session).toMatchObject({ transport: 'http', active: true, client: { name: 'vitest-agent', version: '1.2.3' } })
    expect(session.call_count).toBeGreaterThanOrEqual(1)
  })

  it('emits started and completed events with the record id', async () => {
    const seen: string[] = []
    const offs = [
      h.bus.on('activity.tool_call.started', (e) => seen.push(`started:${e.id}`)),
      h.bus.on('activity.tool_call.completed', (e) => seen.push(`completed:${e.id}:${e.status}`)),
    ]
    await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'ev' } } })
    await h.writer.flush()
    offs.forEach((off) => off())
    const id = seen[0]!.split(':')[1]
    expect(seen).toEqual([`started:${id}`, `completed:${id}:success`])
  })

  it('passes a 1 MiB argument and a 1 MiB response', async () => {
    const big = 'x'.repeat(1024 * 1024)
    const result = await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: big } } })
    expect(textOf(result)).toBe(`Echo: ${big}`)
  })

  it('never gives one client the answers of another calling at the same time', async () => {
    const other = await h.connectHttp('second-agent')
    const round = (c: Client, tag: string) =>
      Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          c.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: `${tag}-${i}` } } }).then(textOf),
        ),
      )
    const [a, b] = await Promise.all([round(client, 'A'), round(other, 'B')])
    expect(a).toEqual(Array.from({ length: 40 }, (_, i) => `Echo: A-${i}`))
    expect(b).toEqual(Array.from({ length: 40 }, (_, i) => `Echo: B-${i}`))
  })

  it('tells unknown servers and tools apart, as tool errors', async () => {
    const r1 = await client.callTool({ name: 'call_tool', arguments: { server: 'nope', tool: 'echo', arguments: {} } })
    expect(r1.isError).toBe(true)
    expect(textOf(r1)).toContain("unknown server 'nope'")
    const r2 = await client.callTool({ name: 'call_tool', arguments: { tool: 'everything:missing', arguments: {} } })
    expect(textOf(r2)).toContain("unknown tool 'missing'")
    const r3 = await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { refused: 3 }, intent: { operation_type: 'delete' } } })
    expect(textOf(r3)).toContain('invalid intent')
    const r4 = await client.callTool({ name: 'call_tool', arguments: { server: 'everything', arguments: { refused: 4 } } })
    expect(textOf(r4)).toContain('call_tool needs "server" and "tool"')
    // calls refused before they reach a server are in the log too, as errors with the reason
    const refused = (await h.records('tool_call')).filter((r) => typeof (r.arguments as { refused?: number } | undefined)?.refused === 'number')
    const byReason = refused.map((r) => [r.server_name, r.tool_name, r.status, r.error?.slice(0, 14)]).sort((a, b) => String(a[3]).localeCompare(String(b[3])))
    expect(byReason).toEqual([
      ['everything', undefined, 'error', 'call_tool need'],
      ['everything', 'echo', 'error', 'invalid intent'],
    ])
  })

  it('records an upstream isError result as error', async () => {
    await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { wrong: 1 } } })
    const rec = (await h.records('tool_call')).find((r) => (r.arguments as { wrong?: number }).wrong === 1)!
    expect(rec.status).toBe('error')
    expect(rec.error).toBeTruthy()
  })

  it('answers malformed JSON with a 400 parse error and keeps serving', async () => {
    const bad = await post(h.url, '{"jsonrpc":"2.0","id":1,"method":')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } })
    const notRpc = await post(h.url, '{"hello":1}')
    expect(notRpc.status).toBe(400)
    expect(await notRpc.json()).toMatchObject({ error: { code: -32600 } })
    const noSession = await post(h.url, JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }))
    expect(noSession.status).toBe(400)
    // the answer names the request (a stdio client behind the bridge matches answers by id)
    expect(await noSession.json()).toMatchObject({ id: 5, error: { code: -32000, message: expect.stringContaining('send initialize first') } })
    // initialize without params: invalid params on one line, not an internal error with the schema's issues
    const noParams = await post(h.url, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'initialize' }))
    const noParamsAnswer = JSON.stringify(await noParams.json())
    expect(JSON.parse(noParamsAnswer)).toMatchObject({ id: 6, error: { code: -32602, message: expect.stringContaining('invalid initialize params: params: expected object') } })
    expect(noParamsAnswer).not.toContain('"expected"')
    const stale = await post(h.url, JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }), { 'mcp-session-id': 'gone' })
    expect(stale.status).toBe(404)
    const r = await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'still here' } } })
    expect(textOf(r)).toBe('Echo: still here')
  })

  it('speaks plain JSON to a raw client, keeps request ids per session, and ends a session on DELETE', async () => {
    const init = await post(h.url, JSON.stringify(INIT))
    expect(init.headers.get('content-type')).toContain('application/json')
    const sid = init.headers.get('mcp-session-id')!
    expect(await init.json()).toMatchObject({ result: { serverInfo: { name: "mcpproxy" } } })
    const note = await post(h.url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { 'mcp-session-id': sid })
    expect(note.status).toBe(202)
    const call = (id: number, message: string) =>
      post(
        h.url,
        JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message } } } }),
        { 'mcp-session-id': sid },
      ).then((r) => r.json())
    const res = await call(7, 'raw')
    expect(res).toMatchObject({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'Echo: raw' }] } })
    const sse = await post(h.url, JSON.stringify({ jsonrpc: '2.0', id: 'sse-1', method: 'tools/list' }), { 'mcp-session-id': sid, accept: 'text/event-stream' })
    expect(sse.headers.get('content-type')).toBe('text/event-stream')
    const event = await sse.text()
    expect(event.startsWith('event: message\ndata: ')).toBe(true)
    expect(JSON.parse(event.split('data: ')[1]!.trim())).toMatchObject({ id: 'sse-1', result: { tools: expect.any(Array) } })
    const batch = await post(
      h.url,
      JSON.stringify([
        { jsonrpc: '2.0', id: 20, method: 'tools/list' },
        { jsonrpc: '2.0', id: 21, method: 'ping' },
      ]),
      { 'mcp-session-id': sid },
    )
    const answers = (await batch.json()) as Array<{ id: number }>
    expect(answers.map((a) => a.id).sort()).toEqual([20, 21])
    const sessions = h.services.sessions.list().find((s) => s.id === sid)!
    expect(sessions.client.name).toBe('raw-client')
    const del = await fetch(h.url, { method: 'DELETE', headers: { 'mcp-session-id': sid } })
    expect(del.status).toBe(200)
    expect(h.services.sessions.get(sid)).toMatchObject({ active: false })
    const after = await post(h.url, JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/list' }), { 'mcp-session-id': sid })
    expect(after.status).toBe(404)
  })

  it('answers malformed tools/call params with a JSON-RPC error naming the field, records nothing for them, and keeps the session', async () => {
    const init = await post(h.url, JSON.stringify(INIT))
    const sid = init.headers.get('mcp-session-id')!
    await post(h.url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { 'mcp-session-id': sid })
    const send = (id: number, params: unknown) =>
      post(h.url, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }), { 'mcp-session-id': sid }).then((r) => r.json())
    const calls = () => h.services.sessions.get(sid)?.call_count
    // -32602 Invalid params, one line naming the field (not -32603 with the schema's issues as JSON)
    const invalid = (id: number, message: string) => ({ jsonrpc: '2.0', id, error: { code: -32602, message: `MCP error -32602: invalid tools/call params: ${message}` } })
    expect(await send(30, { name: 'call_tool', arguments: 'not an object' })).toEqual(invalid(30, 'arguments: expected object, received string'))
    expect(await send(31, { name: 42 })).toEqual(invalid(31, 'name: expected string, received number'))
    expect(await send(32, { name: 'call_tool', task: { ttl: 'soon' } })).toEqual(invalid(32, 'task.ttl: expected number, received string'))
    expect(await send(36, undefined)).toEqual(invalid(36, 'params: expected object, received undefined'))
    expect(calls()).toBe(0)
    // well-formed, with _meta (a progress token and a traceparent): answered and recorded
    const ok = await send(33, {
      name: 'call_tool',
      arguments: { server: 'everything', tool: 'echo', arguments: { message: 'meta' } },
      _meta: { progressToken: 'p-33', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    })
    expect(ok).toMatchObject({ id: 33, result: { content: [{ type: 'text', text: 'Echo: meta' }] } })
    expect(calls()).toBe(1)
    // a request the SDK cannot classify (an extra top-level key) is answered, not left hanging
    const odd = await post(h.url, JSON.stringify({ jsonrpc: '2.0', id: 34, method: 'tools/list', extra: true, params: { _meta: { progressToken: 1.5 } } }), {
      'mcp-session-id': sid,
    })
    expect(odd.status).toBe(400)
    expect(await odd.json()).toMatchObject({ id: 34, error: { code: -32600, message: expect.stringContaining('not a valid JSON-RPC 2.0 request') } })
    expect(await send(35, { name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'after' } } })).toMatchObject({ id: 35, result: { content: [{ text: 'Echo: after' }] } })
  })

  it('stops the upstream call when the client cancels it (notifications/cancelled) and keeps the session', async () => {
    const abort = new AbortController()
    const slow = { name: 'call_tool', arguments: { server: 'everything', tool: 'trigger-long-running-operation', arguments: { duration: 60, steps: 1, tag: 'cancel-me' } } }
    const started = new Promise<string>((resolve) => {
      const off = h.bus.on('activity.tool_call.started', (e) => {
        off()
        resolve(e.id)
      })
    })
    const call = client.callTool(slow, undefined, { signal: abort.signal, timeout: 120_000 })
    const id = await started
    abort.abort('changed my mind')
    await expect(call).rejects.toThrow()
    // the upstream request was cancelled, not left running for its 60 s
    // (and the log says the client cancelled, not that the upstream failed)
    await vi.waitFor(async () => expect(await h.record(id)).toMatchObject({ status: 'error', error: "cancelled by the client (it cancelled the call or went away) before 'everything' answered" }), { timeout: 10_000 })
    const r = await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'after cancel' } } })
    expect(textOf(r)).toBe('Echo: after cancel')
  })

  it('stops the upstream call when a raw client disconnects while waiting, and keeps the session', async () => {
    const init = await post(h.url, JSON.stringify(INIT))
    const sid = init.headers.get('mcp-session-id')!
    await post(h.url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { 'mcp-session-id': sid })
    const started = new Promise<string>((resolve) => {
      const off = h.bus.on('activity.tool_call.started', (e) => {
        off()
        resolve(e.id)
      })
    })
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'call_tool', arguments: { server: 'everything', tool: 'trigger-long-running-operation', arguments: { duration: 60, steps: 1 } } },
    })
    const req = httpRequest(h.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-session-id': sid } })
    const closed = new Promise<void>((resolve) => req.on('close', resolve))
    req.on('error', () => undefined)
    req.end(body)
    const id = await started
    req.destroy()
    await closed
    await vi.waitFor(async () => expect(await h.record(id)).toMatchObject({ status: 'error', error: expect.stringContaining('cancelled') }), { timeout: 10_000 })
    // the same request id is free again in this session
    const again = await post(h.url, JSON.stringify({ ...JSON.parse(body), params: { name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'back' } } } }), {
      'mcp-session-id': sid,
    })
    expect(await again.json()).toMatchObject({ id: 1, result: { content: [{ text: 'Echo: back' }] } })
  })

  it('proxies prompts (server__name) and resources of the upstreams', async () => {
    const { prompts } = await client.listPrompts()
    expect(prompts.map((p) => p.name)).toContain('everything__simple-prompt')
    const prompt = await client.getPrompt({ name: 'everything__simple-prompt' })
    expect(prompt.messages.length).toBeGreaterThan(0)
    await expect(client.getPrompt({ name: 'everything__nope' })).rejects.toThrow(/unknown prompt/)
    const { resources } = await client.listResources()
    expect(resources.length).toBeGreaterThan(0)
    const read = await client.readResource({ uri: resources[0]!.uri })
    expect(read.contents[0]!.uri).toBe(resources[0]!.uri)
  })

  it('adds a server through upstream_servers in quarantine, blocks its tools, and removes it', async () => {
    const memory = join(dirname(require.resolve('@modelcontextprotocol/server-memory/package.json')), 'dist/index.js')
    const added = await client.callTool({
      name: 'upstream_servers',
      arguments: { operation: 'add', name: 'memory', command: process.execPath, args: [memory], env: { MEMORY_FILE_PATH: join(h.dir, 'memory.jsonl') }, quarantined: false },
    })
    // an agent cannot start a process (or make a request) of its choosing: the server is only written down
    expect(JSON.parse(textOf(added))).toMatchObject({ added: 'memory', enabled: false, quarantined: true })
    const listed = JSON.parse(textOf(await client.callTool({ name: 'upstream_servers', arguments: { operation: 'list' } })))
    expect(listed.servers.find((s: { name: string }) => s.name === 'memory')).toMatchObject({ enabled: false, connected: false, quarantined: true })
    const marker = join(h.dir, 'agent-ran-this')
    await client.callTool({ name: 'upstream_servers', arguments: { operation: 'add', name: 'sneaky', command: process.execPath, args: ['-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`] } })
    await new Promise((r) => setTimeout(r, 500))
    expect(existsSync(marker)).toBe(false)
    expect(h.upstreams.get('sneaky')).toMatchObject({ enabled: false, quarantined: true, connected: false })
    const disabled = await client.callTool({ name: 'call_tool', arguments: { server: 'memory', tool: 'read_graph', arguments: {} } })
    expect(disabled.isError).toBe(true)
    // a person enables it: it connects, still quarantined, so its tools can be reviewed
    await h.upstreams.enable('memory')
    await vi.waitFor(() => expect(h.upstreams.tools('memory').length).toBeGreaterThan(0), { timeout: 15_000 })
    const blocked = await client.callTool({ name: 'call_tool', arguments: { server: 'memory', tool: 'read_graph', arguments: {} } })
    expect(textOf(blocked)).toMatch(/\(quarantine\): server 'memory' is quarantined/)
    const found = JSON.parse(textOf(await client.callTool({ name: 'retrieve_tools', arguments: { query: 'graph entities' } })))
    expect(found.tools.every((t: { server: string }) => t.server !== 'memory')).toBe(true)
    const bad = await client.callTool({ name: 'upstream_servers', arguments: { operation: 'add', name: 'bad name!' } })
    expect(bad.isError).toBe(true)
    // memory is in use (enabled): an agent's remove takes it out of use, a person removes it for good
    const taken = JSON.parse(textOf(await client.callTool({ name: 'upstream_servers', arguments: { operation: 'remove', name: 'memory' } })))
    expect(taken).toMatchObject({ removed: false, disabled: 'memory', quarantined: true })
    expect(h.upstreams.get('memory')).toMatchObject({ enabled: false, quarantined: true })
    // asked again, it stays: only a person removes a server for good
    await client.callTool({ name: 'upstream_servers', arguments: { operation: 'remove', name: 'memory' } })
    expect(h.upstreams.get('memory')).toMatchObject({ enabled: false, quarantined: true })
    await h.upstreams.remove('memory')
    await h.upstreams.remove('sneaky')
    expect(h.upstreams.get('memory')).toBeUndefined()
    expect((await client.callTool({ name: 'upstream_servers', arguments: { operation: 'remove', name: 'nobody' } })).isError).toBe(true)
  })

  it('finds the peer process of a loopback client (this test process)', async () => {
    const s = h.services.sessions.list().find((x) => x.client.name === 'vitest-agent')!
    await expect.poll(() => h.services.sessions.get(s.id)?.client.pid, { timeout: 10_000 }).toBe(process.pid)
    expect(h.services.sessions.get(s.id)!.client.exe).toBe(process.execPath)
  })
})

describe('/mcp with direct exposure', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ tool_exposure: 'direct' })
  })
  afterAll(async () => h.close())

  it('exposes every upstream tool as <server>__<tool> with its schema and annotations, and calls it', async () => {
    const client = await h.connectHttp()
    const { tools } = await client.listTools()
    const echo = tools.find((t) => t.name === 'everything__echo')!
    expect(echo.inputSchema.properties).toHaveProperty('message')
    expect(echo.annotations).toMatchObject({ readOnlyHint: true })
    expect(tools.length).toBe(h.upstreams.tools().length)
    expect(textOf(await client.callTool({ name: 'everything__echo', arguments: { message: 'direct' } }))).toBe('Echo: direct')
  })

  it('hides the tools of a quarantined server and tells the client the list changed', async () => {
    const client = await h.connectHttp()
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()))
    await h.upstreams.setQuarantined('everything', true)
    await changed
    expect((await client.listTools()).tools).toEqual([])
    await h.upstreams.setQuarantined('everything', false)
  })
})
