/**
 * A query parameter a route does not declare gets a 400 naming it and what the route takes, and
 * the request does nothing: a typo'd filter must not list, export or delete every record.
 * `apikey` (how links and EventSource present the key) is accepted on every route. The CLI and
 * the web UI send only parameters the routes declare.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreActivity } from '../src/cli/activity-backend'
import { ApiClient } from '../src/cli/api-client'
import { downloadParams, eventsParams, filterToParams, listParams } from '../src/renderer/api/query-string'
import { EMPTY_FILTER, toApiFilter, type FilterState } from '../src/renderer/lib/filters'
import { CORE_EVENT_NAMES } from '../src/shared/events'
import type { ActivityFilter } from '../src/shared/activity'
import { openSse, rawRequest, readJson, startTestServer, type TestServer } from './helpers/core-harness'

let s: TestServer
const TOTAL = 30

beforeAll(async () => {
  s = await startTestServer()
  for (let i = 0; i < TOTAL; i++) {
    s.core.activity.record({
      type: 'tool_call',
      status: i % 5 === 0 ? 'error' : 'success',
      server_name: i % 2 ? 'everything' : 'files',
      tool_name: i % 3 ? 'echo' : 'read_file',
      arguments: { i },
      intent: { operation_type: i % 2 ? 'read' : 'write' },
    })
  }
  await s.core.activity.flush()
})
afterAll(async () => s.close())

const hit = async (method: string, path: string, headers: Record<string, string> = { 'x-api-key': s.key }, body?: [string, string]) => {
  const res = await fetch(`${s.base}${path}`, { method, headers: { ...headers, ...(body ? { 'content-type': body[0] } : {}) }, body: body?.[1] })
  const text = await res.text()
  return { status: res.status, text, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined }
}
const total = async (): Promise<number> => (await readJson(await fetch(`${s.base}/api/v1/activity/count`, { headers: { 'x-api-key': s.key } }))).data.count

const FILTER_KEYS = 'type, server, tool, session_id, status, start_time, end_time, intent_type, sensitive, q'

describe('undeclared query parameters', () => {
  it('are refused on every route of the OpenAPI document with a 400 naming them', async () => {
    const doc = await readJson(await fetch(`${s.base}/swagger/json`))
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'everything') })),
    )
    const checked = ops.filter((o) => o.path !== '/mcp' && !o.path.startsWith('/swagger'))
    expect(checked.length).toBeGreaterThanOrEqual(38)
    for (const op of checked) {
      const body: [string, string] | undefined =
        op.method === 'GET' || op.method === 'DELETE' ? undefined : op.path.endsWith('/import') ? ['application/x-ndjson', ''] : ['application/json', '{}']
      const r = await hit(op.method, `${op.path}?zz_typo=1`, { 'x-api-key': s.key }, body)
      expect(r.status, `${op.method} ${op.path}: ${r.text}`).toBe(400)
      expect(r.json, `${op.method} ${op.path}`).toEqual({ error: expect.stringMatching(/^zz_typo: unknown parameter \(this route takes .+\)$/), code: 'INVALID_PARAMETER' })
    }
    expect(await total()).toBe(TOTAL)
  })

  it('GET /activity: a typo answers 400 naming the key and the filters there are, instead of an unfiltered page', async () => {
    const listed = `this route takes ${FILTER_KEYS}, limit, offset, cursor`
    expect((await hit('GET', '/api/v1/activity?operation_type=zzz')).json).toEqual({ error: `operation_type: unknown parameter (${listed})`, code: 'INVALID_PARAMETER' })
    expect((await hit('GET', '/api/v1/activity?servr=x')).json).toEqual({ error: `servr: unknown parameter (${listed})`, code: 'INVALID_PARAMETER' })
    expect((await hit('GET', '/api/v1/activity?servr=x&tol=y&limit=5')).json.error).toMatch(/^servr, tol: unknown parameters \(/)
    // the right names filter
    const ok = await hit('GET', '/api/v1/activity?intent_type=read&server=everything')
    expect(ok.status).toBe(200)
    expect(ok.json.data.total).toBe(TOTAL / 2)
  })

  it('GET /activity/export (JSON Lines and CSV) and /activity/report: a typo answers 400, nothing is exported', async () => {
    for (const path of ['/api/v1/activity/export?sever=files', '/api/v1/activity/export?format=csv&sever=files', '/api/v1/activity/report?sever=files']) {
      const r = await hit('GET', path)
      expect(r.status, path).toBe(400)
      expect(r.json, path).toEqual({ error: expect.stringMatching(/^sever: unknown parameter \(this route takes type, server, /), code: 'INVALID_PARAMETER' })
      expect(r.text).not.toContain('"id"')
    }
    const csv = await hit('GET', '/api/v1/activity/export?format=csv&server=files')
    expect(csv.text.trim().split('\n')).toHaveLength(1 + TOTAL / 2)
  })

  it('DELETE /activity: a typo answers 400 and deletes nothing (not every record of the named server)', async () => {
    const r = await hit('DELETE', '/api/v1/activity?server=files&tol=echo')
    expect(r.json).toEqual({ error: `tol: unknown parameter (this route takes ${FILTER_KEYS})`, code: 'INVALID_PARAMETER' })
    expect(await total()).toBe(TOTAL)
    expect((await hit('GET', '/api/v1/activity/count?server=files')).json.data.count).toBe(TOTAL / 2)
    // no deletion was recorded either
    expect((await hit('GET', '/api/v1/activity/count?type=config_change')).json.data.count).toBe(0)
  })

  it('count, filter-options, summary, metrics, logs, tools and /events name the typo too', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/v1/activity/count?tool_name=echo', /^tool_name: unknown parameter \(this route takes type, /],
      ['/api/v1/activity/filter-options/tool_name?server_name=files', /^server_name: unknown parameter /],
      ['/api/v1/activity/summary?perod=1h', /^perod: unknown parameter \(this route takes period\)$/],
      ['/api/v1/activity/metrics?day=3', /^day: unknown parameter \(this route takes days, server\)$/],
      ['/api/v1/servers/everything/logs?line=5', /^line: unknown parameter \(this route takes lines\)$/],
      ['/api/v1/tools?query=echo', /^query: unknown parameter \(this route takes q, limit\)$/],
      ['/api/v1/servers?enabled=true', /^enabled: unknown parameter \(this route takes no query parameters\)$/],
      ['/events?type=servers.changed', /^type: unknown parameter \(this route takes types, server, last_event_id\)$/],
    ]
    for (const [path, error] of cases) {
      const r = await hit('GET', path)
      expect(r.status, path).toBe(400)
      expect(r.json, path).toEqual({ error: expect.stringMatching(error), code: 'INVALID_PARAMETER' })
    }
  })

  it('the key check comes first: without a key the answer is 401, whatever the parameters', async () => {
    expect((await hit('GET', '/api/v1/activity?servr=x', {})).status).toBe(401)
    expect((await hit('DELETE', '/api/v1/activity?server=files&tol=echo', {})).status).toBe(401)
    expect(await total()).toBe(TOTAL)
  })
})

describe('apikey in the query', () => {
  it('is accepted beside the declared parameters, on routes with and without them, and on the Unix socket', async () => {
    const q = `apikey=${encodeURIComponent(s.key)}`
    const list = await hit('GET', `/api/v1/activity?${q}&server=files&limit=3`, {})
    expect(list.status).toBe(200)
    expect(list.json.data).toMatchObject({ total: TOTAL / 2, limit: 3 })
    const csv = await hit('GET', `/api/v1/activity/export?format=csv&${q}&status=error`, {})
    expect(csv.status).toBe(200)
    expect(csv.text.trim().split('\n')).toHaveLength(1 + TOTAL / 5)
    expect((await hit('GET', `/api/v1/servers?${q}`, {})).status).toBe(200)
    expect((await hit('GET', `/api/v1/activity/summary?${q}&period=1h`, {})).status).toBe(200)
    const st = await openSse(`${s.base}/events?${q}&types=servers.changed`)
    expect(st.status).toBe(200)
    st.close()
    // the socket needs no key, but a link made for TCP still works there
    const viaSocket = await rawRequest({ socketPath: s.socketPath, path: `/api/v1/activity/count?${q}&server=files`, headers: { host: 'localhost' } })
    expect(viaSocket.status).toBe(200)
    expect(JSON.parse(viaSocket.body).data.count).toBe(TOTAL / 2)
    // a wrong key is still refused
    expect((await hit('GET', '/api/v1/activity?apikey=wrong&server=files', {})).status).toBe(401)
  })
})

/** A filter with every field set; it matches nothing, so the delete below removes nothing. */
const FULL_FILTER: Required<ActivityFilter> = {
  type: ['tool_call', 'policy_decision'],
  server: 'no-such-server',
  tool: 'echo',
  session_id: 's-1',
  status: ['success', 'error'],
  start_time: '2020-01-01T00:00:00.000Z',
  end_time: '2099-01-01T00:00:00.000Z',
  intent_type: 'read',
  sensitive: true,
  q: 'hello',
}

