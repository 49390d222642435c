import { existsSync } from 'node:fs'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { ulid } from 'ulid'
import { afterEach, describe, expect, it } from 'vitest'
import { createActivityStore } from '../src/core/activity/store'
import { openSse, startTestServer, type SseMessage, type SseStream, type TestServer, readJson } from './helpers/core-harness'

let s: TestServer | undefined
const streams: SseStream[] = []
afterEach(async () => {
  for (const st of streams.splice(0)) st.close()
  await s?.close()
  s = undefined
})

const sse = async (path: string, headers: Record<string, string> = {}): Promise<SseStream> => {
  const st = await openSse(`${s!.base}${path}`, { 'x-api-key': s!.key, ...headers })
  streams.push(st)
  return st
}
const changed = (n: number, server = 'everything', reason = `r${n}`): void =>
  s!.core.bus.emit('servers.changed', { server, reason, timestamp: new Date().toISOString() })
const named = (ms: SseMessage[], event: string): SseMessage[] => ms.filter((m) => m.event === event)
const diagnostics = async (): Promise<{ clients: number; dropped_clients: number }> =>
  ((await readJson((await fetch(`${s!.base}/api/v1/diagnostics`, { headers: { 'x-api-key': s!.key } })))) as { data: { events: { clients: number; dropped_clients: number } } }).data.events

