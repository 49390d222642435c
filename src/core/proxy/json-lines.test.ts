import { CallToolResultSchema, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { isPlainRequest, isPlainResultResponse, isPlainTextToolResult, lineSplitter } from './json-lines'

const split = (chunks: string[], max?: number): string[] => {
  const lines: string[] = []
  const push = lineSplitter((l) => lines.push(l.toString('utf8')), max)
  for (const c of chunks) push(Buffer.from(c))
  return lines
}

describe('lineSplitter', () => {
  it('joins lines across chunks, drops empty lines and a trailing CR, keeps a partial line for later', () => {
    expect(split(['{"a":', '1}\n{"b"', ':2}\r\n\n', '{"c":3}'])).toEqual(['{"a":1}', '{"b":2}'])
    expect(split(['x\ny\n', 'z\n'])).toEqual(['x', 'y', 'z'])
  })

  it('throws past the size limit, then skips the rest of that line and goes on after it', () => {
    const lines: string[] = []
    const push = lineSplitter((l) => lines.push(l.toString()), 8)
    push(Buffer.from('12345'))
    expect(() => push(Buffer.from('67890'))).toThrow('a line longer than 8 bytes')
    push(Buffer.from('rest of it\nok\n'))
    expect(lines).toEqual(['ok'])
  })

  it('with onTooLong, drops each line over the limit, whole in a chunk or across chunks, and keeps the others', () => {
    const lines: string[] = []
    const tooLong: number[] = []
    const push = lineSplitter((l) => lines.push(l.toString()), 8, (bytes) => tooLong.push(bytes))
    push(Buffer.from('a\n0123456789\nb\n123'))
    push(Buffer.from('456789'))
    push(Buffer.from('more\nc\r\n'))
    expect(lines).toEqual(['a', 'b', 'c'])
    expect(tooLong).toEqual([10, 9])
  })
})

// each hand check must agree with the SDK's strict zod classification, or a message would be
// treated differently from the SDK's way
const requests: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } },
  { jsonrpc: '2.0', id: 's-1', method: 'tools/list' },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 'p', traceparent: 'x' } } },
  { jsonrpc: '2.0', id: 3, method: 'x', params: { _meta: { progressToken: 1.5 } } },
  { jsonrpc: '2.0', id: 4, method: 'x', params: { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 7 } } } },
  { jsonrpc: '2.0', id: 5, method: 'x', params: { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } } },
  { jsonrpc: '2.0', id: 1.5, method: 'x' },
  { jsonrpc: '2.0', id: null, method: 'x' },
  { jsonrpc: '1.0', id: 1, method: 'x' },
  { jsonrpc: '2.0', id: 1, method: 'x', extra: true },
  { jsonrpc: '2.0', id: 1, method: 'x', params: [1, 2] },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 1, result: {} },
  [{ jsonrpc: '2.0', id: 1, method: 'x' }],
  'text',
  null,
]
const responses: unknown[] = [
  { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'Echo: x' }] } },
  { result: {}, jsonrpc: '2.0', id: 'a' },
  { jsonrpc: '2.0', id: 1, result: { _meta: { progressToken: 'p' }, content: [] } },
  { jsonrpc: '2.0', id: 1, result: { _meta: { progressToken: {} } } },
  { jsonrpc: '2.0', id: 1, result: { _meta: 'x' } },
  { jsonrpc: '2.0', id: 1, result: { _meta: { 'io.modelcontextprotocol/related-task': {} } } },
  { jsonrpc: '2.0', id: 1, result: [] },
  { jsonrpc: '2.0', id: 1, result: null },
  { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } },
  { jsonrpc: '2.0', id: -2.5, result: {} },
  { jsonrpc: '2.0', result: {} },
  { jsonrpc: '2.0', id: 1, method: 'x' },
]

describe('hand checks of JSON-RPC messages', () => {
  it('isPlainRequest accepts exactly what the SDK classifies as a request', () => {
    for (const m of requests) expect([m, isPlainRequest(m)]).toEqual([m, isJSONRPCRequest(m)])
    expect(requests.filter(isPlainRequest)).toHaveLength(4)
  })

  it('isPlainResultResponse accepts exactly what the SDK classifies as a result response', () => {
    for (const m of [...responses, ...requests]) expect([m, isPlainResultResponse(m)]).toEqual([m, isJSONRPCResultResponse(m)])
    expect(responses.filter(isPlainResultResponse)).toHaveLength(3)
  })
})

describe('isPlainTextToolResult', () => {
  const results: unknown[] = [
    { content: [{ type: 'text', text: 'Echo: x' }] },
    { content: [{ type: 'text', text: 'a' }, { type: 'text', text: '' }], isError: true },
    { content: [] },
    { content: [{ type: 'text', text: 'x', annotations: { priority: 1 } }] },
    { content: [{ type: 'text', text: 'x', extra: 1 }] },
    { content: [{ type: 'image', data: 'AA==', mimeType: 'image/png' }] },
    { content: [{ type: 'text', text: 5 }] },
    { content: [{ type: 'text', text: 'x' }], structuredContent: { a: 1 } },
    { content: [{ type: 'text', text: 'x' }], isError: 'yes' },
    { content: [{ type: 'text', text: 'x' }], _meta: {} },
    { isError: false },
    { content: 'x' },
    [],
    null,
  ]
  it('accepts only results the SDK parses into an equal object', () => {
    for (const r of results) {
      if (!isPlainTextToolResult(r)) continue
      const parsed = CallToolResultSchema.safeParse(r)
      expect([r, parsed.success && parsed.data]).toEqual([r, r])
    }
    expect(results.filter(isPlainTextToolResult)).toHaveLength(3)
  })
})
