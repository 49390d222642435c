// The stdio bridge (`mcpproxy stdio` when a core runs) against real stdio sessions of the
// aggregated server on a Unix socket: relaying, a core that goes away mid-call and another that
// takes its place, a core that never comes back, and what the socket refuses.
import { existsSync } from 'node:fs'
import { createServer, request } from 'node:http'
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
import { openSession } from '../src/cli/core-link'
import type { CliContext } from '../src/cli/context'
import { CORE_GONE_MESSAGE, CORE_STOPPING, openCoreStdio, runStdioBridge, STDIO_UPGRADE_PATH, STDIO_UPGRADE_PROTOCOL } from '../src/core/proxy/stdio-bridge'
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
        await closeUnixSocket(server)
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
  /** a call that runs for `seconds` upstream */
  const longRunning = (seconds: number, steps = seconds) => ({ name: 'call_tool', arguments: { server: 'everything', tool: 'trigger-long-running-operation', arguments: { duration: seconds, steps } } })

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

    const slow = agent.callTool(longRunning(5))
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
    const slow = agent.callTool(longRunning(1, 2))
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

  it('a stopping core ends the sessions it holds unserved at once: the drain does not wait for them, and their client is answered by the next core', async () => {
    const { sock, core, input, output, done } = await bridgeTo('held-drain', { accept: false })
    const agent = new Client({ name: 'held-agent', version: '1' })
    const connecting = agent.connect(streamTransport(input, output))
    await new Promise((r) => setTimeout(r, 200))
    // (a drain that waited for the held session would end only at its timeout)
    const drained = await Promise.race([core.drain(60_000).then(() => 'drained'), new Promise((r) => setTimeout(() => r('still waiting'), 30_000))])
    expect(drained).toBe('drained')
    await core.close()
    const next = await listenCore(sock)
    await connecting
    expect(textOf(await agent.callTool(echo('after a held session')))).toBe('Echo: after a held session')
    await agent.close()
    expect(await done).toBe(0)
    await next.close()
  }, 40_000)

  it('while its core drains, the client cancelling a call in flight cancels it there (not queued for the next core), so the drain ends with it', async () => {
    const bridge = await bridgeTo('cancel-drain')
    const { sock, input, output, done } = bridge
    const agent = new Client({ name: 'cancelling-agent', version: '1' })
    await agent.connect(streamTransport(input, output))
    const abort = new AbortController()
    const slow = agent.callTool(longRunning(20), undefined, { signal: abort.signal })
    slow.catch(() => undefined)
    await new Promise((r) => setTimeout(r, 300))
    let drained = false
    const draining = bridge.core.drain(60_000).then(() => (drained = true))
    await new Promise((r) => setTimeout(r, 100))
    abort.abort('the user gave up')
    await expect(slow).rejects.toThrow()
    // the core got the cancellation: it ends the call, the bridge leaves, the drain is over
    await vi.waitFor(() => expect(drained).toBe(true), { timeout: 15_000 })
    await draining
    await vi.waitFor(async () => {
      const calls = (await h.records('tool_call')).filter((r) => r.tool_name === 'trigger-long-running-operation' && r.client?.name === 'cancelling-agent')
      expect(calls.map((r) => [r.status, r.error])).toEqual([['error', expect.stringMatching(/cancel/i)]])
    })
    await bridge.core.close()
    const next = await listenCore(sock)
    expect(textOf(await agent.callTool(echo('after the cancel')))).toBe('Echo: after the cancel')
    await agent.close()
    expect(await done).toBe(0)
    await next.close()
  }, 40_000)

  it('a call the client cancelled is not waited for: the client closing its input then ends the bridge (no process left behind)', async () => {
    const { core, input, output, done } = await bridgeTo('cancel-close')
    const agent = new Client({ name: 'leaving-agent', version: '1' })
    await agent.connect(streamTransport(input, output))
    const abort = new AbortController()
    const slow = agent.callTool(longRunning(20), undefined, { signal: abort.signal })
    await new Promise((r) => setTimeout(r, 300))
    abort.abort('not needed')
    await expect(slow).rejects.toThrow()
    await agent.close()
    const ended = await Promise.race([done, new Promise((r) => setTimeout(() => r('still running'), 15_000))])
    expect(ended).toBe(0)
    await core.close()
  }, 30_000)

  it('a second core cannot listen on a socket another answers on; a core closing does not remove the socket of the core listening after it', async () => {
    const sock = join(h.dir, 'successor.sock')
    const upgrades = createStdioUpgrades({ mcp: h.services.mcp } as unknown as Core, silentLogger)
    upgrades.accept()
    const handler = (_req: unknown, res: { writeHead(n: number): { end(): void } }): void => res.writeHead(404).end()
    const first = (await listenUnixSocket(sock, handler, silentLogger, upgrades.onUpgrade))!
    await expect(listenUnixSocket(sock, handler, silentLogger)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('already running') })
    // the first core stops listening while a session still holds it open; the next core listens meanwhile
    const session = await openCoreStdio(sock, client)
    const closing = closeUnixSocket(first)
    await vi.waitFor(() => expect(existsSync(sock)).toBe(false))
    const second = (await listenUnixSocket(sock, handler, silentLogger, upgrades.onUpgrade))!
    session.destroy()
    await closing
    expect(existsSync(sock)).toBe(true)
    const again = await openCoreStdio(sock, client)
    again.destroy()
    upgrades.closeAll()
    await closeUnixSocket(second)
  })

  it('mcpproxy stdio waits for a core that is stopping (503) instead of failing, and gets the next core\'s session', async () => {
    const sock = join(h.dir, 'stopping.sock')
    // a core in its drain: it refuses every stdio session with 503
    const stopping = createServer((_req, res) => res.writeHead(503).end('the core is stopping\n'))
    stopping.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 21\r\n\r\nthe core is stopping\n'))
    await new Promise<void>((r) => stopping.listen(sock, r))
    await expect(openCoreStdio(sock, client)).rejects.toMatchObject({ code: CORE_STOPPING })
    const ctx = { paths: { socket: sock } } as unknown as CliContext
    let refusals = 0
    const opening = openSession(ctx, () => void refusals++)
    await vi.waitFor(() => expect(refusals).toBeGreaterThan(1))
    await new Promise<void>((r) => stopping.close(() => r()))
    const next = await listenCore(sock)
    const session = await opening
    expect(session).not.toBeNull()
    session!.destroy()
    await next.close()
    // once the stopping core is gone and none took over: no session (a shared core is started then)
    const gone = join(h.dir, 'stopping-gone.sock')
    const last = createServer()
    last.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'))
    await new Promise<void>((r) => last.listen(gone, r))
    const alone = openSession({ paths: { socket: gone } } as unknown as CliContext)
    await new Promise((r) => setTimeout(r, 300))
    await new Promise<void>((r) => last.close(() => r()))
    expect(await alone).toBeNull()
  })
})
