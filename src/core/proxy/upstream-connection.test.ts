import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js'
import type { ConnectionState } from '../../shared/servers'
import { ServerConfigSchema } from '../config/schema'
import { silentLogger } from '../logger'
import { computeHealth } from './health'
import { UpstreamConnection } from './upstream-connection'

const TOKEN = 'secret-token'
const seen: Array<{ method: string; path: string; auth?: string }> = []

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'http-fixture', version: '1.0.0' })
  server.registerTool('echo', { description: 'Echoes the message back.', inputSchema: { message: z.string() } }, async ({ message }) => ({
    content: [{ type: 'text', text: `Echo: ${message}` }],
  }))
  server.registerPrompt('greet', { description: 'A greeting' }, () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'hello' } }] }))
  return server
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? JSON.parse(text) : undefined
}

/** streamable HTTP (stateless) at /mcp, legacy SSE at /sse + /messages, and /private/mcp needing a bearer token */
let http: Server
let base: string
const sse = new Map<string, SSEServerTransport>()

beforeAll(async () => {
  http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    seen.push({ method: req.method ?? '', path: url.pathname, auth: req.headers.authorization })
    void (async () => {
      if (url.pathname === '/mcp' || url.pathname === '/private/mcp') {
        if (url.pathname === '/private/mcp' && req.headers.authorization !== `Bearer ${TOKEN}`) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}')
          return
        }
        if (req.method !== 'POST') {
          res.writeHead(405).end()
          return
        }
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
        const server = mcpServer()
        res.on('close', () => void server.close())
        await server.connect(transport)
        await transport.handleRequest(req, res, await body(req))
        return
      }
      if (url.pathname === '/sse' && req.method === 'GET') {
        const transport = new SSEServerTransport('/messages', res)
        sse.set(transport.sessionId, transport)
        res.on('close', () => sse.delete(transport.sessionId))
        await mcpServer().connect(transport)
        return
      }
      if (url.pathname === '/messages' && req.method === 'POST') {
        const transport = sse.get(url.searchParams.get('sessionId') ?? '')
        if (!transport) {
          res.writeHead(404).end()
          return
        }
        await transport.handlePostMessage(req, res, await body(req))
        return
      }
      res.writeHead(405).end()
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const t of sse.values()) await t.close()
  http.closeAllConnections()
  await new Promise((resolve) => http.close(resolve))
})

function connection(cfg: Record<string, unknown>): { conn: UpstreamConnection; states: ConnectionState[]; delays: number[] } {
  const states: ConnectionState[] = []
  const delays: number[] = []
  const onState = (c: UpstreamConnection): void => {
    states.push(c.state)
    if (c.state === 'backoff') delays.push(c.retryInMs ?? -1)
  }
  const conn = new UpstreamConnection('remote', ServerConfigSchema.parse(cfg), { onState, onLists: () => {} }, {
    logger: silentLogger,
    connectTimeoutMs: 5_000,
    backoff: { initialMs: 100, maxMs: 500 },
  })
  return { conn, states, delays }
}

const WAIT = { timeout: 10_000, interval: 20 }

