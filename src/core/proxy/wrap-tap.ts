/**
 * The recording half of `wrap`: it reads copies of the bytes going both ways, pairs each
 * tools/call with its answer and records both as one tool_call, with the session and the
 * client's name from initialize (sizes, token estimates and entities are the writer's: see
 * measureRequest); every other message, either way, is an mcp_message record (a request with
 * its answer, or a notification; metadata names the method and direction); a
 * notifications/cancelled ends the request it names in the log; tools/list answers also go to
 * the tool watch (wrap-tool-watch.ts: poisoning findings, and tools changed, added or removed
 * during the session). It runs where the relay hands it the bytes: on the wrap's
 * recording thread (wrap-worker.ts) or, without one, on the relay's own thread.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js'
import type { ActivityCompletion, ClientInfo } from '../../shared/activity'
import type { ActivityRecorder } from '../activity/types'
import { isoTime } from '../activity/writer'
import type { Logger } from '../logger'
import { classifyTool } from '../security/policy'
import { durationMs, traceFrom } from './call-recorder'
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
  /** record tool calls (and tool changes) only, not the other messages (`wrap --tool-calls-only`) */
  toolCallsOnly?: boolean
  /** the server's command line, for the session's system_start record */
  command?: string[]
  /** the session goes on here from a recording thread that failed (the start record says so) */
  continued?: boolean
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
/** server-to-client requests in flight the tap remembers (they are not timed out) */
const MAX_SERVER_REQUESTS = 1_000

type Direction = 'client_to_server' | 'server_to_client'

/** Wall-clock time in ms, fractional (the relay's reading times and the tap's clock). */
export const now = (): number => performance.timeOrigin + performance.now()

type Rpc = { id?: string | number | null; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message?: string } }

interface Inflight {
  recordId: string
  at: number
}

const key = (id: string | number): string => `${typeof id}:${id}`
/** Ids a request can be paired with its answer by (JSON-RPC: a string or a number). */
const usableId = (id: unknown): id is string | number => typeof id === 'string' || typeof id === 'number'

