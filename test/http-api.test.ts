import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { rawRequest, startTestServer, type TestServer, readJson } from './helpers/core-harness'

let s: TestServer
let uiDir: string
const api = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${s.base}/api/v1${path}`, { ...init, headers: { 'x-api-key': s.key, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } })
const json = readJson

beforeAll(async () => {
  uiDir = mkdtempSync(join(tmpdir(), 'mcpproxy-ui-'))
  mkdirSync(join(uiDir, 'assets'))
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>mcpproxy</title><div id="root"></div>')
  writeFileSync(join(uiDir, 'assets', 'app.js'), 'console.log(1)')
  s = await startTestServer({ webUiDir: uiDir })
})
afterAll(async () => {
  await s.close()
  rmSync(uiDir, { recursive: true, force: true })
})

describe('auth', () => {
  it('rejects a missing or wrong key with 401 and the error envelope', async () => {
    const none = await fetch(`${s.base}/api/v1/servers`)
    expect(none.status).toBe(401)
    expect(await readJson(none)).toMatchObject({ code: 'UNAUTHORIZED', error: expect.stringContaining('API key') })
    const wrong = await fetch(`${s.base}/api/v1/servers`, { headers: { 'x-api-key': `${s.key}x` } })
    expect(wrong.status).toBe(401)
    const short = await fetch(`${s.base}/api/v1/servers`, { headers: { authorization: 'Bearer x' } })
    expect(short.status).toBe(401)
    expect((await fetch(`${s.base}/events`)).status).toBe(401)
    expect((await fetch(`${s.base}/mcp`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401)
  })

  it('accepts the key as X-API-Key, Bearer token or ?apikey=', async () => {
    expect((await fetch(`${s.base}/api/v1/status`, { headers: { 'x-api-key': s.key } })).status).toBe(200)
    expect((await fetch(`${s.base}/api/v1/status`, { headers: { authorization: `Bearer ${s.key}` } })).status).toBe(200)
    expect((await fetch(`${s.base}/api/v1/status?apikey=${encodeURIComponent(s.key)}`)).status).toBe(200)
  })

  it('serves the same app on the Unix socket (mode 0600) without a key', async () => {
    expect(statSync(s.socketPath).mode & 0o777).toBe(0o600)
    const r = await rawRequest({ socketPath: s.socketPath, path: '/api/v1/servers', headers: { host: 'localhost' } })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).data.servers.map((x: { name: string }) => x.name)).toContain('everything')
  })
})

describe('Host and Origin (DNS rebinding)', () => {
  it('refuses a foreign Host or Origin with 403 FORBIDDEN, even with the key', async () => {
    const evilHost = await rawRequest({ url: `${s.base}/api/v1/status`, headers: { host: 'evil.com', 'x-api-key': s.key } })
    expect(evilHost.status).toBe(403)
    expect(JSON.parse(evilHost.body).code).toBe('FORBIDDEN')
    const wrongPort = await rawRequest({ url: `${s.base}/api/v1/status`, headers: { host: '127.0.0.1:1', 'x-api-key': s.key } })
    expect(wrongPort.status).toBe(403)
    const evilOrigin = await fetch(`${s.base}/api/v1/status`, { headers: { 'x-api-key': s.key, origin: 'http://evil.com' } })
    expect(evilOrigin.status).toBe(403)
    expect((await rawRequest({ url: `${s.base}/ui/`, headers: { host: 'evil.com' } })).status).toBe(403)
  })

  it('accepts loopback names with the right port and a same-origin Origin', async () => {
    const port = new URL(s.base).port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const r = await rawRequest({ url: `${s.base}/api/v1/status`, headers: { host, 'x-api-key': s.key } })
      expect(r.status, host).toBe(200)
    }
    expect((await fetch(`${s.base}/api/v1/status`, { headers: { 'x-api-key': s.key, origin: `http://localhost:${port}` } })).status).toBe(200)
  })
})