describe('the clients send only declared parameters', () => {
  it('the CLI: list, count, export, report, summary, delete by filter, tools, logs and watch', async () => {
    const client = new ApiClient({ kind: 'tcp', address: s.server.address, apiKey: s.key })
    const b = coreActivity(client)
    const drain = async (chunks: AsyncIterable<string | Buffer>): Promise<string> => {
      let text = ''
      for await (const c of chunks) text += c.toString()
      return text
    }
    expect((await b.list({ ...FULL_FILTER, limit: 10, offset: 0, cursor: undefined })).total).toBe(0)
    expect(await b.count(FULL_FILTER)).toBe(0)
    expect(await drain(b.export(FULL_FILTER, 'json', true))).toBe('')
    expect((await drain(b.export(FULL_FILTER, 'csv', false))).split('\n')[0]).toMatch(/^id,timestamp,/)
    expect(await drain(b.report(FULL_FILTER, 'A title'))).toContain('A title')
    expect(await b.summary('1h')).toMatchObject({ period: '1h' })
    expect(await b.deleteWhere(FULL_FILTER)).toBe(0)
    await client.get('/tools', { q: 'echo', limit: 5 })
    await client.get('/servers/everything/logs', { lines: 5 })
    const events = await client.open('GET', '/events', { root: true, query: { types: ['activity.tool_call.completed'], server: 'files' } })
    expect(events.statusCode).toBe(200)
    events.destroy()
    expect(await total()).toBe(TOTAL)
  })

  it('the web UI: the filter bar’s every field, paging, downloads and events', async () => {
    const state: FilterState = {
      ...EMPTY_FILTER,
      types: ['tool_call'],
      server: 'no-such-server',
      tool: 'echo',
      statuses: ['error'],
      session: 's-1',
      intent: 'write',
      sensitive: false,
      range: 'custom',
      from: '2020-01-01T00:00:00.000Z',
      to: '2099-01-01T00:00:00.000Z',
      q: 'hello',
    }
    const filter = toApiFilter(state)
    expect(Object.keys(filter).sort()).toEqual(['end_time', 'intent_type', 'q', 'sensitive', 'server', 'session_id', 'start_time', 'status', 'tool', 'type'])
    const get = async (path: string, params: URLSearchParams, headers: Record<string, string> = { 'x-api-key': s.key }) => {
      const r = await hit('GET', `${path}?${params.toString()}`, headers)
      expect(r.status, `${path}?${params.toString()}: ${r.text.slice(0, 200)}`).toBe(200)
      return r
    }
    await get('/api/v1/activity', listParams({ filter, limit: 100, offset: 0, cursor: undefined }))
    await get('/api/v1/activity/count', filterToParams(filter))
    await get('/api/v1/activity/filter-options/tool_name', filterToParams(filter))
    // the download links carry a one-use token (asked for with the key), not the key
    const token = async (): Promise<string> => {
      const r = await hit('POST', '/api/v1/activity/download-token', { 'x-api-key': s.key })
      expect(r.status).toBe(200)
      return (JSON.parse(r.text) as { data: { token: string } }).data.token
    }
    await get('/api/v1/activity/export', downloadParams(filter, 'json', await token()), {})
    await get('/api/v1/activity/export', downloadParams(filter, 'csv', await token()), {})
    await get('/api/v1/activity/report', downloadParams(filter, 'report', await token()), {})
    await get('/api/v1/activity/summary', new URLSearchParams({ period: '24h' }))
    await get('/api/v1/activity/metrics', new URLSearchParams({ days: '7', server: 'files' }))
    await get('/api/v1/servers/everything/logs', new URLSearchParams({ lines: '50' }))
    const st = await openSse(`${s.base}/events?${eventsParams(CORE_EVENT_NAMES.slice(0, 2), s.key).toString()}`)
    expect(st.status).toBe(200)
    st.close()
  })
})