describe('UpstreamConnection over HTTP', () => {
  it('protocol http: streamable HTTP, tools and prompts listed, a call answered', async () => {
    const { conn, states } = connection({ url: `${base}/mcp`, protocol: 'http' })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.state).toBe('ready'), WAIT)
      expect(states).toEqual(['connecting', 'ready'])
      expect(conn.protocol).toBe('http')
      expect(conn.tools.map((t) => t.name)).toEqual(['echo'])
      expect(conn.prompts.map((p) => p.name)).toEqual(['greet'])
      expect(conn.resources).toEqual([])
      const result = await conn.request('tool echo', { timeoutMs: 5_000 }, (client, opts) =>
        client.callTool({ name: 'echo', arguments: { message: 'over http' } }, undefined, opts),
      )
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: over http' }])
    } finally {
      await conn.stop()
    }
    expect(conn.state).toBe('stopped')
  })

  it('protocol sse: the legacy SSE transport', async () => {
    const { conn } = connection({ url: `${base}/sse`, protocol: 'sse' })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.state).toBe('ready'), WAIT)
      expect(conn.protocol).toBe('sse')
      const result = await conn.request('tool echo', { timeoutMs: 5_000 }, (client, opts) =>
        client.callTool({ name: 'echo', arguments: { message: 'over sse' } }, undefined, opts),
      )
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: over sse' }])
    } finally {
      await conn.stop()
    }
  })

  it('protocol auto: tries streamable HTTP first and falls back to SSE', async () => {
    seen.length = 0
    const { conn } = connection({ url: `${base}/sse` })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.state).toBe('ready'), WAIT)
      expect(conn.protocol).toBe('sse')
      expect(seen[0]).toMatchObject({ method: 'POST', path: '/sse' })
      expect(seen.some((s) => s.method === 'GET' && s.path === '/sse')).toBe(true)
    } finally {
      await conn.stop()
    }
  })

  it('sends the configured headers; without them a 401 fails with an error that asks for login', async () => {
    const good = connection({ url: `${base}/private/mcp`, protocol: 'http', headers: { Authorization: `Bearer ${TOKEN}` } })
    good.conn.start()
    const bad = connection({ url: `${base}/private/mcp`, protocol: 'http' })
    bad.conn.start()
    try {
      await vi.waitFor(() => expect(good.conn.state).toBe('ready'), WAIT)
      await vi.waitFor(() => expect(bad.conn.state).toBe('backoff'), WAIT)
      expect(bad.conn.lastError).toMatch(/401/)
      const health = computeHealth({
        enabled: true,
        quarantined: false,
        state: bad.conn.state,
        everConnected: false,
        failures: bad.conn.failures,
        lastError: bad.conn.lastError,
        toolCount: 0,
        changedTools: [],
        findingCount: 0,
        hasLogs: false,
      })
      expect(health).toMatchObject({ level: 'unhealthy', action: 'login', summary: 'Authentication required' })
      // a call while it is down fails at once with the reason, rather than waiting for the timeout
      const err = await bad.conn.request('tool echo', { timeoutMs: 60_000 }, (c) => c.ping()).catch((e: unknown) => e as Error)
      expect((err as Error).message).toMatch(/^server remote is not connected: .*401/)
    } finally {
      await good.conn.stop()
      await bad.conn.stop()
    }
  })

  it('an unreachable URL fails with the network error and keeps retrying with growing delays', async () => {
    const { conn, delays } = connection({ url: 'http://127.0.0.1:9/mcp', protocol: 'http' })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.failures).toBeGreaterThanOrEqual(3), WAIT)
      // 100 ms doubling, ±20 % jitter: each of the first delays is longer than the one before
      expect(delays[0]).toBeLessThanOrEqual(120)
      expect(delays[1]).toBeGreaterThan(delays[0]!)
      expect(delays[2]).toBeGreaterThan(delays[1]!)
      expect(conn.state === 'backoff' || conn.state === 'connecting').toBe(true)
      expect(conn.lastError).toMatch(/fetch failed|ECONNREFUSED/)
      expect(conn.everConnected).toBe(false)
    } finally {
      await conn.stop()
    }
  })
})

