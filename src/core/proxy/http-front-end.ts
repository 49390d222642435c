import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js'
import { isJSONRPCRequest, type JSONRPCMessage, type JSONRPCRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js'
import { createAggregatedServer, requestDispatcher, type ProxyContext } from './aggregated-server'
import { lookupPeerProcess } from './peer-process'
import { isJsonRpcMessage, isPlainRequest } from './json-lines'
import type { CallerContext } from './types'

const SESSION_HEADER = 'mcp-session-id'

type Message = JSONRPCMessage & { id?: RequestId; method?: string; result?: unknown; error?: unknown }

const idKey = (id: RequestId): string => (typeof id === 'number' ? `n${id}` : `s${id}`)

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string, id: RequestId | null = null): void {
  if (res.headersSent) {
    res.end()
    return
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

const isRequest = (m: Message): boolean => typeof m.method === 'string' && m.id !== undefined && m.id !== null

/**
 * One POST waiting for its responses. Answers as one JSON body when the client accepts JSON and
 * nothing else is sent meanwhile; switches to an SSE stream when the server sends a related
 * notification (progress, logging) and the client accepts text/event-stream.
 */
class Exchange {
  private readonly waiting = new Set<string>()
  private readonly collected: JSONRPCMessage[] = []
  private sse = false
  finished = false

  constructor(
    private readonly res: ServerResponse,
    private readonly sessionId: string,
    private readonly batch: boolean,
    private readonly acceptsJson: boolean,
    private readonly acceptsSse: boolean,
  ) {}

  expect(id: RequestId): void {
    this.waiting.add(idKey(id))
  }

  get open(): number {
    return this.waiting.size
  }

  deliver(message: Message): void {
    this.waiting.delete(idKey(message.id!))
    if (this.sse) {
      this.writeEvent(message)
      if (this.waiting.size === 0) this.end()
      return
    }
    this.collected.push(message)
    if (this.waiting.size > 0) return
    if (!this.acceptsJson) {
      this.startSse()
      for (const m of this.collected) this.writeEvent(m)
      this.end()
      return
    }
    const body = JSON.stringify(this.batch ? this.collected : this.collected[0])
    this.finished = true
    this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [SESSION_HEADER]: this.sessionId })
    this.res.end(body)
  }

  /** a notification or request the server sent while handling this POST's requests */
  related(message: JSONRPCMessage): boolean {
    if (!this.acceptsSse || this.finished) return false
    if (!this.sse) {
      this.startSse()
      for (const m of this.collected) this.writeEvent(m)
      this.collected.length = 0
    }
    this.writeEvent(message)
    return true
  }

  private startSse(): void {
    this.sse = true
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', [SESSION_HEADER]: this.sessionId })
  }

  private writeEvent(message: JSONRPCMessage): void {
    this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
  }

  private end(): void {
    this.finished = true
    this.res.end()
  }

  abandon(): void {
    this.finished = true
    if (!this.res.writableEnded) this.res.end()
  }
}

/**
 * A lean streamable-HTTP server transport for one session (the SDK's own converts every request
 * to web-standard objects and back, about 1 ms of CPU per call). Request ids are tracked per
 * session, so two clients using the same ids never see each other's responses.
 */
