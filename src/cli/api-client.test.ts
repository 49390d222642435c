import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiClient, buildQuery, splitHostPort, unwrap } from './api-client'
import { CliError } from './errors'

describe('api client helpers', () => {
  it('builds a query without empty values and with lists comma-joined', () => {
    expect(buildQuery({ type: ['tool_call', 'policy_decision'], server: 'gh', q: '', limit: 5, none: undefined, empty: [] })).toBe('?type=tool_call%2Cpolicy_decision&server=gh&limit=5')
    expect(buildQuery({})).toBe('')
  })
  it('unwraps the success envelope and leaves other bodies alone', () => {
    expect(unwrap({ success: true, data: { a: 1 } })).toEqual({ a: 1 })
    expect(unwrap({ tools: [] })).toEqual({ tools: [] })
  })
  it('splits host and port, including IPv6', () => {
    expect(splitHostPort('127.0.0.1:8080')).toEqual(['127.0.0.1', 8080])
    expect(splitHostPort('[::1]:9')).toEqual(['::1', 9])
  })
})

describe('ApiClient', () => {
  let server: Server | undefined
  afterEach(() => server?.close())

  it('turns the {error, code} envelope into a CliError with that message, code and status', async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/api/v1/bad') ? 400 : 401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'limit: must be <= 100', code: 'INVALID_PARAMETER' }))
    })
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    const client = new ApiClient({ kind: 'tcp', address: `127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'x' })
    const err = await client.get('/bad').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CliError)
    expect(err).toMatchObject({ message: 'limit: must be <= 100', code: 'INVALID_PARAMETER', status: 400, exitCode: 1 })
    const unauthorized = (await client.get('/other').catch((e: unknown) => e)) as CliError
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.message).toMatch(/rejected the API key/)
  })

  it('reports an unreachable core clearly', async () => {
    const client = new ApiClient({ kind: 'tcp', address: '127.0.0.1:1' })
    await expect(client.get('/status')).rejects.toThrow(/cannot reach the mcpproxy core at http:\/\/127.0.0.1:1/)
  })
})
