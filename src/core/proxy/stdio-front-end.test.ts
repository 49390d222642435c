import { PassThrough } from 'node:stream'
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { MAX_LINE_BYTES } from './json-lines'
import { StdioLineTransport } from './stdio-front-end'

function setup(): { input: PassThrough; output: PassThrough; writes: string[]; transport: StdioLineTransport; got: { requests: JSONRPCRequest[]; messages: JSONRPCMessage[]; errors: Error[]; closed: number } } {
  const input = new PassThrough()
  const output = new PassThrough()
  const writes: string[] = []
  const write = output.write.bind(output)
  output.write = ((chunk: string) => {
    writes.push(String(chunk))
    return write(chunk)
  }) as typeof output.write
  const transport = new StdioLineTransport(input, output)
  const got = { requests: [] as JSONRPCRequest[], messages: [] as JSONRPCMessage[], errors: [] as Error[], closed: 0 }
  transport.dispatchRequest = (r) => got.requests.push(r)
  transport.onmessage = (m) => got.messages.push(m)
  transport.onerror = (e) => got.errors.push(e)
  transport.onclose = () => got.closed++
  return { input, output, writes, transport, got }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('StdioLineTransport', () => {
  it('sends the answers of one turn in one write, each on its own line', async () => {
    const { writes, transport } = setup()
    await transport.start()
    const sent = [1, 2, 3].map((id) => transport.send({ jsonrpc: '2.0', id, result: { n: id } }))
    await Promise.all(sent)
    expect(writes).toHaveLength(1)
    expect(writes[0]!.split('\n').filter(Boolean).map((l) => JSON.parse(l).id)).toEqual([1, 2, 3])
    await transport.send({ jsonrpc: '2.0', id: 4, result: {} })
    expect(writes).toHaveLength(2)
  })

  it('dispatches plain requests directly, hands other messages to onmessage, and answers what is not JSON-RPC', async () => {
    const { input, writes, transport, got } = setup()
    await transport.start()
    input.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}\nnot json\n')
    input.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"x","odd":1}\n')
    input.write('{"jsonrpc":"2.0","id":3}\n[1,2]\n{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{}}\n"just a string"\n')
    // responses are never answered, even odd ones (no id): reported only
    input.write('{"jsonrpc":"2.0","error":{"code":-1,"message":"x"}}\n{"jsonrpc":"2.0","id":null,"result":{}}\n')
    await tick()
    expect(got.requests.map((r) => r.id)).toEqual([1, 4])
    expect(got.messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/initialized' }])
    // each refused message is answered (with its id when it has one) and reported; the session goes on
    const answers = writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: unknown; error: { code: number; message: string } })
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([
      [null, -32700],
      [2, -32600],
      [3, -32600],
      [null, -32600],
      [null, -32600],
    ])
    expect(answers[0]!.error.message).toMatch(/^Parse error: /)
    expect(got.errors).toHaveLength(7)
    expect(got.closed).toBe(0)
  })

  it('closes with an error on a message over the size limit, and stops reading', async () => {
    const { input, transport, got } = setup()
    await transport.start()
    input.write(Buffer.alloc(MAX_LINE_BYTES + 1, 'x'))
    await tick()
    expect(got.errors.map((e) => e.message)).toEqual([`a line longer than ${MAX_LINE_BYTES} bytes`])
    expect(got.closed).toBe(1)
    expect(input.listenerCount('data')).toBe(0)
  })
})
