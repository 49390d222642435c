/**
 * The recording half of `wrap`: it reads copies of the bytes going both ways, pairs each
 * tools/call with its answer and records both as one tool_call, with the session and the
 * client's name from initialize (sizes, token estimates and entities are the writer's: see
 * measureRequest); tools/list answers go to the tool watch (wrap-tool-watch.ts: poisoning
 * findings, and tools changed, added or removed during the session). It runs where the relay hands it the bytes: on the wrap's
 * recording thread (wrap-worker.ts) or, without one, on the relay's own thread.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js'
import type { ClientInfo } from '../../shared/activity'
import type { ActivityRecorder } from '../activity/types'
import { isoTime } from '../activity/writer'
import type { Logger } from '../logger'
import { classifyTool } from '../security/policy'
import { traceFrom } from './call-recorder'
import { createToolWatch } from './wrap-tool-watch'
import { lineSplitter, MAX_LINE_BYTES } from './json-lines'
import type { Session } from './sessions'

/** What the tap is told of its session and server: plain data, which crosses to the recording thread as it is. */
export interface WrapTapConfig {
  sessionId: string
  /** what is known of the client before initialize (its pid) */
  client: ClientInfo
  /** the server name on records; without it, the name the server gives in initialize, else `defaultServerName` */
  serverName?: string
  defaultServerName: string
  sensitiveTools: string[]
  writeTools: string[]
  /** a call without an answer this long is recorded as timeout (call_timeout_ms); its late answer still passes, unrecorded */
  callTimeoutMs?: number
}

export interface WrapTapOptions extends WrapTapConfig {
  recorder: ActivityRecorder
  logger: Logger
  /** the persisted session, when there is one */
  session?: Session
}

export interface WrapTap {
  /** bytes the client sent, read at `at` (ms since the epoch, fractional) */
  fromClient(chunk: Buffer, at: number): void
  /** bytes the server sent, read at `at` */
  fromServer(chunk: Buffer, at: number): void
  /** the client's executable, once known */
  setClientExe(exe: string): void
  /** the server exited with `code` at `at`: the calls it did not answer fail */
  end(code: number, at: number): void
}

/**
 * How late a copy may reach the tap after the relay read it: copies go every
 * WRAP_POST_INTERVAL_MS (10 ms) to a thread that runs below the relay's priority.
 */
const TAP_LAG_MS = 100
/** tools/list requests in flight the tap remembers */
const MAX_LIST_REQUESTS = 1_000

/** Wall-clock time in ms, fractional (the relay's reading times and the tap's clock). */
export const now = (): number => performance.timeOrigin + performance.now()

type Rpc = { id?: string | number | null; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message?: string } }

interface Inflight {
  recordId: string
  at: number
}

const key = (id: string | number): string => `${typeof id}:${id}`
const duration = (from: number, to: number): number => Math.round((to - from) * 1000) / 1000

function firstText(result: Record<string, unknown> | undefined): string {
  const content = result?.content as Array<{ type?: string; text?: string }> | undefined
  return content?.find((c) => c.type === 'text')?.text?.slice(0, 2000) ?? 'tool returned isError'
}

