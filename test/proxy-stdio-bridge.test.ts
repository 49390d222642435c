// The stdio bridge (`mcpproxy stdio` when a core runs) against real stdio sessions of the
// aggregated server on a Unix socket: relaying, a core that goes away mid-call and another that
// takes its place, a core that never comes back, and what the socket refuses.
import { request } from 'node:http'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import type { Core } from '../src/core/core-types'
import { createStdioUpgrades } from '../src/core/http/stdio-upgrade'
import { closeUnixSocket, listenUnixSocket } from '../src/core/http/unix-socket'
import { silentLogger } from '../src/core/logger'
import { MAX_LINE_BYTES } from '../src/core/proxy/json-lines'
import { CORE_GONE_MESSAGE, openCoreStdio, runStdioBridge, STDIO_UPGRADE_PATH, STDIO_UPGRADE_PROTOCOL } from '../src/core/proxy/stdio-bridge'
import { startHarness, streamTransport, textOf, type Harness } from './proxy-helpers'

const describeUnix = describe.runIf(process.platform !== 'win32')

describeUnix('stdio bridge over the data dir socket', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => h.close())

  /** the core's side: its socket, taking stdio sessions as createHttpServer does */
  async function listenCore(path: string, accept = true): Promise<{ close(): Promise<void>; drain(ms: number): Promise<void>; accept(): void }> {
    const upgrades = createStdioUpgrades({ mcp: h.services.mcp } as unknown as Core, silentLogger)
    if (accept) upgrades.accept()
    const server = await listenUnixSocket(path, (_req, res) => res.writeHead(404).end(), silentLogger, upgrades.onUpgrade)
    if (!server) throw new Error('no socket')
    return {
      drain: (ms) => upgrades.drain(ms),
      accept: () => upgrades.accept(),
      async close() {
        upgrades.closeAll()
        await closeUnixSocket(server, path)
      },
    }
  }

  const client = { pid: 4242, exe: '/usr/bin/agent' }

  /** a core on its own socket and a bridge to it over in-process streams */
  async function bridgeTo(name: string, options: { accept?: boolean; reconnectForMs?: number } = {}) {
    const sock = join(h.dir, `${name}.sock`)
    const core = await listenCore(sock, options.accept ?? true)
    const input = new PassThrough()
    const output = new PassThrough()
    const first = await openCoreStdio(sock, client)
    const done = runStdioBridge({ input, output, first, reconnect: () => openCoreStdio(sock, client), logger: silentLogger, reconnectForMs: options.reconnectForMs })
    return { sock, core, input, output, done }
  }
  const echo = (message: string) => ({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message } } })

  it('relays both ways unchanged (1 MiB too); the session is a stdio session of the client the bridge names; it ends with the input', async () => {
    const { core, input, output, done } = await bridgeTo('relay')
    const agent = new Client({ name: 'bridged-agent', version: '1' })
    await agent.connect(streamTransport(input, output))
    const big = 'y'.repeat(1024 * 1024)
    const [a, b] = await Promise.all([agent.callTool(echo('bridged')), agent.callTool(echo(big))])
    expect(textOf(a)).toBe('Echo: bridged')
    expect(textOf(b)).toBe(`Echo: ${big}`)
    const session = h.services.sessions.list().find((s) => s.client.name === 'bridged-agent')!
    expect(session).toMatchObject({ transport: 'stdio', active: true, client: { pid: 4242, exe: '/usr/bin/agent', version: '1' } })
    await agent.close()
    expect(await done).toBe(0)
    await vi.waitFor(() => expect(h.services.sessions.get(session.id)!.active).toBe(false))
    await core.close()
  })

  it('when its core goes away mid-call: that call gets a clear error, the client is introduced to the next core, and calls go on', async () => {
    const bridge = await bridgeTo('lost')
    const { sock, input, output, done } = bridge
    let core = bridge.core
    const lines: Array<{ id?: unknown; method?: string }> = []
    output.on('data', (c: Buffer) => {
      for (const l of c.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { id?: unknown; method?: string })
    })
    const agent = new Client({ name: 'moving-agent', version: '2' })
    let listChanged = 0
    agent.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++)
    await agent.connect(streamTransport(input, output))
    expect(textOf(await agent.callTool(echo('first core')))).toBe('Echo: first core')

    const slow = agent.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } } })
    await new Promise((r) => setTimeout(r, 200))
    await core.close()
    await expect(slow).rejects.toThrow(CORE_GONE_MESSAGE)
    // a call sent while no core answers waits for the next one
    const waiting = agent.callTool(echo('sent while away'))
    await new Promise((r) => setTimeout(r, 300))
    core = await listenCore(sock)
    expect(textOf(await waiting)).toBe('Echo: sent while away')
    expect(textOf(await agent.callTool(echo('second core')))).toBe('Echo: second core')
    await vi.waitFor(() => expect(listChanged).toBeGreaterThanOrEqual(1))

    // the next core knows the client by its own initialize; the answer to that one never reached the client
    const sessions = h.services.sessions.list().filter((s) => s.client.name === 'moving-agent')
    expect(sessions.map((s) => s.active).sort()).toEqual([false, true])
    expect(sessions.every((s) => s.client.version === '2' && s.transport === 'stdio')).toBe(true)
    expect(lines.filter((l) => typeof l.id === 'string' && l.id.startsWith('mcpproxy-bridge'))).toEqual([])
    await agent.close()
    expect(await done).toBe(0)
    await core.close()
  }, 30_000)

  it('a stopping core drains: the call in flight finishes, what the client sends meanwhile waits for the next core, and no error reaches the client', async () => {
    const bridge = await bridgeTo('drain')
    const { sock, input, output, done } = bridge
    let core = bridge.core
    const lines: Array<{ id?: unknown; method?: string; error?: unknown }> = []
    output.on('data', (c: Buffer) => {
      for (const l of c.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { id?: unknown; method?: string })
    })
    const agent = new Client({ name: 'draining-agent', version: '1' })
    await agent.connect(streamTransport(input, output))
    const slow = agent.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } } })
    await new Promise((r) => setTimeout(r, 200))
    let drainedAt = 0
    const draining = core.drain(10_000).then(() => (drainedAt = Date.now()))
    await new Promise((r) => setTimeout(r, 100))
    // the stopping core takes no new session
    await expect(openCoreStdio(sock, client)).rejects.toThrow(/HTTP 503 the core is stopping/)
    const meanwhile = agent.callTool(echo('sent while draining'))
    const slowResult = await slow
    expect(slowResult.isError).toBeFalsy()
    const slowAt = Date.now()
    await draining
    expect(drainedAt).toBeGreaterThanOrEqual(slowAt - 5)
    await core.close()
    core = await listenCore(sock)
    expect(textOf(await meanwhile)).toBe('Echo: sent while draining')
    expect(lines.filter((l) => l.error !== undefined)).toEqual([])
    expect(lines.filter((l) => l.method === 'notifications/mcpproxy/draining')).toEqual([])
    await agent.close()
    expect(await done).toBe(0)
    await core.close()
  }, 30_000)

  it('a core still starting holds the session: the client is answered once the core accepts, by then with the upstreams up', async () => {
    const { core, input, output, done } = await bridgeTo('held', { accept: false })
    const agent = new Client({ name: 'early-agent', version: '1' })
    let connected = false
    const connecting = agent.connect(streamTransport(input, output)).then(() => (connected = true))
    await new Promise((r) => setTimeout(r, 300))
    expect(connected).toBe(false)
    core.accept()
    await connecting
    expect(textOf(await agent.callTool(echo('once accepted')))).toBe('Echo: once accepted')
    await agent.close()
    expect(await done).toBe(0)
    await core.close()
  })

  it('a message over the size limit ends the session (the client sees its server close), as the core\'s own stdio does', async () => {
    const { core, input, output, done } = await bridgeTo('big')
    let ended = false
    output.on('end', () => (ended = true)).resume()
    input.write(Buffer.alloc(MAX_LINE_BYTES + 10, 'x'))
    expect(await done).toBe(1)
    await vi.waitFor(() => expect(ended).toBe(true))
    await core.close()
  })

  it('when no core comes back in time: what waits is answered with an error naming why, and the bridge ends with 1', async () => {
    const { core, input, output, done } = await bridgeTo('gone', { reconnectForMs: 400 })
    const agent = new Client({ name: 'stranded-agent', version: '1' })
    await agent.connect(streamTransport(input, output))
    await core.close()
    // (once the bridge has seen its core go: a call sent before that is one the core lost)
    await new Promise((r) => setTimeout(r, 100))
    await expect(agent.callTool(echo('nobody there'))).rejects.toThrow(/no mcpproxy core for this data dir: .*ENOENT/)
    expect(await done).toBe(1)
    await agent.close()
  })

  it('the socket takes only GET /mcp/stdio upgraded to mcpproxy-stdio with the client pid; no socket is ENOENT', async () => {
    const sock = join(h.dir, 'refuse.sock')
    const core = await listenCore(sock)
    const ask = (path: string, headers: Record<string, string>): Promise<{ status?: number; body: string; upgraded: boolean }> =>
      new Promise((resolve, reject) => {
        const req = request({ socketPath: sock, path, headers: { connection: 'Upgrade', ...headers } })
        req.once('upgrade', (_res, socket) => {
          socket.destroy()
          resolve({ body: '', upgraded: true })
        })
        req.once('response', (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString('utf8')))
          res.on('end', () => resolve({ status: res.statusCode, body, upgraded: false }))
        })
        req.once('error', reject)
        req.end()
      })
    expect(await ask(STDIO_UPGRADE_PATH, { upgrade: STDIO_UPGRADE_PROTOCOL })).toMatchObject({ status: 400, upgraded: false, body: expect.stringContaining("the client's process id is required") })
    expect(await ask('/mcp', { upgrade: STDIO_UPGRADE_PROTOCOL, 'x-mcpproxy-client-pid': '1' })).toMatchObject({ status: 400, body: expect.stringContaining('only GET /mcp/stdio') })
    expect(await ask(STDIO_UPGRADE_PATH, { upgrade: 'websocket', 'x-mcpproxy-client-pid': '1' })).toMatchObject({ status: 400 })
    expect(await ask(STDIO_UPGRADE_PATH, { upgrade: STDIO_UPGRADE_PROTOCOL, 'x-mcpproxy-client-pid': '1' })).toMatchObject({ upgraded: true })
    await core.close()
    await expect(openCoreStdio(sock, client)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