describe('UpstreamConnection over stdio', () => {
  it('a server that keeps dying right after connecting backs off longer each time instead of flapping', async () => {
    const script = join(resolve(__dirname, '../../..'), 'test/fixtures/crash-server.mjs')
    const { conn, states, delays } = connection({ command: process.execPath, args: [script], env: { CRASH_AFTER_MS: '500' } })
    conn.start()
    try {
      await vi.waitFor(() => expect(delays.length).toBeGreaterThanOrEqual(3), WAIT)
      // each connection lived (ready) but briefly, so the delay doubles: ~100, ~200, ~400 ms
      expect(states.filter((s) => s === 'ready').length).toBeGreaterThanOrEqual(3)
      expect(delays[1]).toBeGreaterThan(delays[0]!)
      expect(delays[2]).toBeGreaterThan(delays[1]!)
      expect(conn.lastError).toMatch(/^process exited; last stderr: crash-server: started pid \d+$/)
    } finally {
      await conn.stop()
    }
  })

  it('calls sent in the same turn go out together and each gets its own answer; a 1 MiB call after them too', async () => {
    const everything = join(resolve(__dirname, '../../..'), 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')
    const { conn } = connection({ command: process.execPath, args: [everything, 'stdio'] })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.state).toBe('ready'), WAIT)
      const echo = (message: string): Promise<unknown> =>
        conn.request('tool echo', { timeoutMs: 10_000 }, (client, opts) => client.callTool({ name: 'echo', arguments: { message } }, undefined, opts))
      const messages = Array.from({ length: 40 }, (_, i) => `m${i}`)
      const results = await Promise.all(messages.map(echo))
      expect(results.map((r) => (r as { content: Array<{ text: string }> }).content[0]!.text)).toEqual(messages.map((m) => `Echo: ${m}`))
      const big = 'x'.repeat(1024 * 1024)
      const [large, after] = await Promise.all([echo(big), echo('after')])
      expect((large as { content: Array<{ text: string }> }).content[0]!.text).toBe(`Echo: ${big}`)
      expect((after as { content: Array<{ text: string }> }).content[0]!.text).toBe('Echo: after')
    } finally {
      await conn.stop()
    }
  })

  it('a tools/call answered with a JSON-RPC error, a malformed result or a late answer each fails clearly', async () => {
    // a stdio server of our own: initialize and tools/list as usual; tools/call answers by tool name
    const script = `
      const rl = require('readline').createInterface({ input: process.stdin })
      const send = (m) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...m }) + '\\n')
      rl.on('line', (line) => {
        const m = JSON.parse(line)
        if (m.method === 'initialize') send({ id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'odd', version: '1' } } })
        else if (m.method === 'tools/list') send({ id: m.id, result: { tools: ['ok', 'fail', 'bad', 'slow'].map((name) => ({ name, inputSchema: { type: 'object' } })) } })
        else if (m.method === 'tools/call') {
          const name = m.params.name
          if (name === 'ok') send({ id: m.id, result: { content: [{ type: 'text', text: 'fine' }] } })
          else if (name === 'fail') send({ id: m.id, error: { code: -32602, message: 'no such thing', data: { hint: 'x' } } })
          else if (name === 'bad') send({ id: m.id, result: { content: 'not a list' } })
          else setTimeout(() => send({ id: m.id, result: { content: [] } }), 300)
        }
      })`
    const { conn } = connection({ command: process.execPath, args: ['-e', script] })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.state).toBe('ready'), WAIT)
      const call = (name: string, timeoutMs = 5_000): Promise<unknown> =>
        conn.request(`tool ${name}`, { timeoutMs }, (client, opts) => client.request({ method: 'tools/call', params: { name, arguments: {} } }, CallToolResultSchema, opts))
      const [ok, fail, bad] = await Promise.allSettled([call('ok'), call('fail'), call('bad')])
      expect(ok).toEqual({ status: 'fulfilled', value: { content: [{ type: 'text', text: 'fine' }] } })
      expect(fail).toMatchObject({ status: 'rejected', reason: { code: 'UPSTREAM_ERROR', message: expect.stringContaining('no such thing'), details: { rpc_code: -32602, rpc_data: { hint: 'x' } } } })
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'UPSTREAM_ERROR' } })
      await expect(call('slow', 50)).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' })
      // the late answer to the timed-out call is dropped; the connection keeps working
      await new Promise((r) => setTimeout(r, 400))
      await expect(call('ok')).resolves.toEqual({ content: [{ type: 'text', text: 'fine' }] })
    } finally {
      await conn.stop()
    }
  })

  it('a server that dies before answering initialize fails with its last stderr line', async () => {
    const script = join(resolve(__dirname, '../../..'), 'test/fixtures/crash-server.mjs')
    const { conn, states } = connection({ command: process.execPath, args: [script], env: { CRASH_AFTER_MS: '0' } })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.failures).toBeGreaterThanOrEqual(1), WAIT)
      expect(states).not.toContain('ready')
      expect(conn.lastError).toMatch(/Connection closed; last stderr: crash-server: started pid \d+$/)
    } finally {
      await conn.stop()
    }
  })

  it('masks a secret in the last stderr line it reports (health detail and last_error show it)', async () => {
    const token = 'ghp_' + 'Zq8Lm2Rt5Vx9Kp3Nw7Hd4Jf6Bc1Gs0Ty2Ua8'
    const { conn } = connection({ command: process.execPath, args: ['-e', `process.stderr.write("invalid token ${token}\\n", () => process.exit(1))`] })
    conn.start()
    try {
      await vi.waitFor(() => expect(conn.failures).toBeGreaterThanOrEqual(1), WAIT)
      expect(conn.lastError).toMatch(/last stderr: invalid token \[REDACTED/)
      expect(conn.lastError).not.toContain(token)
      expect(conn.ring.tail().join('\n')).not.toContain(token)
    } finally {
      await conn.stop()
    }
  })
})
