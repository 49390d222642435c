import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { silentLogger, type Logger } from '../logger'
import { createOtelExporter, tracesUrl } from './exporter'

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

interface OtlpAttr {
  key: string
  value: { stringValue?: string; arrayValue?: { values: Array<{ stringValue?: string }> } }
}
interface OtlpSpan {
  name: string
  traceId: string
  spanId: string
  parentSpanId?: string
  kind: number
  startTimeUnixNano: string | number
  endTimeUnixNano: string | number
  attributes: OtlpAttr[]
  status?: { code?: number; message?: string }
}

let server: Server
let received: Received[]
let endpoint: string

beforeEach(async () => {
  received = []
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

function spans(): Array<{ span: OtlpSpan; service: string | undefined }> {
  return received.flatMap((r) => {
    const body = JSON.parse(r.body) as {
      resourceSpans: Array<{ resource: { attributes: OtlpAttr[] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>
    }
    return body.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) =>
        ss.spans.map((span) => ({ span, service: rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue })),
      ),
    )
  })
}

const attrs = (s: OtlpSpan): Record<string, unknown> =>
  Object.fromEntries(s.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.arrayValue?.values.map((v) => v.stringValue)]))

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'

function record(over: Partial<ActivityRecord> = {}): ActivityRecord {
  return {
    id: '01JDQ0000000000000000000AA',
    type: 'tool_call',
    timestamp: '2026-11-21T12:00:00.000Z',
    session_id: 'sess-1',
    server_name: 'everything',
    tool_name: 'echo',
    status: 'success',
    duration_ms: 250,
    client: { name: 'claude-desktop' },
    ...over,
  }
}

describe('createOtelExporter', () => {
  it('sends one execute_tool span per completed call with GenAI attributes, on shutdown at the latest', async () => {
    const otel = createOtelExporter({ endpoint, headers: { 'x-collector-key': 'k1' }, serviceName: 'mcpproxy-test', logger: silentLogger, scheduledDelayMillis: 60_000 })
    otel.exportToolCall(record({ trace_id: TRACE, span_id: PARENT, flags: ['sensitive'] }))
    otel.exportToolCall(record({ id: '01JDQ0000000000000000000BB', tool_name: 'get-sum', status: 'error', error: 'boom', trace_id: undefined, span_id: undefined }))
    otel.exportToolCall(record({ id: 'pending', status: 'pending' }))
    otel.exportToolCall(record({ id: 'server', type: 'server_change' }))
    expect(received).toEqual([])
    await otel.shutdown()

    expect(received.length).toBeGreaterThan(0)
    expect(received[0]!.path).toBe('/v1/traces')
    expect(received[0]!.headers['content-type']).toMatch(/application\/json/)
    expect(received[0]!.headers['x-collector-key']).toBe('k1')

    const got = spans()
    expect(got.map((s) => s.span.name).sort()).toEqual(['execute_tool echo', 'execute_tool get-sum'])
    expect(new Set(got.map((s) => s.service))).toEqual(new Set(['mcpproxy-test']))

    const echo = got.find((s) => s.span.name === 'execute_tool echo')!.span
    expect(attrs(echo)).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'echo',
      'gen_ai.tool.call.id': '01JDQ0000000000000000000AA',
      'gen_ai.provider.name': 'everything',
      'mcp.method.name': 'tools/call',
      'mcp.session.id': 'sess-1',
      'mcpproxy.client.name': 'claude-desktop',
      'mcpproxy.flags': ['sensitive'],
    })
    expect(echo.traceId).toBe(TRACE)
    expect(echo.parentSpanId).toBe(PARENT)
    expect(echo.kind).toBe(1) // SPAN_KIND_INTERNAL
    const startNs = BigInt(Date.parse('2026-11-21T12:00:00.000Z')) * 1_000_000n
    expect(BigInt(echo.startTimeUnixNano)).toBe(startNs)
    expect(BigInt(echo.endTimeUnixNano)).toBe(startNs + 250_000_000n)
    expect(echo.status?.code ?? 0).toBe(0)

    const failed = got.find((s) => s.span.name === 'execute_tool get-sum')!.span
    expect(attrs(failed)['error.type']).toBe('error')
    expect(failed.status).toMatchObject({ code: 2, message: 'boom' })
    expect(failed.parentSpanId ?? '').toBe('')
    expect(failed.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(failed.traceId).not.toBe(TRACE)
  })

  it('marks timeouts and blocked calls with error.type and ignores malformed trace ids', async () => {
    const otel = createOtelExporter({ endpoint: `${endpoint}/v1/traces/`, logger: silentLogger, scheduledDelayMillis: 60_000 })
    otel.exportToolCall(record({ id: 't', status: 'timeout', trace_id: 'not-hex', span_id: PARENT }))
    otel.exportToolCall(record({ id: 'b', tool_name: 'rm', status: 'blocked', trace_id: '0'.repeat(32), span_id: PARENT }))
    await otel.shutdown()
    const got = spans().map((s) => s.span)
    expect(got.map((s) => [attrs(s)['gen_ai.tool.call.id'], attrs(s)['error.type'], s.parentSpanId ?? ''])).toEqual([
      ['t', 'timeout', ''],
      ['b', 'blocked', ''],
    ])
  })

  it('never throws when the collector is down, and shutdown still resolves', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m), child: () => logger }
    const otel = createOtelExporter({ endpoint, logger, scheduledDelayMillis: 60_000, shutdownTimeoutMillis: 500 })
    for (let i = 0; i < 10; i++) expect(() => otel.exportToolCall(record({ id: `r${i}` }))).not.toThrow()
    otel.exportToolCall(record({ timestamp: 'garbage' }))
    await otel.shutdown()
    await otel.shutdown()
    otel.exportToolCall(record())
    expect(received).toEqual([])
    expect(warnings).toEqual(['otel shutdown gave up waiting for the collector; unsent spans are dropped'])
    server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
})

describe('tracesUrl', () => {
  it('appends /v1/traces to a base URL only', () => {
    expect(tracesUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces')
    expect(tracesUrl('http://127.0.0.1:4318/')).toBe('http://127.0.0.1:4318/v1/traces')
    expect(tracesUrl('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces')
  })
})
