/**
 * Optional OpenTelemetry export: each completed tool call becomes one span following the GenAI
 * semantic conventions (`execute_tool {tool}`), sent by the official OTLP/HTTP (JSON) exporter
 * through a BatchSpanProcessor, so exporting never waits on the network. A private tracer
 * provider is used: nothing is registered globally.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { ActivityRecord } from '../../shared/activity'
import type { Logger } from '../logger'

export interface OtelExporterOptions {
  /** collector base URL (`http://host:4318`) or the full traces URL (`.../v1/traces`) */
  endpoint: string
  headers?: Record<string, string>
  serviceName?: string
  logger: Logger
  /** batching knobs; the defaults suit a desktop (flush every 2 s, at most 2048 spans queued) */
  scheduledDelayMillis?: number
  maxQueueSize?: number
  /** how long shutdown waits for the last flush before giving up (default 3 s) */
  shutdownTimeoutMillis?: number
}

export interface OtelExporter {
  /** Queues a span for a completed tool call record; other records are ignored. Never throws. */
  exportToolCall(record: ActivityRecord): void
  /** Flushes what is queued and stops. */
  shutdown(): Promise<void>
}

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/

/** `http://h:4318` → `http://h:4318/v1/traces`; a URL already naming a path is kept. */
export function tracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '')
  return /\/v1\/traces$/.test(trimmed) ? trimmed : `${trimmed}/v1/traces`
}

function parentContext(record: ActivityRecord): Context {
  const traceId = record.trace_id?.toLowerCase()
  const spanId = record.span_id?.toLowerCase()
  if (!traceId || !spanId || !TRACE_ID.test(traceId) || !SPAN_ID.test(spanId)) return ROOT_CONTEXT
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true })
}

/** The span attributes for a record (GenAI semantic conventions plus MCP session and client). */
export function spanAttributes(record: ActivityRecord): Attributes {
  const a: Attributes = {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.call.id': record.id,
    'mcp.method.name': 'tools/call',
  }
  if (record.tool_name) a['gen_ai.tool.name'] = record.tool_name
  if (record.server_name) a['gen_ai.provider.name'] = record.server_name
  if (record.session_id) a['mcp.session.id'] = record.session_id
  if (record.client?.name) a['mcpproxy.client.name'] = record.client.name
  if (record.intent?.operation_type) a['mcpproxy.intent.operation_type'] = record.intent.operation_type
  if (record.flags?.length) a['mcpproxy.flags'] = record.flags
  if (record.status !== 'success') a['error.type'] = record.status
  return a
}

export function createOtelExporter(options: OtelExporterOptions): OtelExporter {
  const log = options.logger
  const exporter = new OTLPTraceExporter({ url: tracesUrl(options.endpoint), headers: options.headers ?? {} })
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'mcpproxy' }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: options.scheduledDelayMillis ?? 2000,
        maxQueueSize: options.maxQueueSize ?? 2048,
      }),
    ],
  })
  const tracer = provider.getTracer('mcpproxy')
  let closed = false
  let failures = 0

  return {
    exportToolCall(record) {
      if (closed || record.type !== 'tool_call' || record.status === 'pending') return
      try {
        const start = Date.parse(record.timestamp)
        if (!Number.isFinite(start)) return
        const end = start + Math.max(0, record.duration_ms ?? 0)
        const span = tracer.startSpan(
          `execute_tool ${record.tool_name ?? 'unknown'}`,
          { kind: SpanKind.INTERNAL, startTime: start, attributes: spanAttributes(record) },
          parentContext(record),
        )
        if (record.status !== 'success') span.setStatus({ code: SpanStatusCode.ERROR, message: record.error ?? record.status })
        span.end(end)
      } catch (err) {
        // telemetry must never break recording; say so once in a while
        if (failures++ % 1000 === 0) log.warn('otel span export failed', { error: (err as Error).message })
      }
    },
    async shutdown() {
      if (closed) return
      closed = true
      // an unreachable collector is retried with backoff; quitting the app must not wait on it
      let timer: NodeJS.Timeout | undefined
      const limit = options.shutdownTimeoutMillis ?? 3000
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), limit)
        timer.unref()
      })
      try {
        const outcome = await Promise.race([provider.shutdown().then(() => 'done' as const), timedOut])
        if (outcome === 'timeout') log.warn('otel shutdown gave up waiting for the collector; unsent spans are dropped', { waited_ms: limit })
      } catch (err) {
        log.warn('otel shutdown failed', { error: (err as Error).message })
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