describe('GET /events', () => {
  it('streams bus events in order, each with a rising id and the payload', async () => {
    s = await startTestServer()
    const st = await sse('/events')
    expect(st.status).toBe(200)
    expect(st.headers['content-type']).toMatch(/^text\/event-stream/)
    for (let i = 0; i < 200; i++) changed(i)
    s.core.bus.emit('activity.tool_call.started', { id: 'A1', server: 'everything', tool: 'echo', timestamp: new Date().toISOString() })
    const ms = await st.until((m) => m.some((x) => x.event === 'activity.tool_call.started'), 'the tool call event')
    const reasons = named(ms, 'servers.changed').map((m) => JSON.parse(m.data).reason)
    expect(reasons).toEqual(Array.from({ length: 200 }, (_, i) => `r${i}`))
    const ids = ms.map((m) => Number(m.id))
    expect(ids.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id === ids[i - 1]! + 1))).toBe(true)
    expect(JSON.parse(ms.at(-1)!.data)).toMatchObject({ id: 'A1', server: 'everything', tool: 'echo' })
  })

  it('replays what a reconnecting client missed (Last-Event-ID header or ?last_event_id=)', async () => {
    s = await startTestServer()
    const first = await sse('/events')
    for (let i = 0; i < 5; i++) changed(i)
    const seen = await first.until((m) => m.length === 5, '5 events')
    first.close()
    const lastId = seen[2]!.id!
    for (let i = 5; i < 8; i++) changed(i)
    const again = await sse('/events', { 'last-event-id': lastId })
    const replayed = await again.until((m) => m.length === 5, 'the 5 missed events')
    expect(replayed.map((m) => JSON.parse(m.data).reason)).toEqual(['r3', 'r4', 'r5', 'r6', 'r7'])
    changed(8)
    await again.until((m) => m.length === 6, 'the live event after the replay')
    expect(JSON.parse(again.messages[5]!.data).reason).toBe('r8')
    const viaQuery = await sse(`/events?last_event_id=${seen[4]!.id}`)
    const q = await viaQuery.until((m) => m.length === 4, 'events after the 5th')
    expect(q.map((m) => JSON.parse(m.data).reason)).toEqual(['r5', 'r6', 'r7', 'r8'])
  })

  it('sends a reset when the Last-Event-ID is older than the ring or unknown', async () => {
    s = await startTestServer({ events: { ringSize: 10 } })
    const first = await sse('/events')
    changed(0)
    const [oldest] = await first.until((m) => m.length === 1, 'one event')
    for (let i = 1; i < 30; i++) changed(i)
    const all = await first.until((m) => m.length === 30, '30 events')
    const recent = await sse('/events', { 'last-event-id': all[25]!.id! })
    await recent.until((m) => m.length === 4, 'the 4 events after the 26th')
    expect(recent.messages.map((m) => JSON.parse(m.data).reason)).toEqual(['r26', 'r27', 'r28', 'r29'])
    const tooOld = await sse('/events', { 'last-event-id': oldest!.id! })
    const [reset] = await tooOld.until((m) => m.length >= 1, 'a reset')
    expect(reset!.event).toBe('reset')
    expect(JSON.parse(reset!.data)).toMatchObject({ reason: expect.stringContaining('refetch') })
    expect(tooOld.messages.filter((m) => m.event === 'servers.changed')).toHaveLength(0)
    const garbage = await sse('/events', { 'last-event-id': 'not-a-number' })
    expect((await garbage.until((m) => m.length >= 1, 'a reset'))[0]!.event).toBe('reset')
    const fromFuture = await sse('/events', { 'last-event-id': String(Number(oldest!.id) + 1_000_000) })
    expect((await fromFuture.until((m) => m.length >= 1, 'a reset'))[0]!.event).toBe('reset')
  })

  it('filters by type prefix and by server on the server side', async () => {
    s = await startTestServer()
    const activityOnly = await sse('/events?types=activity.')
    const filesOnly = await sse('/events?server=files')
    const exact = await sse('/events?types=servers.changed,config.reloaded')
    const ts = new Date().toISOString()
    changed(0, 'everything')
    changed(1, 'files')
    s.core.bus.emit('activity.tool_call.completed', { id: 'C1', server: 'files', tool: 'read_file', status: 'success', timestamp: ts })
    s.core.bus.emit('activity.policy_decision', { id: 'P1', server: 'everything', tool: 'echo', decision: 'deny', timestamp: ts })
    s.core.bus.emit('tools.indexed', { total: 3, timestamp: ts })
    changed(2, 'files')
    await exact.until((m) => m.length === 3, 'three servers.changed')
    await activityOnly.until((m) => m.length === 2, 'two activity events')
    await filesOnly.until((m) => m.length === 3, 'three files events')
    expect(activityOnly.messages.map((m) => m.event)).toEqual(['activity.tool_call.completed', 'activity.policy_decision'])
    expect(filesOnly.messages.map((m) => JSON.parse(m.data).id ?? JSON.parse(m.data).reason)).toEqual(['r1', 'C1', 'r2'])
    expect(exact.messages.map((m) => m.event)).toEqual(['servers.changed', 'servers.changed', 'servers.changed'])
  })

  it('sends heartbeat comments', async () => {
    s = await startTestServer({ events: { heartbeatMs: 30 } })
    const st = await sse('/events')
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (!st.comments.includes('ping')) return
        clearInterval(t)
        resolve()
      }, 10)
    })
    expect(st.comments).toContain('ping')
  })

  it('announces records another process (a wrap) appended to the same database, once each', async () => {
    s = await startTestServer()
    const st = await sse('/events?types=activity.')
    // this process records a call and announces it on the bus with the record id
    const local = s.core.activity.record({ type: 'tool_call', status: 'success', server_name: 'everything', tool_name: 'echo' })
    s.core.bus.emit('activity.tool_call.completed', { id: local, server: 'everything', tool: 'echo', status: 'success', timestamp: new Date().toISOString() })
    // another process with its own store on the same file: this bus never hears of its records
    const wrap = createActivityStore({ file: s.core.paths.db, retention: false })
    try {
      const foreign = wrap.record({ type: 'tool_call', status: 'error', server_name: 'files', tool_name: 'read_file', error: 'ENOENT', duration_ms: 7 })
      const blocked = wrap.record({ type: 'policy_decision', status: 'blocked', server_name: 'files', tool_name: 'rm', policy: { decision: 'deny', rule: 'no-rm', reason: 'destructive' } })
      const old = new Date(Date.now() - 3_600_000)
      const imported = wrap.record({ id: ulid(old.getTime()), timestamp: old.toISOString(), type: 'tool_call', status: 'success', server_name: 'files', tool_name: 'old' })
      await wrap.flush()
      await s.core.activity.flush()
      const ms = await st.until((m) => m.some((x) => x.event === 'activity.policy_decision'), 'the foreign policy decision')
      await st.until((m) => named(m, 'activity.appended').some((x) => JSON.parse(x.data).ids.includes(imported)), 'the invalidation for the old record')
      const completed = named(ms, 'activity.tool_call.completed').map((m) => JSON.parse(m.data))
      expect(completed.map((c) => c.id)).toEqual([local, foreign])
      expect(completed[1]).toMatchObject({ server: 'files', tool: 'read_file', status: 'error', error: 'ENOENT', duration_ms: 7 })
      expect(JSON.parse(named(ms, 'activity.policy_decision')[0]!.data)).toMatchObject({ id: blocked, server: 'files', decision: 'deny', rule: 'no-rm', reason: 'destructive' })
      // an hour-old record is history (an import), not a live call
      expect(st.messages.some((m) => m.data.includes('"tool":"old"'))).toBe(false)
    } finally {
      await wrap.close()
    }
  })

  it('drops a client that stopped reading; the others get every event', async () => {
    s = await startTestServer({ events: { maxBufferedBytes: 64 * 1024 } })
    const fast = await sse('/events?types=servers.changed')
    const port = Number(new URL(s.base).port)
    const stalled = connect(port, '127.0.0.1')
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()))
    stalled.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-API-Key: ${s.key}\r\n\r\n`)
    await new Promise<void>((resolve) => stalled.once('data', () => resolve()))
    stalled.pause()
    expect((await diagnostics()).clients).toBe(2)
    const pad = 'x'.repeat(4096)
    let sent = 0
    while ((await diagnostics()).dropped_clients === 0 && sent < 40_000) {
      for (let i = 0; i < 250; i++) {
        changed(sent, 'everything', `${sent}:${pad}`)
        sent++
        // a realistic stream: events arrive over many turns of the event loop, not in one burst
        if (i % 10 === 9) await new Promise((r) => setImmediate(r))
      }
    }
    const after = await diagnostics()
    expect(after.dropped_clients).toBe(1)
    expect(after.clients).toBe(1)
    changed(sent, 'everything', 'last')
    const ms = await fast.until((m) => m.length === sent + 1, `all ${sent + 1} events`, 30_000)
    expect(ms.map((m) => JSON.parse(m.data).reason.split(':')[0])).toEqual([...Array.from({ length: sent }, (_, i) => String(i)), 'last'])
    // the server closed the stalled connection: once it reads again it sees the end
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()))
    stalled.on('error', () => {})
    stalled.resume()
    await closed
  })

  it('ends open streams and removes the socket file on close', async () => {
    s = await startTestServer()
    const st = await sse('/events')
    const ended = new Promise<void>((resolve) => st.onEnd(resolve))
    await s.close()
    await ended
    expect(existsSync(s.socketPath)).toBe(false)
    s = undefined
  })

  it('refuses a request without the right key (401) and one with a foreign Host or Origin (403), and takes none of them as a client', async () => {
    s = await startTestServer()
    const port = new URL(s.base).port
    // resolves at the response headers; a refusal's body is read to its end, a stream is cut
    const events = (headers: Record<string, string>, query = '') =>
      new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
        httpGet(`${s!.base}/events${query}`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
          if (res.statusCode === 200) {
            res.destroy()
            return resolve({ status: 200, headers: res.headers, body: '' })
          }
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (body += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        }).on('error', reject)
      })
    const refused = async (r: ReturnType<typeof events>, status: number, code: string, error: RegExp) => {
      const res = await r
      expect(res.status).toBe(status)
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/)
      expect(JSON.parse(res.body)).toEqual({ error: expect.stringMatching(error), code })
    }
    const noKey = /^missing or wrong API key/
    await refused(events({}), 401, 'UNAUTHORIZED', noKey)
    await refused(events({ 'x-api-key': 'wrong' }), 401, 'UNAUTHORIZED', noKey)
    await refused(events({ authorization: 'Bearer wrong' }), 401, 'UNAUTHORIZED', noKey)
    await refused(events({}, '?apikey=wrong'), 401, 'UNAUTHORIZED', noKey)
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1, even one holding the key
    await refused(events({ 'x-api-key': s.key, origin: 'http://evil.example' }), 403, 'FORBIDDEN', /^origin not allowed: http:\/\/evil\.example$/)
    await refused(events({ 'x-api-key': s.key, origin: `http://evil.example:${port}` }), 403, 'FORBIDDEN', /^origin not allowed/)
    await refused(events({ 'x-api-key': s.key, host: `evil.example:${port}` }), 403, 'FORBIDDEN', /^host not allowed: evil\.example:\d+$/)
    await refused(events({ 'x-api-key': s.key, host: `127.0.0.1:${Number(port) + 1}` }), 403, 'FORBIDDEN', /^host not allowed/)
    // Host and Origin are checked before the key: a foreign page learns nothing about it
    await refused(events({ origin: 'http://evil.example' }), 403, 'FORBIDDEN', /^origin not allowed/)
    expect((await diagnostics()).clients).toBe(0)
    // each way of presenting the key, with the server's own Host and Origin, streams
    for (const [headers, query] of [
      [{ 'x-api-key': s.key }, ''],
      [{ authorization: `Bearer ${s.key}` }, ''],
      [{}, `?apikey=${encodeURIComponent(s.key)}`],
      [{ 'x-api-key': s.key, origin: `http://127.0.0.1:${port}`, host: `localhost:${port}` }, ''],
    ] as Array<[Record<string, string>, string]>) {
      const st = await openSse(`${s.base}/events${query}`, headers)
      streams.push(st)
      expect(st.status, JSON.stringify(headers) + query).toBe(200)
    }
    expect((await diagnostics()).clients).toBe(4)
  })

  it('streams on the Unix socket without a key', async () => {
    s = await startTestServer()
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpGet({ socketPath: s!.socketPath, path: '/events?types=servers.changed', headers: { host: 'localhost' } }, resolve).on('error', reject)
    })
    expect(res.statusCode).toBe(200)
    res.setEncoding('utf8')
    let text = ''
    const got = new Promise<void>((resolve) => {
      res.on('data', (c: string) => {
        text += c
        if (text.includes('event: servers.changed')) resolve()
      })
    })
    // the headers came after the hub took the client, so this event reaches it
    changed(1, 'files', 'via-socket')
    await got
    res.destroy()
    expect(text).toContain('"reason":"via-socket"')
  })
})
