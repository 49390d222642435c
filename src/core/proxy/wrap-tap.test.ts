import { describe, expect, it } from 'vitest'
import type { ActivityCompletion, ActivityInput } from '../../shared/activity'
import type { ActivityRecorder } from '../activity/types'
import { silentLogger } from '../logger'
import { createWrapTap, type WrapTap } from './wrap-tap'

/** A tap over a recorder that keeps what it was given: records by id, and their completions. */
function tapped(options: { toolCallsOnly?: boolean; dropped?: Record<string, number> } = {}) {
  const records = new Map<string, ActivityInput>()
  const completions = new Map<string, ActivityCompletion[]>()
  const dropped = options.dropped ?? {}
  const recorder = {
    stats: () => ({ dropped: Object.values(dropped).reduce((a, b) => a + b, 0), dropped_by_type: dropped }),
    record: (r: ActivityInput) => {
      const id = `r${records.size + 1}`
      records.set(id, r)
      return id
    },
    complete: (id: string, c: ActivityCompletion) => void completions.set(id, [...(completions.get(id) ?? []), c]),
  } as unknown as ActivityRecorder
  const tap = createWrapTap({ recorder, logger: silentLogger, sessionId: 's1', client: { pid: 42 }, defaultServerName: 'cmd', sensitiveTools: [], writeTools: [], command: ['cmd', '--flag'], toolCallsOnly: options.toolCallsOnly })
  let at = 1_000_000
  const send = (side: 'client' | 'server', m: object): void => {
    at += 5
    const line = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...m }) + '\n')
    if (side === 'client') tap.fromClient(line, at)
    else tap.fromServer(line, at)
  }
  /** every record as it would end: what was recorded, merged with its completions */
  const everything = () => [...records].map(([id, r]) => Object.assign({}, r, ...(completions.get(id) ?? [])) as ActivityInput & { metadata: Record<string, unknown> })
  /** the records of the messages (the session's start and stop left out) */
  const final = () => everything().filter((r) => r.type !== 'system_start' && r.type !== 'system_stop')
  const byMethod = (method: string) => final().filter((r) => r.metadata?.method === method)
  return { tap: tap as WrapTap, send, final, everything, byMethod, completions, records, at: () => at }
}