describe('status routes', () => {
  it('GET /status has the seed shape', async () => {
    const body = await json(await api('/status'))
    expect(body).toMatchObject({ status: 'running', version: '0.0.0-test', servers: { total: 2, connected: 1 }, tools: { total: 3 } })
  })
  it('GET /info names the listen address, the socket and the web UI', async () => {
    const { success, data } = await json(await api('/info'))
    expect(success).toBe(true)
    const addr = new URL(s.base).host
    expect(data).toMatchObject({ version: '0.0.0-test', listen_addr: addr, endpoints: { http: addr, socket: s.socketPath } })
    expect(data.web_ui_url).toBe(`http://${addr}/ui/?apikey=${encodeURIComponent(s.key)}`)
    expect(data.mcp_url).toBe(`http://${addr}/mcp`)
  })
  it('GET /diagnostics and /doctor report', async () => {
    const diag = await json(await api('/diagnostics'))
    expect(diag.data).toMatchObject({ node: process.versions.node, events: { clients: expect.any(Number) } })
    const doctor = await json(await api('/doctor'))
    expect(doctor.data.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['config', 'activity_log', 'server:files', 'socket']))
    expect(doctor.data.ok).toBe(false)
  })
})

describe('servers', () => {
  it('lists servers with the health object', async () => {
    const body = await json(await api('/servers'))
    const everything = body.data.servers.find((x: { name: string }) => x.name === 'everything')
    expect(everything).toMatchObject({ enabled: true, connected: true, quarantined: false, health: { level: 'healthy', admin_state: 'enabled' } })
  })

  it('adds a server quarantined, refuses a duplicate (409) and removes it', async () => {
    const add = await api('/servers', { method: 'POST', body: JSON.stringify({ name: 'new-one', command: 'node', args: ['x.js'] }) })
    expect(add.status).toBe(201)
    expect((await json(add)).data.server).toMatchObject({ name: 'new-one', quarantined: true })
    const dup = await api('/servers', { method: 'POST', body: JSON.stringify({ name: 'new-one', command: 'node' }) })
    expect(dup.status).toBe(409)
    expect((await json(dup)).code).toBe('CONFLICT')
    expect((await api('/servers/new-one', { method: 'DELETE' })).status).toBe(200)
    expect((await api('/servers/new-one', { method: 'DELETE' })).status).toBe(404)
  })

  it('rejects a bad add naming the field', async () => {
    const bad = await api('/servers', { method: 'POST', body: JSON.stringify({ name: 'no spaces allowed', command: 'x' }) })
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toMatch(/^name: /)
    const neither = await api('/servers', { method: 'POST', body: JSON.stringify({ name: 'x' }) })
    expect(neither.status).toBe(400)
    expect((await json(neither)).error).toMatch(/command.*url/)
    const url = await api('/servers', { method: 'POST', body: JSON.stringify({ name: 'x', url: 'not a url' }) })
    expect((await json(url)).error).toMatch(/^url: /)
  })

  it('enables, disables, restarts and quarantines', async () => {
    let r = await json(await api('/servers/files/enable', { method: 'POST' }))
    expect(r.data.server).toMatchObject({ name: 'files', enabled: true })
    r = await json(await api('/servers/files/disable', { method: 'POST' }))
    expect(r.data.server.enabled).toBe(false)
    expect((await api('/servers/everything/restart', { method: 'POST' })).status).toBe(200)
    r = await json(await api('/servers/everything/quarantine', { method: 'POST', body: JSON.stringify({ quarantined: true }) }))
    expect(r.data.server).toMatchObject({ quarantined: true, health: { admin_state: 'quarantined' } })
    r = await json(await api('/servers/everything/quarantine', { method: 'POST', body: JSON.stringify({ quarantined: false }) }))
    expect(r.data.server.quarantined).toBe(false)
    const noBody = await api('/servers/everything/quarantine', { method: 'POST', body: JSON.stringify({}) })
    expect(noBody.status).toBe(400)
    expect((await json(noBody)).error).toMatch(/^quarantined: /)
    expect((await api('/servers/ghost/enable', { method: 'POST' })).status).toBe(404)
  })

  it('approves tools, lists a server tools and logs', async () => {
    const approved = await json(await api('/servers/everything/tools/approve', { method: 'POST', body: JSON.stringify({ tools: ['echo'] }) }))
    expect(approved.data.approved).toEqual(['echo'])
    const all = await json(await api('/servers/everything/tools/approve', { method: 'POST' }))
    expect(all.data.approved).toEqual(['echo', 'get-sum'])
    const tools = await json(await api('/servers/everything/tools'))
    expect(tools.data.tools.map((t: { name: string }) => t.name)).toEqual(['everything:echo', 'everything:get-sum'])
    expect(tools.data.changes).toEqual([])
    const logs = await json(await api('/servers/everything/logs?lines=2'))
    expect(logs.data.lines).toEqual(['line 1', 'line 2'])
    const bad = await api('/servers/everything/logs?lines=0')
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toBe('lines: must be >= 1')
  })

  it('runs bulk actions and reports each server', async () => {
    const off = await json(await api('/servers/disable_all', { method: 'POST' }))
    expect(off.data.results).toEqual([{ name: 'everything', ok: true }])
    const on = await json(await api('/servers/enable_all', { method: 'POST' }))
    expect(on.data.results.map((x: { name: string }) => x.name).sort()).toEqual(['everything', 'files'])
    expect((await api('/servers/restart_all', { method: 'POST' })).status).toBe(200)
    expect((await api('/servers/reconnect', { method: 'POST' })).status).toBe(200)
    await api('/servers/files/disable', { method: 'POST' })
  })
})

