import { createServer, type Server } from 'node:http'
import { getEventListeners } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiClient } from './api-client'
import { createSseParser, followEvents, pause, type SseEvent } from './sse'

describe('createSseParser', () => {
  it('parses events split across chunks, keeps the last id, skips comments and joins data lines', () => {
    const events: SseEvent[] = []
    const feed = createSseParser((e) => events.push(e))
    feed(': heartbeat\n\nid: 7\nevent: activity.tool_call.completed\nda')
    feed('ta: {"a":1}\n\n')
    feed('event: x\r\ndata: one\r\ndata: two\r\n\r\n')
    expect(events).toEqual([
      { id: '7', event: 'activity.tool_call.completed', data: '{"a":1}' },
      { id: '7', event: 'x', data: 'one\ntwo' },
    ])
  })

  it('drops an event without data and does not emit a half-received one', () => {
    const events: SseEvent[] = []
    const feed = createSseParser((e) => events.push(e))
    feed('event: only-name\n\nid: 1\ndata: partial')
    expect(events).toEqual([])
  })
})

describe('followEvents', () => {
  let server: Server | undefined
  afterEach(() => server?.close())

  it('reconnects after the stream ends, sending Last-Event-ID, so the next event follows the last one seen', async () => {
    const seenLastIds: Array<string | undefined> = []
    server = createServer((req, res) => {
      seenLastIds.push(req.headers['last-event-id'] as string | undefined)
      expect(req.headers['x-api-key']).toBe('k'.repeat(20))
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const after = Number(req.headers['last-event-id'] ?? 0)
      res.end(`id: ${after + 1}\nevent: e\ndata: {"n":${after + 1}}\n\n`)
    })
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const client = new ApiClient({ kind: 'tcp', address: `127.0.0.1:${port}`, apiKey: 'k'.repeat(20) })
    const controller = new AbortController()
    const got: string[] = []
    await followEvents(client, {
      signal: controller.signal,
      maxDelayMs: 10,
      onEvent: (e) => {
        got.push(e.data)
        if (got.length === 3) controller.abort()
      },
    })
    expect(got).toEqual(['{"n":1}', '{"n":2}', '{"n":3}'])
    expect(seenLastIds).toEqual([undefined, '1', '2'])
  })
})

describe('pause', () => {
  it('leaves no abort listener on the signal, however often a poll loop waits on it', async () => {
    const controller = new AbortController()
    // a leak warns (MaxListenersExceededWarning) past 10 listeners
    for (let i = 0; i < 12; i++) await pause(1, controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    const waiting = pause(60_000, controller.signal)
    controller.abort()
    await waiting
    await pause(60_000, controller.signal)
  })
})