describe('the wrap tap records every message', () => {
  it('records requests with their answers, notifications both ways, and the server\'s requests answered by the client', () => {
    const t = tapped()
    t.send('client', { id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cli', version: '2' } } })
    t.send('server', { id: 1, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'srv', version: '1' } } })
    t.send('client', { method: 'notifications/initialized' })
    t.send('client', { id: 2, method: 'resources/read', params: { uri: 'file:///a.txt' } })
    t.send('server', { id: 2, result: { contents: [{ uri: 'file:///a.txt', text: 'hello' }] } })
    t.send('client', { id: 3, method: 'prompts/get', params: { name: 'nope' } })
    t.send('server', { id: 3, error: { code: -32602, message: 'unknown prompt nope' } })
    t.send('server', { method: 'notifications/message', params: { level: 'info', data: 'indexing' } })
    // the server's own id space: its request 1 is not the client's request 1
    t.send('server', { id: 1, method: 'sampling/createMessage', params: { messages: [], maxTokens: 10 } })
    t.send('client', { id: 1, result: { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' } })
    t.send('client', { id: 4, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } })
    t.send('server', { id: 4, result: { content: [{ type: 'text', text: 'x' }] } })

    const all = t.final()
    expect(all.map((r) => (r.type === 'tool_call' ? `tool_call ${r.tool_name}` : `${r.metadata.direction} ${r.metadata.kind} ${r.metadata.method}`))).toEqual([
      // initialize is recorded once answered, so it carries the server's name
      'client_to_server request initialize',
      'client_to_server notification notifications/initialized',
      'client_to_server request resources/read',
      'client_to_server request prompts/get',
      'server_to_client notification notifications/message',
      'server_to_client request sampling/createMessage',
      'tool_call echo',
    ])
    expect(all.every((r) => r.server_name === 'srv' && r.session_id === 's1')).toBe(true)
    expect(t.byMethod('initialize')[0]).toMatchObject({ type: 'mcp_message', status: 'success', request_id: '1', duration_ms: 5, client: { name: 'cli', version: '2', pid: 42 } })
    expect(t.byMethod('resources/read')[0]).toMatchObject({ status: 'success', arguments: { uri: 'file:///a.txt' }, response: { contents: [{ text: 'hello' }] }, duration_ms: 5 })
    expect(t.byMethod('prompts/get')[0]).toMatchObject({ status: 'error', error: 'unknown prompt nope', response: { code: -32602 } })
    expect(t.byMethod('notifications/message')[0]).toMatchObject({ status: 'success', arguments: { level: 'info', data: 'indexing' } })
    expect(t.byMethod('notifications/message')[0]!.request_id).toBeUndefined()
    expect(t.byMethod('sampling/createMessage')[0]).toMatchObject({ status: 'success', request_id: '1', response: { model: 'm' }, duration_ms: 5 })
    expect(all.find((r) => r.type === 'tool_call')).toMatchObject({ status: 'success', metadata: { transport: 'wrap' } })
  })

  it('a cancelled request ends in the log as cancelled; an answer that still comes is not recorded again', () => {
    const t = tapped()
    t.send('client', { id: 'a', method: 'tools/call', params: { name: 'slow', arguments: {} } })
    t.send('client', { method: 'notifications/cancelled', params: { requestId: 'a', reason: 'user pressed stop' } })
    t.send('server', { id: 'a', result: { content: [{ type: 'text', text: 'late' }] } })
    const call = t.final().find((r) => r.type === 'tool_call')!
    expect(call).toMatchObject({ status: 'error', error: 'cancelled by the client: user pressed stop', duration_ms: 5 })
    const [id] = [...t.records].find(([, r]) => r.type === 'tool_call')!
    expect(t.completions.get(id)).toHaveLength(1)
    // the notification itself is in the log too
    expect(t.byMethod('notifications/cancelled')[0]).toMatchObject({ arguments: { requestId: 'a' } })
  })

  it('with toolCallsOnly, records tool calls and nothing else', () => {
    const t = tapped({ toolCallsOnly: true })
    t.send('client', { id: 1, method: 'initialize', params: { clientInfo: { name: 'cli', version: '2' } } })
    t.send('server', { id: 1, result: { serverInfo: { name: 'srv' } } })
    t.send('client', { method: 'notifications/initialized' })
    t.send('client', { id: 2, method: 'ping' })
    t.send('server', { id: 2, result: {} })
    t.send('client', { id: 3, method: 'tools/call', params: { name: 'echo', arguments: {} } })
    t.send('server', { id: 3, result: { content: [] } })
    expect(t.final().map((r) => r.type)).toEqual(['tool_call'])
    expect(t.final()[0]).toMatchObject({ server_name: 'srv', client: { name: 'cli' }, status: 'success' })
  })

  it('when the server exits, its unanswered requests, the client\'s unanswered ones and an unanswered initialize fail', () => {
    const t = tapped()
    t.send('client', { id: 1, method: 'initialize', params: {} })
    t.send('client', { id: 2, method: 'resources/list' })
    t.send('server', { id: 'x', method: 'roots/list' })
    t.tap.end(3, t.at() + 10)
    const all = t.final()
    expect(all.map((r) => [r.metadata.method, r.status])).toEqual([
      ['resources/list', 'error'],
      ['roots/list', 'error'],
      ['initialize', 'error'],
    ])
    expect(t.byMethod('resources/list')[0]!.error).toBe('the server exited (code 3) before answering')
    expect(t.byMethod('roots/list')[0]!.error).toBe('the server exited (code 3) before the client answered')
    expect(all.every((r) => r.server_name === 'cmd')).toBe(true)
  })

  it('marks the session\'s start and end, with the exit code and what the writer could not keep', () => {
    const t = tapped({ dropped: { mcp_message: 3 } })
    t.send('client', { id: 1, method: 'initialize', params: { clientInfo: { name: 'cli', version: '2' } } })
    t.send('server', { id: 1, result: { serverInfo: { name: 'srv' } } })
    t.tap.end(0, t.at() + 1)
    const all = t.everything()
    expect(all[0]).toMatchObject({ type: 'system_start', status: 'success', session_id: 's1', server_name: 'cmd', metadata: { transport: 'wrap', pid: process.pid, command: ['cmd', '--flag'] } })
    expect(all[all.length - 1]).toMatchObject({
      type: 'system_stop',
      status: 'error',
      server_name: 'srv',
      error: '3 records of this session were not written: the writer fell behind (mcp_message 3)',
      metadata: { transport: 'wrap', exit_code: 0, dropped: 3, dropped_by_type: { mcp_message: 3 } },
    })
    const clean = tapped()
    clean.tap.end(5, clean.at())
    expect(clean.everything().at(-1)).toMatchObject({ type: 'system_stop', status: 'success', metadata: { exit_code: 5 } })
    expect(clean.everything().at(-1)!.error).toBeUndefined()
  })

  it('never leaves a record pending: unusable ids, a reused id, and server requests past the limit end in the log', () => {
    const t = tapped()
    t.send('client', { id: null, method: 'ping' })
    t.send('server', { id: true, method: 'roots/list' })
    t.send('client', { id: 7, method: 'resources/list' })
    // the same id again before the answer: the two answers could not be told apart
    t.send('client', { id: 7, method: 'prompts/list' })
    t.send('server', { id: 7, result: { prompts: [] } })
    for (let i = 0; i < 1_001; i++) t.send('server', { id: `s${i}`, method: 'sampling/createMessage', params: {} })
    const all = t.final()
    expect(all.filter((r) => r.status === 'pending')).toHaveLength(1_000)
    expect(t.byMethod('ping')[0]).toMatchObject({ status: 'error', request_id: 'null', error: expect.stringContaining('request id null is neither a string nor a number') })
    expect(t.byMethod('roots/list')[0]).toMatchObject({ status: 'error', request_id: 'true' })
    expect(t.byMethod('resources/list')[0]).toMatchObject({ status: 'error', error: expect.stringContaining('its id 7 was taken by a later request') })
    expect(t.byMethod('prompts/list')[0]).toMatchObject({ status: 'success', response: { prompts: [] } })
    const sampling = t.byMethod('sampling/createMessage')
    expect(sampling[0]).toMatchObject({ request_id: 's0', status: 'error', error: expect.stringContaining("more than 1000 of the server's requests") })
    expect(sampling.slice(1).every((r) => r.status === 'pending')).toBe(true)
  })

  it('with toolCallsOnly, an untracked request taking a tool call\'s id ends the tool call instead of lending it its answer', () => {
    const t = tapped({ toolCallsOnly: true })
    t.send('client', { id: 7, method: 'tools/call', params: { name: 'echo', arguments: {} } })
    t.send('client', { id: 7, method: 'ping' })
    t.send('server', { id: 7, result: { which: 'the ping' } })
    t.send('server', { id: 7, result: { content: [{ type: 'text', text: 'the call' }] } })
    const [call] = t.final()
    expect(call).toMatchObject({ type: 'tool_call', status: 'error', error: expect.stringContaining('was taken by a later request') })
    expect(JSON.stringify(call)).not.toContain('the ping')
  })
})