/** What an answer made of the request it answers, asked at `from` and answered at `to`. */
function outcomeOf(m: Rpc, from: number, to: number): ActivityCompletion {
  const isError = m.error !== undefined || m.result?.isError === true
  return {
    status: isError ? 'error' : 'success',
    duration_ms: durationMs(from, to),
    response: m.error ?? m.result,
    error: m.error ? (m.error.message ?? 'JSON-RPC error') : isError ? firstText(m.result) : undefined,
  }
}

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
  // the client's requests in flight (tool calls and, unless toolCallsOnly, the others), in the order they were made
  const calls = new Map<string, Inflight>()
  // the server's requests to the client in flight (ids of the server's own id space)
  const serverRequests = new Map<string, Inflight>()
  // tools/list requests in flight: whether each asked for the first page (no cursor)
  const listRequests = new Map<string, boolean>()
  const toolWatch = createToolWatch(
    (input) => void recorder.record(input),
    () => ({ server_name: serverName, session_id: sessionId, client }),
  )
  // the initialize request until its answer
  let initialize: { m: Rpc; at: number } | undefined
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

  /**
   * One record of a message that is not a tool call: a request (pending until answered, unless
   * its outcome is given) or a notification.
   */
  const recordMessage = (m: Rpc, at: number, direction: Direction, outcome?: ActivityCompletion): string =>
    recorder.record({
      type: 'mcp_message',
      // a request whose id is neither a string nor a number (null, true) cannot be paired with an answer
      ...(m.id === undefined ? { status: 'success' } : usableId(m.id) ? { status: 'pending' } : { status: 'error', error: `request id ${JSON.stringify(m.id)} is neither a string nor a number: its answer cannot be paired with it` }),
      ...outcome,
      timestamp: isoTime(Math.floor(at)),
      server_name: serverName,
      session_id: sessionId,
      request_id: m.id === undefined ? undefined : String(m.id),
      arguments: m.params,
      client,
      metadata: { transport: 'wrap', method: m.method, direction, kind: m.id === undefined ? 'notification' : 'request' },
    })

  /** Ends the record of a request in flight as an error, at `at`. */
  const fail = (request: Inflight, at: number, error: string): void =>
    recorder.complete(request.recordId, { status: 'error', duration_ms: durationMs(request.at, at), error })

  /**
   * A request in flight whose id a new request takes: the answer that comes can no longer be told
   * apart, so the first one ends in the log now.
   */
  const reused = (map: Map<string, Inflight>, id: string | number, at: number): void => {
    const earlier = map.get(key(id))
    if (!earlier) return
    map.delete(key(id))
    fail(earlier, at, `its id ${JSON.stringify(id)} was taken by a later request before an answer came; the answer cannot be told apart`)
  }

  /** Remembers a request in flight, at the end: the map stays in the order requests were made. */
  const remember = (map: Map<string, Inflight>, id: string | number, entry: Inflight): void => {
    reused(map, id, entry.at)
    map.set(key(id), entry)
  }

  /** notifications/cancelled: the request it names ends in the log now (its answer, if one still comes, is not recorded). */
  const cancelled = (m: Rpc, at: number, fromClient: boolean): void => {
    const id = m.params?.requestId
    if (!usableId(id)) return
    const map = fromClient ? calls : serverRequests
    const call = map.get(key(id))
    if (!call) return
    map.delete(key(id))
    const reason = typeof m.params?.reason === 'string' && m.params.reason ? `: ${m.params.reason}` : ''
    fail(call, at, `cancelled by the ${fromClient ? 'client' : 'server'}${reason}`)
  }

  /** A request the client sent: a tool call, or any other method (recorded as mcp_message unless toolCallsOnly). */
  const clientRequest = (m: Rpc & { method: string; id: string | number }, at: number): void => {
    if (m.method === 'initialize') {
      // recorded once answered: by then the server has given its name
      initialize = { m, at }
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
    }
    if (m.method !== 'tools/call') {
      if (!options.toolCallsOnly) {
        remember(calls, m.id, { recordId: recordMessage(m, at, 'client_to_server'), at })
        watch()
      } else {
        // not followed, but its answer would be taken for the tool call's of the same id
        reused(calls, m.id, at)
      }
      return
    }
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
    remember(calls, m.id, { recordId, at })
    session?.countCall()
    watch()
  }

  /** The server's answer to a client request: what it tells of the server and its tools, then the request's record. */
  const serverAnswer = (m: Rpc & { id: string | number }, at: number): void => {
    const k = key(m.id)
    if (initialize && k === key(initialize.m.id!)) {
      const info = m.result?.serverInfo as { name?: string } | undefined
      if (options.serverName === undefined && info?.name) serverName = info.name
      if (!options.toolCallsOnly) recordMessage(initialize.m, initialize.at, 'client_to_server', outcomeOf(m, initialize.at, at))
      initialize = undefined
      return
    }
    const firstPage = listRequests.get(k)
    if (firstPage !== undefined) {
      listRequests.delete(k)
      if (!m.error && Array.isArray(m.result?.tools)) {
        const tools = m.result.tools as unknown[]
        for (const t of tools as Array<{ name?: unknown; annotations?: ToolAnnotations }>) if (typeof t?.name === 'string') annotations.set(t.name, t.annotations)
        // a listing with more pages names a cursor; null or '' as a cursor ends it too
        const more = typeof m.result.nextCursor === 'string' && m.result.nextCursor !== ''
        try {
          toolWatch.page(tools, firstPage, !more)
        } catch (err) {
          logger.warn('could not record what the server listed', { error: (err as Error).message })
        }
      }
    }
    completeFrom(calls, m, at)
  }

  /** Completes the record of the request `m` answers, if it is in `map`. */
  const completeFrom = (map: Map<string, Inflight>, m: Rpc & { id: string | number }, at: number): void => {
    const call = map.get(key(m.id))
    if (!call) return
    map.delete(key(m.id))
    recorder.complete(call.recordId, outcomeOf(m, call.at, at))
  }

  /** One message either way: a request, a notification or an answer. */
  const message = (m: Rpc, at: number, fromClient: boolean): void => {
    const hasId = usableId(m.id)
    if (typeof m.method === 'string') {
      if (m.method === 'notifications/cancelled') cancelled(m, at, fromClient)
      if (fromClient && hasId) return clientRequest(m as Rpc & { method: string; id: string | number }, at)
      if (options.toolCallsOnly) return
      const recordId = recordMessage(m, at, fromClient ? 'client_to_server' : 'server_to_client')
      // a request of the server's (sampling, roots, elicitation) waits for the client's answer, untimed
      if (hasId) {
        remember(serverRequests, m.id!, { recordId, at })
        if (serverRequests.size > MAX_SERVER_REQUESTS) {
          const [oldest, request] = serverRequests.entries().next().value!
          serverRequests.delete(oldest)
          fail(request, at, `more than ${MAX_SERVER_REQUESTS} of the server's requests waited for the client; this oldest one is no longer followed`)
        }
      }
      return
    }
    if (!hasId) return
    if (fromClient) completeFrom(serverRequests, m as Rpc & { id: string | number }, at)
    else serverAnswer(m as Rpc & { id: string | number }, at)
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
          message(m, at, fromClient)
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

  // the session's start: wrap is a recording process of its own, like a core (recorded again, saying
  // so, when recording moves to the relay's thread: the failed thread may not have written its own)
  recorder.record({
    type: 'system_start',
    status: 'success',
    server_name: serverName,
    session_id: sessionId,
    client,
    metadata: {
      transport: 'wrap',
      pid: process.pid,
      ...(options.command ? { command: options.command } : {}),
      ...(options.continued ? { recording: 'moved to the relay thread: the recording thread failed' } : {}),
    },
  })

  return {
    fromClient: reader(true),
    fromServer: reader(false),
    setClientExe(exe) {
      client = { ...client, exe }
      session?.setClient({ exe })
    },
    end(code, at) {
      for (const call of calls.values()) fail(call, at, `the server exited (code ${code}) before answering`)
      calls.clear()
      for (const request of serverRequests.values()) fail(request, at, `the server exited (code ${code}) before the client answered`)
      serverRequests.clear()
      if (initialize && !options.toolCallsOnly) {
        recordMessage(initialize.m, initialize.at, 'client_to_server', { status: 'error', duration_ms: durationMs(initialize.at, at), error: `the server exited (code ${code}) before answering` })
      }
      initialize = undefined
      if (timer) clearTimeout(timer)
      timer = null
      // the session's end, with what the writer could not keep of it (a burst it fell behind on)
      const { dropped, dropped_by_type } = recorder.stats()
      recorder.record({
        type: 'system_stop',
        status: dropped ? 'error' : 'success',
        error: dropped ? `${dropped} records of this session were not written: the writer fell behind (${Object.entries(dropped_by_type).map(([t, n]) => `${t} ${n}`).join(', ')})` : undefined,
        timestamp: isoTime(Math.floor(at)),
        server_name: serverName,
        session_id: sessionId,
        client,
        metadata: { transport: 'wrap', pid: process.pid, exit_code: code, ...(dropped ? { dropped, dropped_by_type } : {}) },
      })
    },
  }
}
