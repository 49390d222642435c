import { randomBytes } from 'node:crypto'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { ActivityStatus, ClientInfo, IntentInfo, PolicyDecisionInfo } from '../../shared/activity'
import type { ActivityRecorder } from '../activity/types'
import { createIdSource, isoTime } from '../activity/writer'
import type { EventBus } from '../events/bus'

/** W3C trace context of one call: the client's trace id when it sent one, our own span id. */
export interface TraceContext {
  traceId: string
  spanId: string
  /** the traceparent to forward upstream (our span as the parent) */
  traceparent: string
}

// one randomBytes call per 4 KiB instead of one per id: ids are made on every call
let pool = Buffer.alloc(0)
let poolAt = 0
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(4096)
    poolAt = 0
  }
  poolAt += bytes
  return pool.toString('hex', poolAt - bytes, poolAt)
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** Takes the trace id from a W3C `traceparent` when valid, otherwise starts a new trace. */
export function traceFrom(meta: Record<string, unknown> | undefined): TraceContext {
  const raw = meta?.traceparent
  let traceId: string | undefined
  let traceFlags = '01'
  if (typeof raw === 'string') {
    const m = TRACEPARENT.exec(raw.trim().toLowerCase())
    if (m && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!)) {
      traceId = m[2]
      traceFlags = m[4]!
    }
  }
  traceId ??= randomHex(16)
  const spanId = randomHex(8)
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${traceFlags}` }
}

/** A duration in ms, to the microsecond, between two readings of a clock in ms. */
export const durationMs = (from: number, to: number): number => Math.round((to - from) * 1000) / 1000

export interface CallStart {
  server: string
  tool: string
  args: Record<string, unknown>
  sessionId?: string
  client?: ClientInfo
  intent?: IntentInfo
  requestId?: string
  trace: TraceContext
  flags?: string[]
}

export interface CallEnd {
  status: Exclude<ActivityStatus, 'pending'>
  result?: CallToolResult
  error?: string
  flags?: string[]
  policy?: PolicyDecisionInfo
}

/** One tool_call in flight: the pending record's id and the moment it started. */
export interface CallHandle {
  readonly id: string
  readonly startedAt: number
  finish(end: CallEnd): void
}

export interface CallRecorder {
  start(call: CallStart): CallHandle
}

function errorText(result: CallToolResult | undefined): string | undefined {
  if (!result?.isError) return undefined
  const first = result.content?.find((c) => c.type === 'text')
  return first && 'text' in first ? String(first.text).slice(0, 2000) : 'tool returned isError'
}

/**
 * Records every tools/call as a `pending` tool_call at start and completes it at the end. Only the
 * id and the start time are taken on the call path: the pending record is queued once the request
 * is on its way upstream, and the completion after the result has been handed back (both
 * setImmediate, in that order), so the client never waits for either. Sizes, token estimates and
 * entities are left to the writer (measureRequest), off this thread where it runs on a worker.
 */
export function createCallRecorder(recorder: ActivityRecorder, bus: EventBus): CallRecorder {
  const newId = createIdSource()
  return {
    start(call) {
      const startedAt = performance.now()
      const now = Date.now()
      const timestamp = isoTime(now)
      const id = newId(now)
      setImmediate(() => {
        recorder.record({
          id,
          type: 'tool_call',
          status: 'pending',
          timestamp,
          server_name: call.server || undefined,
          tool_name: call.tool || undefined,
          session_id: call.sessionId,
          request_id: call.requestId,
          arguments: call.args,
          client: call.client,
          intent: call.intent,
          flags: call.flags,
          trace_id: call.trace.traceId,
          span_id: call.trace.spanId,
        })
        bus.emit('activity.tool_call.started', {
          id,
          server: call.server,
          tool: call.tool,
          session_id: call.sessionId,
          timestamp,
          trace_id: call.trace.traceId,
        })
      })
      let done = false
      return {
        id,
        startedAt,
        finish(end) {
          if (done) return
          done = true
          const duration = durationMs(startedAt, performance.now())
          setImmediate(() => {
            const error = end.error ?? errorText(end.result)
            recorder.complete(id, {
              status: end.status,
              duration_ms: duration,
              response: end.result,
              error,
              flags: end.flags,
              policy: end.policy,
            })
            bus.emit('activity.tool_call.completed', {
              id,
              server: call.server,
              tool: call.tool,
              session_id: call.sessionId,
              timestamp: isoTime(Date.now()),
              trace_id: call.trace.traceId,
              status: end.status,
              duration_ms: duration,
              error,
            })
          })
        },
      }
    },
  }
}
