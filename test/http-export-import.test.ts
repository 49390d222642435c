import { ulid } from 'ulid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer, readJson } from './helpers/core-harness'

let a: TestServer
let b: TestServer
const ids: string[] = []
const get = (s: TestServer, path: string): Promise<Response> => fetch(`${s.base}/api/v1${path}`, { headers: { 'x-api-key': s.key } })

beforeAll(async () => {
  a = await startTestServer()
  b = await startTestServer({ importLimitBytes: 64 * 1024 })
  for (let i = 0; i < 40; i++) {
    ids.push(
      a.core.activity.record({
        type: i % 10 === 9 ? 'policy_decision' : 'tool_call',
        status: i % 10 === 9 ? 'blocked' : 'success',
        server_name: i % 2 ? 'everything' : 'files',
        tool_name: 'echo',
        arguments: { message: `hello ${i}`, quote: 'a "b", c' },
        response: { content: [{ type: 'text', text: `Echo: hello ${i}` }] },
        duration_ms: i,
      }),
    )
  }
  await a.core.activity.flush()
})
afterAll(async () => {
  await a.close()
  await b.close()
})

describe('GET /activity/export', () => {
  it('streams JSON Lines as a download named mcpproxy-activity-<UTC stamp>.jsonl', async () => {
    const res = await get(a, '/activity/export?format=json')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="mcpproxy-activity-\d{8}T\d{6}Z\.jsonl"$/)
    expect(res.headers.get('content-length')).toBeNull()
    expect(res.headers.get('transfer-encoding')).toBe('chunked')
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.map((r) => r.id).sort()).toEqual([...ids].sort())
    expect(lines[0]).not.toHaveProperty('arguments')
  })

  it('includes bodies when asked and applies the list filters', async () => {
    const res = await get(a, '/activity/export?include_bodies=true&server=everything&type=tool_call')
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toHaveLength(16)
    expect(lines.every((r) => r.server_name === 'everything' && r.type === 'tool_call')).toBe(true)
    expect(lines[0].arguments).toMatchObject({ quote: 'a "b", c' })
  })

  it('streams CSV with a .csv filename', async () => {
    const res = await get(a, '/activity/export?format=csv&status=blocked')
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(res.headers.get('content-disposition')).toMatch(/filename="mcpproxy-activity-\d{8}T\d{6}Z\.csv"$/)
    const rows = (await res.text()).trim().split('\n')
    expect(rows[0]).toMatch(/^id,/)
    expect(rows).toHaveLength(1 + 4)
  })

  it('rejects a bad format or filter before streaming', async () => {
    const bad = await get(a, '/activity/export?format=xml')
    expect(bad.status).toBe(400)
    expect(await readJson(bad)).toEqual({ error: 'format: must be one of json, csv', code: 'INVALID_PARAMETER' })
    expect((await get(a, '/activity/export?include_bodies=perhaps')).status).toBe(400)
  })
})

