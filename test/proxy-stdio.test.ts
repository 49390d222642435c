import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { startHarness, streamTransport, textOf, type Harness } from './proxy-helpers'

describe('stdio front end', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => h.close())

  it('serves the aggregated server over stdio and ends the session on EOF', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    const served = h.services.mcp.serveStdio(input, output, { name: 'given-name' })
    const client = new Client({ name: 'stdio-agent', version: '3' })
    await client.connect(streamTransport(input, output))
    const r = await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'over stdio' } } })
    expect(textOf(r)).toBe('Echo: over stdio')
    const rec = (await h.records('tool_call')).find((x) => (x.arguments as { message?: string }).message === 'over stdio')!
    const session = h.services.sessions.get(rec.session_id!)!
    expect(session).toMatchObject({ transport: 'stdio', client: { name: 'given-name', pid: process.ppid } })
    input.end()
    await served
    expect(h.services.sessions.get(rec.session_id!)!.active).toBe(false)
  })

  it('answers tools/call with invalid params over stdio with -32602 naming the field, and goes on serving', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    const served = h.services.mcp.serveStdio(input, output, { name: 'raw-stdio' })
    const answers = new Map<number, unknown>()
    let buf = ''
    output.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8')
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const m = JSON.parse(buf.slice(0, nl)) as { id?: number }
        buf = buf.slice(nl + 1)
        if (typeof m.id === 'number') answers.set(m.id, m)
      }
    })
    const ask = async (id: number, method: string, params?: unknown): Promise<unknown> => {
      input.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n')
      await vi.waitFor(() => expect(answers.has(id)).toBe(true))
      return answers.get(id)
    }
    await ask(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } })
    input.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n')
    expect(await ask(2, 'tools/call', { name: 'call_tool', arguments: [1, 2] })).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32602, message: 'MCP error -32602: invalid tools/call params: arguments: expected object, received array' },
    })
    expect(await ask(3, 'tools/call', { arguments: {} })).toMatchObject({ id: 3, error: { code: -32602, message: expect.stringMatching(/params: name: expected string, received undefined$/) } })
    expect(await ask(4, 'tools/call', { name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'still serving' } } })).toMatchObject({
      id: 4,
      result: { content: [{ type: 'text', text: 'Echo: still serving' }] },
    })
    input.end()
    await served
  })
})
