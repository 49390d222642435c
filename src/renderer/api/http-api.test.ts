// a node-side test of the browser adapter: it needs a real HTTP server
/// <reference types="node" />
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from './api'
import { HttpApi } from './http-api'

const seen: Array<{ url: string; key?: string; method?: string; body: string }> = []
let server: Server
let base = ''

async function bodyOf(req: IncomingMessage): Promise<string> {
  let s = ''
  for await (const c of req) s += c
  return s
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    seen.push({ url: req.url ?? '', key: req.headers['x-api-key'] as string | undefined, method: req.method, body: await bodyOf(req) })
    res.setHeader('Content-Type', 'application/json')
    if (req.url?.startsWith('/api/v1/activity/count')) return res.end(JSON.stringify({ success: true, data: { count: 12 } }))
    if (req.url?.startsWith('/api/v1/activity?')) return res.end(JSON.stringify({ success: true, data: { activities: [], total: 0, limit: 100, offset: 0 } }))
    if (req.url === '/api/v1/activity/download-token') return res.end(JSON.stringify({ success: true, data: { token: 'tok-1', expires_in_s: 60 } }))
    if (req.url?.startsWith('/api/v1/servers/x/tools')) return res.end(JSON.stringify({ success: true, data: { tools: [{ name: 'x:t' }], changes: [{ tool: 't' }] } }))
    if (req.url === '/api/v1/activity/bad') {
      res.statusCode = 400
      return res.end(JSON.stringify({ error: 'limit: must be at most 100', code: 'INVALID_PARAMETER' }))
    }
    res.statusCode = 500
    res.setHeader('Content-Type', 'text/plain')
    res.end('boom')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('HttpApi against a real HTTP server', () => {
  it('sends the key as X-API-Key and the filters as REST parameters, and unwraps {success, data}', async () => {
    const api = new HttpApi(base, 'k-123')
    await api.listActivity({ filter: { type: ['tool_call', 'policy_decision'], status: ['error'], sensitive: true, session_id: 's' }, limit: 100, offset: 300 })
    const last = seen[seen.length - 1]!
    expect(last.key).toBe('k-123')
    const url = new URL(last.url, base)
    expect(Object.fromEntries(url.searchParams)).toEqual({ type: 'tool_call,policy_decision', status: 'error', sensitive: 'true', session_id: 's', limit: '100', offset: '300' })
    expect(await api.countActivity({})).toBe(12)
  })

  it('reads tools and pending changes from one route', async () => {
    const api = new HttpApi(base, 'k')
    expect(await api.serverTools('x')).toEqual([{ name: 'x:t' }])
    expect(await api.toolChanges('x')).toEqual([{ tool: 't' }])
  })

  it('turns {error, code} into an ApiError with the status, and a non-JSON 500 into a readable one', async () => {
    const api = new HttpApi(base, 'k')
    await expect(api.getActivity('bad')).rejects.toMatchObject({ message: 'limit: must be at most 100', code: 'INVALID_PARAMETER', status: 400 })
    const err = await api.servers().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'HTTP_500', status: 500 })
  })

  it('posts JSON bodies for actions', async () => {
    const api = new HttpApi(base, 'k')
    await api.setQuarantined('x', false).catch(() => undefined)
    const last = seen[seen.length - 1]!
    expect(last).toMatchObject({ method: 'POST', url: '/api/v1/servers/x/quarantine', body: '{"quarantined":false}' })
  })

  it('builds export and report links with exactly the filters and a one-use token, never the key', async () => {
    const api = new HttpApi(base, 'k')
    const csv = api.exportDownload({ server: 'gh', status: ['blocked'] }, 'csv')
    expect(csv).toMatchObject({ kind: 'url', filename: expect.stringMatching(/^mcpproxy-activity-\d{8}T\d{6}Z\.csv$/) })
    if (csv.kind !== 'url') throw new Error('expected a link')
    expect(await csv.url()).toBe(`${base}/api/v1/activity/export?server=gh&status=blocked&format=csv&download_token=tok-1`)
    // the token was asked for with the key, in a header
    expect(seen[seen.length - 1]).toMatchObject({ method: 'POST', url: '/api/v1/activity/download-token', key: 'k' })
    const report = api.exportDownload({}, 'report')
    expect(report.kind === 'url' && (await report.url())).toBe(`${base}/api/v1/activity/report?download_token=tok-1`)
  })

  it('names the address when the core cannot be reached', async () => {
    const api = new HttpApi('http://127.0.0.1:1', 'k')
    await expect(api.status()).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining('http://127.0.0.1:1') })
  })
})