export class HttpSessionTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  /**
   * Hands a well-formed request straight to the server's request dispatch, skipping the SDK's
   * zod classification of every incoming message (several schema parses, the failing ones costly).
   */
  dispatchRequest?: (request: JSONRPCRequest) => void
  readonly sessionId: string
  lastActivity = Date.now()
  private readonly inflight = new Map<string, Exchange>()
  private standalone: ServerResponse | null = null
  private closed = false

  constructor(sessionId: string) {
    this.sessionId = sessionId
  }

  async start(): Promise<void> {}

  get hasStream(): boolean {
    return this.standalone !== null
  }

  /** POST: dispatches the messages; the response is written when their answers arrive */
  post(req: IncomingMessage, res: ServerResponse, messages: Message[], batch: boolean): void {
    this.lastActivity = Date.now()
    const accept = String(req.headers.accept ?? '')
    const acceptsSse = accept.includes('text/event-stream')
    const acceptsJson = !accept || accept.includes('application/json') || accept.includes('*/*') || !acceptsSse
    const requests = messages.filter(isRequest)
    if (requests.length === 0) {
      res.writeHead(202, { [SESSION_HEADER]: this.sessionId })
      res.end()
      for (const m of messages) this.onmessage?.(m)
      return
    }
    const exchange = new Exchange(res, this.sessionId, batch, acceptsJson, acceptsSse)
    for (const m of requests) {
      // the SDK silently drops a request it cannot classify; answer it instead of letting the client hang
      if (!isPlainRequest(m) && !isJSONRPCRequest(m)) {
        jsonRpcError(res, 400, -32600, `Invalid Request: request ${String(m.id)} is not a valid JSON-RPC 2.0 request`, m.id!)
        return
      }
      const key = idKey(m.id!)
      if (this.inflight.has(key)) {
        jsonRpcError(res, 409, -32600, `request id ${String(m.id)} is already in flight in this session`, m.id!)
        return
      }
    }
    for (const m of requests) {
      exchange.expect(m.id!)
      this.inflight.set(idKey(m.id!), exchange)
    }
    res.on('close', () => {
      if (exchange.finished) return
      // the client went away: cancel what it was waiting for so upstream work stops too
      for (const m of requests) {
        const key = idKey(m.id!)
        if (this.inflight.get(key) !== exchange) continue
        this.inflight.delete(key)
        this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: m.id!, reason: 'client disconnected' } })
      }
      exchange.abandon()
    })
    for (const m of messages) {
      if (this.dispatchRequest && isPlainRequest(m)) this.dispatchRequest(m)
      else this.onmessage?.(m)
    }
  }

  /** GET: the standalone SSE stream for server-initiated messages */
  stream(res: ServerResponse): void {
    this.lastActivity = Date.now()
    if (this.standalone) {
      jsonRpcError(res, 409, -32000, 'Conflict: this session already has an open SSE stream')
      return
    }
    this.standalone = res
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', [SESSION_HEADER]: this.sessionId })
    res.write(': connected\n\n')
    res.on('close', () => {
      if (this.standalone === res) this.standalone = null
      this.lastActivity = Date.now()
    })
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return
    const m = message as Message
    if (m.id !== undefined && m.id !== null && ('result' in m || 'error' in m)) {
      const key = idKey(m.id)
      const exchange = this.inflight.get(key)
      if (!exchange) return // the client disconnected; nothing to answer
      this.inflight.delete(key)
      exchange.deliver(m)
      return
    }
    const related = options?.relatedRequestId
    if (related !== undefined) {
      const exchange = this.inflight.get(idKey(related))
      if (exchange?.related(message)) return
    }
    if (this.standalone) this.standalone.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const exchange of new Set(this.inflight.values())) exchange.abandon()
    this.inflight.clear()
    this.standalone?.end()
    this.standalone = null
    this.onclose?.()
  }
}

export interface McpHttpHandlerOptions {
  /** bodies larger than this get 413 (default 32 MiB) */
  maxBodyBytes?: number
  /** sessions idle this long without an open GET stream are closed (default 30 min) */
  idleTimeoutMs?: number
}