describe('tools', () => {
  it('searches with q and limit', async () => {
    const body = await json(await api('/tools?q=echo&limit=5'))
    expect(body.tools[0]).toMatchObject({ name: 'everything:echo', server: 'everything' })
    expect((await json(await api('/tools?limit=1'))).tools).toHaveLength(1)
    const bad = await api('/tools?limit=101')
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toBe('limit: must be <= 100')
  })
})

describe('activity', () => {
  const ids: string[] = []
  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      ids.push(
        s.core.activity.record({ type: 'tool_call', status: i === 4 ? 'error' : 'success', server_name: i < 3 ? 'everything' : 'files', tool_name: 'echo', arguments: { i }, response: { ok: i }, duration_ms: 10 + i }),
      )
    }
    await s.core.activity.flush()
  })

  it('lists with the seed envelope and filters', async () => {
    const body = await json(await api('/activity?limit=2'))
    expect(body.success).toBe(true)
    expect(body.data).toMatchObject({ total: 5, limit: 2, offset: 0 })
    expect(body.data.activities).toHaveLength(2)
    expect(body.data.activities[0]).not.toHaveProperty('arguments')
    const files = await json(await api('/activity?server=files'))
    expect(files.data.total).toBe(2)
    const errors = await json(await api('/activity?status=error,blocked'))
    expect(errors.data.activities.map((a: { id: string }) => a.id)).toEqual([ids[4]])
  })

  it('names the bad parameter', async () => {
    const cases: Array<[string, RegExp]> = [
      ['limit=0', /^limit: must be >= 1$/],
      ['limit=abc', /^limit: /],
      ['offset=-1', /^offset: must be >= 0$/],
      ['type=nope', /^type(\.0)?: must be one of /],
      ['start_time=yesterday', /^start_time: /],
      ['sensitive=maybe', /^sensitive: /],
      ['intent_type=x', /^intent_type: must be one of read, write, destructive$/],
    ]
    for (const [q, re] of cases) {
      const r = await api(`/activity?${q}`)
      expect(r.status, q).toBe(400)
      const b = await json(r)
      expect(b.code, q).toBe('INVALID_PARAMETER')
      expect(b.error, q).toMatch(re)
    }
  })

  it('gets one record with bodies; 404 when absent', async () => {
    const one = await json(await api(`/activity/${ids[0]}`))
    expect(one.data).toMatchObject({ id: ids[0], arguments: { i: 0 }, response: { ok: 0 } })
    const missing = await api('/activity/01J00000000000000000000000')
    expect(missing.status).toBe(404)
    expect((await json(missing)).code).toBe('NOT_FOUND')
  })

  it('counts, lists filter options, summarizes and measures', async () => {
    expect((await json(await api('/activity/count?server=everything'))).data.count).toBe(3)
    const opts = await json(await api('/activity/filter-options/server_name'))
    expect(opts.data.options).toEqual(expect.arrayContaining([{ value: 'everything', count: 3 }, { value: 'files', count: 2 }]))
    const badField = await api('/activity/filter-options/password')
    expect(badField.status).toBe(400)
    expect((await json(badField)).error).toMatch(/^filter: must be one of server_name/)
    const summary = await json(await api('/activity/summary?period=1h'))
    expect(summary.data).toMatchObject({ period: '1h', total: expect.any(Number) })
    expect((await api('/activity/summary?period=2h')).status).toBe(400)
    const metrics = await json(await api('/activity/metrics?days=7&server=everything'))
    expect(metrics.data).toMatchObject({ days: 7 })
    expect((await api('/activity/metrics?days=0')).status).toBe(400)
    const hourly = await json(await api('/activity/hourly'))
    expect(hourly.data.hours).toHaveLength(24)
    expect(hourly.data.hours.reduce((n: number, h: { calls: number }) => n + h.calls, 0)).toBeGreaterThan(0)
    expect((await json(await api('/activity/hourly?hours=3'))).data.hours).toHaveLength(3)
    const badHours = await api('/activity/hourly?hours=500')
    expect(badHours.status).toBe(400)
    expect((await json(badHours)).error).toMatch(/^hours: /)
    const verify = await json(await api('/activity/verify'))
    expect(verify.data.ok).toBe(true)
  })

  it('deletes one record, and by filter only with a filter', async () => {
    expect((await api(`/activity/${ids[0]}`, { method: 'DELETE' })).status).toBe(200)
    expect((await api(`/activity/${ids[0]}`)).status).toBe(404)
    expect((await api(`/activity/${ids[0]}`, { method: 'DELETE' })).status).toBe(404)
    const all = await api('/activity', { method: 'DELETE' })
    expect(all.status).toBe(400)
    expect((await json(all)).error).toMatch(/at least one filter/)
    expect((await json(await api('/activity/count?server=files'))).data.count).toBe(2)
    const del = await json(await api('/activity?server=files', { method: 'DELETE' }))
    expect(del.data.deleted).toBe(2)
    expect((await json(await api('/activity/count?server=files'))).data.count).toBe(0)
  })

  it('serves requests while a large deletion by filter runs, and shows it pending until it ends', async () => {
    const n = 10_000 // five chunks
    for (let done = 0; done < n; done += 2_000) {
      for (let i = 0; i < 2_000; i++) s.core.activity.record({ type: 'tool_call', status: 'success', server_name: 'bulk', tool_name: 'echo', arguments: { i } })
      await s.core.activity.flush()
    }
    let finished = false
    const deleting = api('/activity?server=bulk', { method: 'DELETE' }).then(async (r) => {
      finished = true
      return json(r)
    })
    // answered between two chunks: the record of the deletion is there, still pending
    let seenPending = false
    while (!finished && !seenPending) {
      const body = await json(await api('/activity?type=config_change&status=pending'))
      seenPending = body.data.activities.some((a: { metadata?: { action?: string } }) => a.metadata?.action === 'activity_deleted')
    }
    expect(seenPending).toBe(true)
    expect((await deleting).data.deleted).toBe(n)
    const done = await json(await api('/activity?type=config_change&limit=1'))
    expect(done.data.activities[0]).toMatchObject({ status: 'success', metadata: { action: 'activity_deleted', count: n, filter: { server: 'bulk' } } })
    expect((await json(await api('/activity/count?server=bulk'))).data.count).toBe(0)
    expect((await json(await api('/activity/verify'))).data.ok).toBe(true)
  })
})

