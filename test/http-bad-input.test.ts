/**
 * Throws bad input at every route the OpenAPI document lists: bad path parameters, junk in
 * every query parameter, malformed and mistyped bodies, wrong content types. Every answer must
 * be a 4xx (or a 2xx when the junk happens to be valid) with the error envelope; never a 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer, readJson } from './helpers/core-harness'

let s: TestServer
interface Op {
  method: string
  path: string
  query: string[]
  hasBody: boolean
}
let ops: Op[] = []

beforeAll(async () => {
  s = await startTestServer()
  s.core.activity.record({ type: 'tool_call', status: 'success', server_name: 'everything', tool_name: 'echo', arguments: { a: 1 } })
  await s.core.activity.flush()
  const doc = (await readJson((await fetch(`${s.base}/swagger/json`)))) as {
    paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>>
  }
  ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      hasBody: method !== 'get' && method !== 'delete',
    })),
  )
})
afterAll(async () => s.close())

const PATH_JUNK = ['nope', '%E0%A4%A', 'a'.repeat(600), '..%2F..%2Fetc%2Fpasswd', '%00', 'x%20y']
const QUERY_JUNK = ['', 'zzz', '-1', '1e309', '99999999999999999999', '%ZZ', '2020-13-45T99:99:99Z', 'a,b,,c', '0x10', 'true']
const BODY_JUNK: Array<[string, string]> = [
  ['application/json', '{'],
  ['application/json', '[]'],
  ['application/json', 'null'],
  ['application/json', '"x"'],
  ['application/json', '123'],
  ['application/json', '{"name":123,"tools":"x","quarantined":"yes","decision":1,"command":[]}'],
  ['application/json', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'],
  ['text/plain', 'zzz'],
  ['application/x-www-form-urlencoded', 'a=b'],
  ['application/xml', '<a/>'],
]

const fill = (path: string, value: string): string => path.replace(/\{[^}]+\}/g, value)

async function hit(method: string, url: string, body?: [string, string]): Promise<{ status: number; text: string }> {
  const res = await fetch(`${s.base}${url}`, {
    method,
    headers: { 'x-api-key': s.key, ...(body ? { 'content-type': body[0] } : {}) },
    body: body?.[1],
  })
  return { status: res.status, text: await res.text() }
}

function expectClean(what: string, r: { status: number; text: string }): void {
  expect(r.status, `${what} -> ${r.status} ${r.text.slice(0, 200)}`).toBeLessThan(500)
  if (r.status >= 400) {
    const body = JSON.parse(r.text) as { error?: unknown; code?: unknown }
    expect(typeof body.error, what).toBe('string')
    expect(typeof body.code, what).toBe('string')
  }
}

// /events streams (covered in http-events), /mcp belongs to the MCP front end
const skip = (op: Op): boolean => op.path === '/events' || op.path === '/mcp' || op.path.startsWith('/swagger')

describe('bad input never makes a 500', () => {
  it('covers a meaningful set of routes', () => {
    expect(ops.filter((o) => !skip(o)).length).toBeGreaterThanOrEqual(38)
  })

  it('bad path parameters', async () => {
    for (const op of ops.filter((o) => !skip(o) && o.path.includes('{'))) {
      for (const junk of PATH_JUNK) {
        const url = `/${fill(op.path, junk).replace(/^\//, '')}`
        expectClean(`${op.method} ${url}`, await hit(op.method, url, op.hasBody ? ['application/json', '{}'] : undefined))
      }
    }
  })

  it('junk in every query parameter', async () => {
    for (const op of ops.filter((o) => !skip(o))) {
      const base = fill(op.path, 'everything')
      const urls = op.query.flatMap((name) => [...QUERY_JUNK.map((junk) => `${base}?${name}=${junk}`), `${base}?${name}=1&${name}=2`])
      // one route at a time, its cases side by side: read-only routes dominate and it keeps the run short
      const results = await Promise.all(urls.map((url) => hit(op.method, url, op.hasBody ? ['application/json', '{}'] : undefined)))
      results.forEach((r, i) => expectClean(`${op.method} ${urls[i]}`, r))
    }
  })

  it('malformed and mistyped bodies, wrong content types', async () => {
    for (const op of ops.filter((o) => !skip(o) && o.hasBody)) {
      for (const body of BODY_JUNK) {
        expectClean(`${op.method} ${op.path} ${body[0]} ${body[1]}`, await hit(op.method, fill(op.path, 'everything'), body))
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('names the parameter in the 400s it sends', async () => {
    const r = await hit('GET', '/api/v1/activity?limit=1000')
    expect(JSON.parse(r.text)).toEqual({ error: 'limit: must be <= 100', code: 'INVALID_PARAMETER' })
    const bad = await hit('POST', '/api/v1/approvals/x', ['application/json', '{"decision":1}'])
    expect(JSON.parse(bad.text).error).toMatch(/^decision: /)
    const notJson = await hit('POST', '/api/v1/servers', ['application/json', '{'])
    expect(notJson.status).toBe(400)
    expect(JSON.parse(notJson.text).code).toBe('BAD_REQUEST')
  })

  it('/events refuses bad filters', async () => {
    const r = await hit('GET', `/events?server=`)
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).error).toMatch(/^server: /)
    expect((await hit('GET', `/events?types=${'a'.repeat(3000)}`)).status).toBe(400)
  })
})

describe('a method a path does not serve', () => {
  it('is 405 with an Allow header naming the methods it does serve; a path nobody serves is 404', async () => {
    const byPath = new Map<string, Set<string>>()
    for (const op of ops.filter((o) => !skip(o))) byPath.set(op.path, (byPath.get(op.path) ?? new Set()).add(op.method))
    let checked = 0
    for (const [path, methods] of byPath) {
      const url = fill(path, 'everything')
      // a method no route serves at this URL (DELETE /servers/enable_all is DELETE /servers/{name})
      const served = (m: string): boolean => ops.some((o) => o.method === m && new RegExp(`^${o.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(url))
      const other = ['DELETE', 'PATCH', 'PUT', 'POST'].find((m) => !served(m))
      if (!other) continue
      const res = await fetch(`${s.base}${url}`, { method: other, headers: { 'x-api-key': s.key } })
      expect(res.status, `${other} ${path}`).toBe(405)
      const allow = (res.headers.get('allow') ?? '').split(', ')
      for (const m of methods) expect(allow, `${other} ${path}: Allow`).toContain(m)
      expect(allow).not.toContain(other)
      const body = (await res.json()) as { code: string; error: string }
      expect(body).toMatchObject({ code: 'METHOD_NOT_ALLOWED', error: expect.stringContaining(`${other} is not allowed on`) })
      checked++
    }
    expect(checked).toBeGreaterThanOrEqual(20)
    const nowhere = await fetch(`${s.base}/api/v1/nowhere`, { method: 'DELETE', headers: { 'x-api-key': s.key } })
    expect(nowhere.status).toBe(404)
  })
})