describe('POST /activity/import', () => {
  const post = (s: TestServer, body: string | Uint8Array, type = 'application/x-ndjson'): Promise<Response> =>
    fetch(`${s.base}/api/v1/activity/import`, { method: 'POST', headers: { 'x-api-key': s.key, 'content-type': type }, body })

  it('round-trips an export into another core, idempotently', async () => {
    const exported = await (await get(a, '/activity/export?include_bodies=true')).text()
    const first = await post(b, exported)
    expect(first.status).toBe(200)
    expect((await readJson(first)).data).toMatchObject({ read: 40, imported: 40, skipped_existing: 0, errors: [] })
    const original = (await readJson((await get(a, `/activity/${ids[7]}`)))).data
    const copy = (await readJson((await get(b, `/activity/${ids[7]}`)))).data
    expect(copy).toMatchObject({ id: original.id, type: original.type, arguments: original.arguments, response: original.response, duration_ms: 7 })
    const again = await post(b, exported, 'text/plain; charset=utf-8')
    expect((await readJson(again)).data).toMatchObject({ read: 40, imported: 0, skipped_existing: 40 })
    expect((await readJson((await get(b, '/activity/count')))).data.count).toBeGreaterThanOrEqual(40)
    // a record deleted on b stays deleted when the same export is imported again
    expect((await fetch(`${b.base}/api/v1/activity/${ids[7]}`, { method: 'DELETE', headers: { 'x-api-key': b.key } })).status).toBe(200)
    const third = await post(b, exported)
    expect((await readJson(third)).data).toMatchObject({ read: 40, imported: 0, skipped_existing: 39, skipped_deleted: 1 })
    expect((await get(b, `/activity/${ids[7]}`)).status).toBe(404)
    // each import is a record naming who did it
    type Row = { metadata?: { action?: string } }
    const imports = async (): Promise<Row[]> =>
      (await readJson(await get(b, '/activity?type=config_change&limit=100'))).data.activities.filter((r: Row) => r.metadata?.action === 'activity_imported')
    await expect.poll(async () => (await imports()).length).toBe(3)
    expect((await imports())[0]!.metadata).toMatchObject({ source: 'upload', imported: 0, skipped_deleted: 1, actor: expect.any(String) })
  })

  it('reports bad lines by number and keeps the good ones', async () => {
    const now = Date.now()
    const good = JSON.stringify({ id: ulid(now), type: 'tool_call', timestamp: new Date(now).toISOString(), status: 'success', server_name: 'x', tool_name: 'y' })
    const res = await post(b, `not json\n${good}\r\n`)
    expect(res.status).toBe(200)
    const { data } = await readJson(res)
    expect(data.imported).toBe(1)
    expect(data.errors).toHaveLength(1)
    expect(data.errors[0].line).toBe(1)
  })

  it('refuses other content types (415) and bodies over the limit (413)', async () => {
    const json = await post(b, '[]', 'application/json')
    expect(json.status).toBe(415)
    expect((await readJson(json)).code).toBe('UNSUPPORTED_MEDIA_TYPE')
    const big = await post(b, 'x'.repeat(100 * 1024))
    expect(big.status).toBe(413)
    expect(await readJson(big)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', error: expect.stringMatching(/^body: larger than 65536 bytes/) })
    // chunked, without a content-length: refused once the limit is passed; b's count says what got in
    const before = (await readJson(await get(b, '/activity/count?type=tool_call'))).data.count
    const now = Date.now()
    const line = (i: number): string =>
      JSON.stringify({ id: ulid(now + i), type: 'tool_call', timestamp: new Date(now + i).toISOString(), status: 'success', arguments: { pad: 'p'.repeat(500) } }) + '\n'
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 200; i++) c.enqueue(new TextEncoder().encode(line(i)))
        c.close()
      },
    })
    const streamed = await fetch(`${b.base}/api/v1/activity/import`, {
      method: 'POST',
      headers: { 'x-api-key': b.key, 'content-type': 'application/x-ndjson' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(streamed.status).toBe(413)
    expect((await readJson(streamed)).code).toBe('PAYLOAD_TOO_LARGE')
    // nothing of that body was committed: it is refused before its first chunk of records is
    expect((await readJson(await get(b, '/activity/count?type=tool_call'))).data.count).toBe(before)
    // and the failed import is on record
    await expect
      .poll(async () => (await readJson(await get(b, '/activity?type=config_change&limit=1'))).data.activities[0])
      .toMatchObject({ status: 'error', error: expect.stringContaining('the import stopped'), metadata: { action: 'activity_imported' } })
  })

  it('takes a body larger than the JSON body limit when streamed', async () => {
    const lines: string[] = []
    for (let bytes = 0; bytes < 1.5 * 1024 * 1024; ) {
      const now = Date.now()
      lines.push(JSON.stringify({ id: ulid(now), type: 'tool_call', timestamp: new Date(now).toISOString(), status: 'success', arguments: { pad: 'p'.repeat(1000) } }))
      bytes += lines.at(-1)!.length + 1
    }
    const res = await post(a, lines.join('\n'))
    expect(res.status).toBe(200)
    expect((await readJson(res)).data).toMatchObject({ read: lines.length, imported: lines.length, errors: [] })
  })
})

describe('GET /activity/report', () => {
  it('renders the filtered records as one self-contained HTML page', async () => {
    const res = await get(a, '/activity/report?server=files&title=Files%20audit')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('content-disposition')).toBeNull()
    const html = await res.text()
    expect(html).toContain('Files audit')
    expect(html).toContain('hello 0')
    expect(html).toContain('hello 38')
    expect(html).not.toContain('hello 39')
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/)
    const dl = await get(a, '/activity/report?download=true')
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="mcpproxy-activity-report-\d{8}T\d{6}Z\.html"$/)
    expect((await get(a, '/activity/report?download=maybe')).status).toBe(400)
  })
})