export function createWrapTap(options: WrapTapOptions): WrapTap {
  const { recorder, logger, session, sessionId } = options
  // replaced, never changed in place: the records of a session share one object
  let client: ClientInfo = { ...options.client }
  let serverName = options.serverName ?? options.defaultServerName
  const annotations = new Map<string, ToolAnnotations | undefined>()
  const calls = new Map<string, Inflight>()
  // tools/list requests in flight: whether each asked for the first page (no cursor)
  const listRequests = new Map<string, boolean>()
  const toolWatch = createToolWatch(
    (input) => void recorder.record(input),
    () => ({ server_name: serverName, session_id: sessionId, client }),
  )
  let initializeId: string | undefined
  const timeoutMs = options.callTimeoutMs

  // one timer, for the oldest call in flight (calls are in the order they were made); it waits
  // TAP_LAG_MS past the limit, for an answer relayed in time whose copy is still on its way here
  let timer: NodeJS.Timeout | null = null
  const expire = (): void => {
    timer = null
    const limit = now() - timeoutMs! - TAP_LAG_MS
    for (const [k, call] of calls) {
      if (call.at > limit) break
      calls.delete(k)
      recorder.complete(call.recordId, { status: 'timeout', duration_ms: timeoutMs, error: `no answer within ${timeoutMs} ms` })
    }
    watch()
  }
  const watch = (): void => {
    if (timer || timeoutMs === undefined) return
    const oldest = calls.values().next().value as Inflight | undefined
    if (!oldest) return
    timer = setTimeout(expire, Math.max(0, oldest.at + timeoutMs + TAP_LAG_MS - now()))
    timer.unref()
  }

  const request = (m: Rpc, at: number): void => {
    if (m.id === undefined || m.id === null || typeof m.method !== 'string') return
    if (m.method === 'initialize') {
      initializeId = key(m.id)
      const info = m.params?.clientInfo as { name?: string; version?: string } | undefined
      if (info) {
        client = { ...client, name: info.name, version: info.version }
        session?.setClient({ name: info.name, version: info.version })
      }
      return
    }
    if (m.method === 'tools/list') {
      listRequests.set(key(m.id), m.params?.cursor === undefined)
      // requests a server never answered are forgotten, oldest first
      if (listRequests.size > MAX_LIST_REQUESTS) listRequests.delete(listRequests.keys().next().value!)
      return
    }
    if (m.method !== 'tools/call') return
    const tool = String(m.params?.name ?? '')
    const args = (m.params?.arguments ?? {}) as Record<string, unknown>
    const trace = traceFrom(m.params?._meta as Record<string, unknown> | undefined)
    const { flags } = classifyTool(serverName, tool, annotations.get(tool), { sensitive_tools: options.sensitiveTools, write_tools: options.writeTools })
    const recordId = recorder.record({
      type: 'tool_call',
      status: 'pending',
      timestamp: isoTime(Math.floor(at)),
      server_name: serverName,
      tool_name: tool,
      session_id: sessionId,
      request_id: String(m.id),
      arguments: args,
      client,
      flags: flags.length ? flags : undefined,
      trace_id: trace.traceId,
      span_id: trace.spanId,
      metadata: { transport: 'wrap' },
    })
    // a reused id goes to the end: calls stay in the order they were made
    calls.delete(key(m.id))
    calls.set(key(m.id), { recordId, at })
    session?.countCall()
    watch()
  }

  const answer = (m: Rpc, at: number): void => {
    if (m.id === undefined || m.id === null || m.method !== undefined) return
    const k = key(m.id)
    if (k === initializeId) {
      const info = m.result?.serverInfo as { name?: string } | undefined
      if (options.serverName === undefined && info?.name) serverName = info.name
      return
    }
    const firstPage = listRequests.get(k)
    if (firstPage !== undefined) {
      listRequests.delete(k)
      if (m.error || !Array.isArray(m.result?.tools)) return
      const tools = m.result.tools as unknown[]
      for (const t of tools as Array<{ name?: unknown; annotations?: ToolAnnotations }>) if (typeof t?.name === 'string') annotations.set(t.name, t.annotations)
      // a listing with more pages names a cursor; null or '' as a cursor ends it too
      const more = typeof m.result.nextCursor === 'string' && m.result.nextCursor !== ''
      try {
        toolWatch.page(tools, firstPage, !more)
      } catch (err) {
        logger.warn('could not record what the server listed', { error: (err as Error).message })
      }
      return
    }
    const call = calls.get(k)
    if (!call) return
    calls.delete(k)
    const isError = m.error !== undefined || m.result?.isError === true
    recorder.complete(call.recordId, {
      status: isError ? 'error' : 'success',
      duration_ms: duration(call.at, at),
      response: m.error ?? m.result,
      error: m.error ? (m.error.message ?? 'JSON-RPC error') : isError ? firstText(m.result) : undefined,
    })
  }

  const reader = (fromClient: boolean): ((chunk: Buffer, at: number) => void) => {
    let at = 0
    const onLine = (line: Buffer): void => {
      let parsed: Rpc | Rpc[]
      try {
        parsed = JSON.parse(line.toString('utf8')) as Rpc | Rpc[]
      } catch {
        logger.warn(fromClient ? 'client sent a line that is not JSON' : 'server wrote a line that is not JSON', { bytes: line.length })
        return
      }
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (!m || typeof m !== 'object') continue
        // whatever a message holds, recording it never ends the relay
        try {
          if (fromClient) request(m, at)
          else answer(m, at)
        } catch (err) {
          logger.warn(fromClient ? 'could not record a message from the client' : 'could not record a message from the server', { error: (err as Error).message })
        }
      }
    }
    // a line past the limit is relayed but not recorded; the lines after it are read as usual
    const split = lineSplitter(onLine, MAX_LINE_BYTES, (bytes) => logger.warn('a line too long to record', { bytes, limit: MAX_LINE_BYTES }))
    return (chunk, chunkAt) => {
      at = chunkAt
      split(chunk)
    }
  }

  return {
    fromClient: reader(true),
    fromServer: reader(false),
    setClientExe(exe) {
      client = { ...client, exe }
      session?.setClient({ exe })
    },
    end(code, at) {
      for (const call of calls.values()) {
        recorder.complete(call.recordId, { status: 'error', duration_ms: duration(call.at, at), error: `the server exited (code ${code}) before answering` })
      }
      calls.clear()
      if (timer) clearTimeout(timer)
      timer = null
    },
  }
}