describe('sessions and approvals', () => {
  it('lists sessions and gets one', async () => {
    const session = s.sessions.open('http', { name: 'claude', version: '1' })
    const list = await json(await api('/sessions'))
    expect(list.data.sessions.map((x: { id: string }) => x.id)).toContain(session.info.id)
    const one = await json(await api(`/sessions/${session.info.id}`))
    expect(one.data).toMatchObject({ id: session.info.id, transport: 'http', client: { name: 'claude' } })
    expect((await api('/sessions/nope')).status).toBe(404)
  })

  it('shows an approval with the secrets in its arguments masked, as the log has them', async () => {
    const token = 'ghp_' + 'abcdefghijklmnopqrstuvwxyz0123456789'
    const { id, outcome } = s.approvals.request({ server: 'everything', tool: 'echo', args: { message: `token ${token}` }, timeoutMs: 60_000 })
    const text = await (await api('/approvals')).text()
    expect(text).not.toContain(token)
    expect(JSON.parse(text).data.approvals[0].arguments.message).toMatch(/^token \[REDACTED:/)
    await api(`/approvals/${id}`, { method: 'POST', body: JSON.stringify({ decision: 'deny' }) })
    expect((await outcome).outcome).toBe('denied')
  })

  it('lists approvals and decides one once', async () => {
    const { id, outcome } = s.approvals.request({ server: 'everything', tool: 'echo', args: { m: 1 }, timeoutMs: 60_000 })
    const list = await json(await api('/approvals'))
    expect(list.data.approvals.map((a: { id: string }) => a.id)).toEqual([id])
    expect(list.data.approvals[0].arguments).toEqual({ m: 1 })
    const bad = await api(`/approvals/${id}`, { method: 'POST', body: JSON.stringify({ decision: 'maybe' }) })
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toBe('decision: must be one of approve, deny')
    const ok = await api(`/approvals/${id}`, { method: 'POST', body: JSON.stringify({ decision: 'approve' }) })
    expect(ok.status).toBe(200)
    expect(await outcome).toMatchObject({ outcome: 'approved' })
    expect((await api(`/approvals/${id}`, { method: 'POST', body: JSON.stringify({ decision: 'deny' }) })).status).toBe(404)
  })
})

describe('config', () => {
  it('masks secrets, validates and applies', async () => {
    const cfg = await json(await api('/config'))
    expect(cfg.data.config.api_key).toBe('********')
    expect(JSON.stringify(cfg)).not.toContain(s.key)
    const invalid = await json(await api('/config/validate', { method: 'POST', body: JSON.stringify({ listen: 'nope' }) }))
    expect(invalid.data.valid).toBe(false)
    expect(invalid.data.errors[0].key).toBe('listen')
    const valid = await json(await api('/config/validate', { method: 'POST', body: JSON.stringify({ listen: '127.0.0.1:9000' }) }))
    expect(valid.data).toEqual({ valid: true, errors: [] })
    const arr = await api('/config/validate', { method: 'POST', body: '[1]' })
    expect(arr.status).toBe(400)
    const current = s.core.config.current()
    const applied = await api('/config/apply', { method: 'POST', body: JSON.stringify({ ...current, redact_pii: true }) })
    expect(applied.status).toBe(200)
    expect(s.core.config.current().redact_pii).toBe(true)
    const rejected = await api('/config/apply', { method: 'POST', body: JSON.stringify({ ...current, call_timeout_ms: -1 }) })
    expect(rejected.status).toBe(400)
    expect((await json(rejected)).code).toBe('CONFIG_INVALID')
    expect(s.core.config.current().redact_pii).toBe(true)
  })

  // the config's temp file is made /dev/full, whose every write fails with ENOSPC (Linux)
  it.runIf(existsSync('/dev/full'))('a full disk is 507 DISK_FULL saying nothing changed, not a 500; the file and the running config stay', async () => {
    const file = s.core.paths.config
    const before = readFileSync(file, 'utf8')
    const tmp = `${file}.${process.pid}.tmp`
    symlinkSync('/dev/full', tmp)
    try {
      const current = s.core.config.current()
      const r = await api('/config/apply', { method: 'POST', body: JSON.stringify({ ...current, approval_timeout_s: 77 }) })
      expect(r.status).toBe(507)
      expect(await json(r)).toEqual({ code: 'DISK_FULL', error: `the disk is full (ENOSPC): ${file} was left as it was and no setting changed; free some disk space and try again` })
      expect(existsSync(tmp)).toBe(false)
      expect(readFileSync(file, 'utf8')).toBe(before)
      expect(s.core.config.current().approval_timeout_s).toBe(current.approval_timeout_s)
    } finally {
      rmSync(tmp, { force: true })
    }
  })
})

describe('/mcp', () => {
  it('hands the parsed body to the MCP front end and lets 1 MiB messages through', async () => {
    const big = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(1024 * 1024) } } }
    const r = await fetch(`${s.base}/mcp`, { method: 'POST', headers: { 'x-api-key': s.key, 'content-type': 'application/json' }, body: JSON.stringify(big) })
    expect(r.status).toBe(200)
    expect((await readJson(r)).bytes).toBe(JSON.stringify(big).length)
    const tooBig = await fetch(`${s.base}/mcp`, { method: 'POST', headers: { 'x-api-key': s.key, 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(5 * 1024 * 1024) }) })
    expect(tooBig.status).toBe(413)
    expect((await readJson(tooBig)).code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('takes the key as X-API-Key, Bearer or a single ?apikey=, and checks Host and Origin before the key', async () => {
    const ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}'
    const mcp = (path: string, headers: Record<string, string>) =>
      rawRequest({ url: `${s.base}${path}`, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: ping })
    expect((await mcp('/mcp', { 'x-api-key': s.key })).status).toBe(200)
    expect((await mcp('/mcp', { authorization: `Bearer ${s.key}` })).status).toBe(200)
    expect((await mcp(`/mcp?apikey=${encodeURIComponent(s.key)}`, {})).status).toBe(200)
    const twice = await mcp(`/mcp?apikey=${encodeURIComponent(s.key)}&apikey=x`, {})
    expect(twice.status).toBe(401)
    expect(JSON.parse(twice.body)).toMatchObject({ code: 'UNAUTHORIZED', error: expect.stringContaining('API key') })
    expect(twice.headers['x-content-type-options']).toBe('nosniff')
    // a rebinding page never reaches the MCP front end, with or without the key
    const evilHost = await mcp('/mcp', { host: 'evil.com', 'x-api-key': s.key })
    expect(evilHost.status).toBe(403)
    expect(JSON.parse(evilHost.body)).toMatchObject({ code: 'FORBIDDEN', error: 'host not allowed: evil.com' })
    const evilOrigin = await mcp('/mcp', { origin: 'http://evil.com' })
    expect(evilOrigin.status).toBe(403)
    expect(JSON.parse(evilOrigin.body).code).toBe('FORBIDDEN')
    // only /mcp itself is the MCP endpoint
    expect((await mcp('/mcp/', { 'x-api-key': s.key })).status).toBe(404)
    expect((await mcp('/mcpx', { 'x-api-key': s.key })).status).toBe(404)
  })

  it('serves /mcp on the Unix socket without a key', async () => {
    const r = await rawRequest({ socketPath: s.socketPath, path: '/mcp', method: 'POST', headers: { host: 'localhost', 'content-type': 'application/json' }, body: '{"a":1}' })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ method: 'POST', bytes: 7 })
  })

  it('refuses bodies that are not application/json with 415, and hands bad JSON over raw', async () => {
    const text = await fetch(`${s.base}/mcp`, { method: 'POST', headers: { 'x-api-key': s.key, 'content-type': 'text/plain' }, body: '{}' })
    expect(text.status).toBe(415)
    expect(await readJson(text)).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' })
    const charset = await fetch(`${s.base}/mcp`, { method: 'POST', headers: { 'x-api-key': s.key, 'content-type': 'application/json; charset=utf-8' }, body: '{"b":2}' })
    expect(await readJson(charset)).toEqual({ method: 'POST', bytes: 7 })
    // the front end gets the bytes (as a Buffer) so it can answer with a JSON-RPC parse error
    const bad = await fetch(`${s.base}/mcp`, { method: 'POST', headers: { 'x-api-key': s.key, 'content-type': 'application/json' }, body: '{"c":' })
    expect(await readJson(bad)).toEqual({ method: 'POST', bytes: JSON.stringify(Buffer.from('{"c":')).length })
    const get = await fetch(`${s.base}/mcp`, { headers: { 'x-api-key': s.key } })
    expect(await readJson(get)).toEqual({ method: 'GET', bytes: 0 })
  })

  it('needs no key when mcp_auth is false', async () => {
    await s.core.config.apply({ ...s.core.config.current(), mcp_auth: false })
    try {
      const r = await fetch(`${s.base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' })
      expect(r.status).toBe(200)
      expect((await fetch(`${s.base}/api/v1/status`)).status).toBe(401)
    } finally {
      await s.core.config.apply({ ...s.core.config.current(), mcp_auth: true })
    }
  })
})

describe('OpenAPI', () => {
  it('serves a valid 3.1 document as YAML and JSON listing every route', async () => {
    const yamlRes = await fetch(`${s.base}/swagger/swagger.yaml`)
    expect(yamlRes.status).toBe(200)
    expect(yamlRes.headers.get('content-type')).toMatch(/yaml/)
    const doc = parseYaml(await yamlRes.text())
    expect(doc.openapi).toBe('3.1.0')
    const fromJson = await readJson((await fetch(`${s.base}/swagger/json`)))
    expect(fromJson.paths).toEqual(doc.paths)
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    const expected = [
      'GET /api/v1/status', 'GET /api/v1/info', 'GET /api/v1/diagnostics', 'GET /api/v1/doctor',
      'GET /api/v1/servers', 'POST /api/v1/servers', 'DELETE /api/v1/servers/{name}',
      'POST /api/v1/servers/{name}/enable', 'POST /api/v1/servers/{name}/disable', 'POST /api/v1/servers/{name}/restart',
      'POST /api/v1/servers/{name}/quarantine', 'POST /api/v1/servers/{name}/tools/approve', 'GET /api/v1/servers/{name}/tools',
      'GET /api/v1/servers/{name}/logs', 'POST /api/v1/servers/enable_all', 'POST /api/v1/servers/disable_all',
      'POST /api/v1/servers/restart_all', 'POST /api/v1/servers/reconnect', 'GET /api/v1/tools',
      'GET /api/v1/activity', 'DELETE /api/v1/activity', 'GET /api/v1/activity/{id}', 'DELETE /api/v1/activity/{id}',
      'GET /api/v1/activity/count', 'GET /api/v1/activity/filter-options/{filter}', 'GET /api/v1/activity/summary',
      'GET /api/v1/activity/metrics', 'GET /api/v1/activity/hourly', 'GET /api/v1/activity/export', 'POST /api/v1/activity/import', 'GET /api/v1/activity/verify', 'POST /api/v1/activity/download-token',
      'GET /api/v1/activity/report', 'GET /api/v1/sessions', 'GET /api/v1/sessions/{id}', 'GET /api/v1/approvals',
      'POST /api/v1/approvals/{id}', 'GET /api/v1/config', 'POST /api/v1/config/validate', 'POST /api/v1/config/apply',
      'GET /events', 'POST /mcp',
    ]
    expect(listed).toEqual(expect.arrayContaining(expected))
    const params = (doc.paths['/api/v1/activity'].get.parameters as Array<{ name: string }>).map((p) => p.name)
    expect(params).toEqual(expect.arrayContaining(['type', 'server', 'tool', 'session_id', 'status', 'start_time', 'end_time', 'intent_type', 'sensitive', 'q', 'limit', 'offset', 'cursor']))
    expect(doc.components.securitySchemes.apiKeyHeader).toMatchObject({ in: 'header', name: 'X-API-Key' })
    const ui = await fetch(`${s.base}/swagger/`)
    expect(ui.status).toBe(200)
    expect(await ui.text()).toContain('swagger')
  })
})

describe('web UI', () => {
  it('redirects / to /ui/ and serves the built files with SPA fallback', async () => {
    const root = await fetch(`${s.base}/?apikey=k`, { redirect: 'manual' })
    expect(root.status).toBe(302)
    expect(root.headers.get('location')).toBe('/ui/?apikey=k')
    const index = await fetch(`${s.base}/ui/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toMatch(/text\/html/)
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(await index.text()).toContain('<div id="root">')
    const js = await fetch(`${s.base}/ui/assets/app.js`)
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    const route = await fetch(`${s.base}/ui/activity`)
    expect(route.status).toBe(200)
    expect(await route.text()).toContain('<div id="root">')
    expect((await fetch(`${s.base}/ui/assets/missing.js`)).status).toBe(404)
    expect((await fetch(`${s.base}/ui/../../etc/passwd`)).status).not.toBe(200)
  })
})

describe('createHttpServer', () => {
  it('fails with CONFLICT when the address is taken, leaving the first server serving', async () => {
    const { createHttpServer } = await import('../src/core/http/server')
    const address = new URL(s.base).host
    await expect(createHttpServer(s.core, { listen: address })).rejects.toMatchObject({ code: 'CONFLICT' })
    expect((await api('/status')).status).toBe(200)
  })
  it('refuses a malformed listen address', async () => {
    const { createHttpServer } = await import('../src/core/http/server')
    await expect(createHttpServer(s.core, { listen: 'localhost' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
  })
})
