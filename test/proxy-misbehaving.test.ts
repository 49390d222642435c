import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { startHarness, textOf, type Harness } from './proxy-helpers'

const fixture = (name: string) => ({ command: process.execPath, args: [join(__dirname, 'fixtures', `${name}.mjs`)], quarantined: false })

describe('misbehaving upstreams behind /mcp', () => {
  let h: Harness
  let client: Client
  beforeAll(async () => {
    h = await startHarness({ call_timeout_ms: 500 }, { hang: fixture('hang-server'), crash: fixture('crash-server') })
    client = await h.connectHttp('patient-agent')
  })
  afterAll(async () => h.close())

  const call = (server: string, tool: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name: 'call_tool', arguments: { server, tool, arguments: args } })

  it('answers a call that never returns with a timeout error after call_timeout_ms, recorded as timeout', async () => {
    const r = await call('hang', 'hang')
    expect(r.isError).toBe(true)
    expect(textOf(r)).toBe("no answer from 'hang' within 500 ms")
    const rec = (await h.records('tool_call')).find((x) => x.server_name === 'hang')!
    expect(rec).toMatchObject({ status: 'timeout', tool_name: 'hang', error: "no answer from 'hang' within 500 ms" })
    expect(rec.duration_ms).toBeGreaterThanOrEqual(450)
  })

  it('answers a call whose server dies with an error, recorded as error, and keeps serving the others', async () => {
    const r = await call('crash', 'crash')
    expect(r.isError).toBe(true)
    expect(textOf(r)).toMatch(/^upstream 'crash' failed: /)
    const rec = (await h.records('tool_call')).find((x) => x.server_name === 'crash')!
    expect(rec.status).toBe('error')
    expect(textOf(await call('everything', 'echo', { message: 'alive' }))).toBe('Echo: alive')
    expect(textOf(await call('hang', 'echo', { message: 'hang still answers echo' }))).toBe('Echo: hang still answers echo')
  })
})
