// Download links of the web UI: a one-use token opens one export or report without the API key
// in the URL; it opens nothing else, and not twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDownloadTokens, DOWNLOAD_TOKEN_TTL_MS } from '../src/core/http/download-tokens'
import { readJson, startTestServer, type TestServer } from './helpers/core-harness'

let s: TestServer
beforeAll(async () => {
  s = await startTestServer()
})
afterAll(async () => {
  await s.close()
})

const token = async (): Promise<string> => {
  const r = await fetch(`${s.base}/api/v1/activity/download-token`, { method: 'POST', headers: { 'x-api-key': s.key } })
  expect(r.status).toBe(200)
  const body = await readJson(r)
  expect(body.data.expires_in_s).toBe(60)
  return body.data.token as string
}

describe('download tokens', () => {
  it('open one export and one report link, once each, with no key in the URL', async () => {
    const t = await token()
    const first = await fetch(`${s.base}/api/v1/activity/export?format=csv&download_token=${t}`)
    expect(first.status).toBe(200)
    expect(first.headers.get('content-disposition')).toMatch(/filename="mcpproxy-activity-\d{8}T\d{6}Z\.csv"/)
    await first.text()
    const again = await fetch(`${s.base}/api/v1/activity/export?format=csv&download_token=${t}`)
    expect(again.status).toBe(401)
    const report = await fetch(`${s.base}/api/v1/activity/report?download=1&download_token=${await token()}`)
    expect(report.status).toBe(200)
    expect(await report.text()).toMatch(/<html/i)
  })

  it('open nothing but the downloads, and need the key to be issued', async () => {
    const t = await token()
    expect((await fetch(`${s.base}/api/v1/activity?download_token=${t}`)).status).toBe(401)
    expect((await fetch(`${s.base}/api/v1/config?download_token=${t}`)).status).toBe(401)
    expect((await fetch(`${s.base}/api/v1/activity/export?download_token=made-up`)).status).toBe(401)
    expect((await fetch(`${s.base}/api/v1/activity/download-token`, { method: 'POST' })).status).toBe(401)
  })

  it('expire', () => {
    let now = 1_000
    const tokens = createDownloadTokens(() => now)
    const { token: t } = tokens.issue()
    now += DOWNLOAD_TOKEN_TTL_MS
    expect(tokens.take(t)).toBe(false)
    const { token: u } = tokens.issue()
    expect(tokens.take(u)).toBe(true)
    expect(tokens.take(u)).toBe(false)
    expect(tokens.take(undefined)).toBe(false)
  })
})