export interface McpHttpHandler {
  /**
   * Serves POST/GET/DELETE /mcp. `parsedBody` may be the parsed JSON, the raw body (Buffer or
   * string, parsed here so bad JSON gets a JSON-RPC parse error), or absent (the body is read).
   */
  handle(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void>
  sessionCount(): number
  close(): Promise<void>
}

interface HttpSession {
  transport: HttpSessionTransport
  caller: CallerContext
}

/** Reads a body of at most `limit` bytes ('too_large' past it, or when Content-Length says so up front). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limit) {
      req.resume()
      resolve('too_large')
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      if (over) return
      size += c.length
      if (size > limit) {
        over = true
        chunks.length = 0
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(over ? 'too_large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Streamable HTTP `/mcp` for many concurrent sessions, keyed by `mcp-session-id`. Usable with node:http directly. */
export function createMcpHttpHandler(ctx: ProxyContext, options: McpHttpHandlerOptions = {}): McpHttpHandler {
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024
  const idleMs = options.idleTimeoutMs ?? 30 * 60_000
  const sessions = new Map<string, HttpSession>()
  const log = ctx.logger.child('mcp-http')

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - idleMs
      for (const s of sessions.values()) {
        if (!s.transport.hasStream && s.transport.lastActivity < cutoff) void s.transport.close()
      }
    },
    Math.min(idleMs, 60_000),
  )
  sweep.unref()

  const open = async (req: IncomingMessage): Promise<HttpSession> => {
    const id = randomUUID()
    const transport = new HttpSessionTransport(id)
    const caller: CallerContext = { sessionId: id, transport: 'http', client: {} }
    const session = ctx.sessions.open(caller.transport, {}, id)
    const server = createAggregatedServer(ctx, session, caller)
    const entry = { transport, caller }
    sessions.set(id, entry)
    transport.onclose = () => {
      sessions.delete(id)
    }
    await server.connect(transport)
    // when the SDK's internals are not as expected, every message takes onmessage
    transport.dispatchRequest = requestDispatcher(server)
    const { remoteAddress, remotePort, localPort } = req.socket
    if (remotePort && localPort && remoteAddress && /^(127\.|::1$|::ffff:127\.)/.test(remoteAddress)) {
      // asked once per session, after the initialize answer is on its way
      setImmediate(() => {
        lookupPeerProcess(remotePort, localPort)
          .then((peer) => {
            if (!peer) return
            caller.client = { ...caller.client, pid: peer.pid, exe: peer.exe }
            session.setClient({ pid: peer.pid, exe: peer.exe })
          })
          .catch((err: Error) => log.debug('peer process lookup failed', { error: err.message }))
      })
    }
    return entry
  }

  const handlePost = async (req: IncomingMessage, res: ServerResponse, parsedBody: unknown): Promise<void> => {
    let body = parsedBody
    // a framework hands over the raw bytes when they are not JSON, so that they get a JSON-RPC parse
    // error; a string is a parsed JSON string (a request that is no object: -32600)
    let raw: Buffer | undefined = Buffer.isBuffer(body) ? body : undefined
    if (body === undefined) {
      const read = await readBody(req, maxBody)
      if (read === 'too_large') return jsonRpcError(res, 413, -32600, `request body larger than ${maxBody} bytes`)
      raw = read
    }
    if (raw !== undefined) {
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch (err) {
        return jsonRpcError(res, 400, -32700, `Parse error: ${(err as Error).message}`)
      }
    }
    const batch = Array.isArray(body)
    const messages = (batch ? body : [body]) as unknown[]
    if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
      return jsonRpcError(res, 400, -32600, 'Invalid Request: expected a JSON-RPC 2.0 message or a batch of them')
    }
    const sessionId = req.headers[SESSION_HEADER]
    let session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined
    const initialize = (messages as Message[]).find((m) => m.method === 'initialize')
    if (initialize) {
      if (batch && messages.length > 1) return jsonRpcError(res, 400, -32600, 'Invalid Request: initialize must not be batched', initialize.id ?? null)
      if (!session) session = await open(req)
    } else if (!session) {
      // the answer names the request when there is one (a stdio client reaching here through the bridge matches answers by id)
      const id = batch ? null : ((messages[0] as Message).id ?? null)
      if (typeof sessionId !== 'string') return jsonRpcError(res, 400, -32000, 'Bad Request: no session yet: send initialize first (no mcp-session-id header)', id)
      return jsonRpcError(res, 404, -32001, 'Session not found: initialize a new session', id)
    }
    session.transport.post(req, res, messages as Message[], batch)
  }

  return {
    async handle(req, res, parsedBody) {
      try {
        switch (req.method) {
          case 'POST':
            return await handlePost(req, res, parsedBody)
          case 'GET': {
            const accept = String(req.headers.accept ?? '')
            if (!accept.includes('text/event-stream')) return jsonRpcError(res, 406, -32000, 'Not Acceptable: GET /mcp needs Accept: text/event-stream')
            const s = sessions.get(String(req.headers[SESSION_HEADER] ?? ''))
            if (!s) return jsonRpcError(res, req.headers[SESSION_HEADER] ? 404 : 400, -32001, 'Session not found')
            return s.transport.stream(res)
          }
          case 'DELETE': {
            const s = sessions.get(String(req.headers[SESSION_HEADER] ?? ''))
            if (!s) return jsonRpcError(res, req.headers[SESSION_HEADER] ? 404 : 400, -32001, 'Session not found')
            await s.transport.close()
            res.writeHead(200)
            res.end()
            return
          }
          default:
            res.writeHead(405, { allow: 'GET, POST, DELETE' })
            res.end()
        }
      } catch (err) {
        log.error('mcp request failed', { error: (err as Error).message })
        jsonRpcError(res, 500, -32603, `Internal error: ${(err as Error).message}`)
      }
    },
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(sweep)
      await Promise.all([...sessions.values()].map((s) => s.transport.close()))
      sessions.clear()
    },
  }
}
