import type { Writable } from 'node:stream'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { safeParse } from '@modelcontextprotocol/sdk/server/zod-compat.js'
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CallToolResultSchema,
  ErrorCode,
  type JSONRPCMessage,
  LoggingMessageNotificationSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import type { ServerConfig } from '../config/schema'
import { isStdioServer } from '../config/schema'
import { CoreError } from '../errors'
import type { Logger } from '../logger'
import type { ConnectionState, ServerProtocol } from '../../shared/servers'
import { maskLine, StderrRing } from './stderr-ring'
import { isPlainResultResponse, isPlainTextToolResult, lineSplitter, MAX_LINE_BYTES } from './json-lines'
import type { CallOptions } from './types'

export type ListKind = 'tools' | 'prompts' | 'resources'

export interface ConnectionHooks {
  /** every state change, after the fields (lastError, failures, retryInMs) are updated */
  onState(conn: UpstreamConnection, previous: ConnectionState): void
  /**
   * a list was (re)read after connecting or a list_changed notification; throwing (the tools
   * could not be pinned) drops the connection, which is retried with the backoff
   */
  onLists(conn: UpstreamConnection, kinds: ListKind[]): void
}

export interface ConnectionOptions {
  logger: Logger
  /** initialize and the first listing must finish within this (default 30 s) */
  connectTimeoutMs?: number
  /** reconnect delay: initialMs doubling up to maxMs, ±20 % jitter (default 1 s → 60 s) */
  backoff?: { initialMs: number; maxMs: number }
  clientInfo?: { name: string; version: string }
  stderrLines?: number
  /** a ring owned by the caller, so the lines outlive this connection */
  ring?: StderrRing
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000
const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 60_000 }
/** a connection that lived this long resets the backoff; one that dies sooner keeps doubling it */
const STABLE_MS = 30_000
/** after stdin is closed, how long a stdio server gets before SIGTERM (the SDK adds SIGKILL later) */
const STDIO_GRACE_MS = 500

interface Live {
  client: Client
  transport: Transport
  protocol: Exclude<ServerProtocol, 'auto'>
}

/**
 * One upstream server: a connection attempt loop with exponential backoff, its catalogue (tools,
 * prompts, resources), its stderr ring, and requests with timeouts. The manager owns policy
 * (pins, quarantine, recording); this class only talks MCP.
 */
export class UpstreamConnection {
  state: ConnectionState = 'disconnected'
  lastError: string | undefined
  failures = 0
  everConnected = false
  retryAt: number | undefined
  activeProtocol: Exclude<ServerProtocol, 'auto'> | undefined
  tools: Tool[] = []
  prompts: Prompt[] = []
  resources: Resource[] = []
  /** listed with the resources (the same capability and list_changed notification) */
  resourceTemplates: ResourceTemplate[] = []
  /** what onLists threw when the connection was last dropped for it; cleared by the next other failure or by ready */
  reviewError: unknown
  readonly ring: StderrRing

  private live: Live | null = null
  /** backoff exponent: failed attempts plus connections that died young, since the last stable one */
  private streak = 0
  private readyAt: number | undefined
  /** the last stderr line of the current process, to say why it died */
  private lastStderr: string | undefined
  private pending: Transport | null = null
  private generation = 0
  private timer: NodeJS.Timeout | null = null
  private relist: Promise<void> = Promise.resolve()
  private readonly waiters = new Set<() => void>()
  private readonly opts: Required<Omit<ConnectionOptions, 'logger' | 'ring'>> & { logger: Logger }

  constructor(
    readonly name: string,
    public config: ServerConfig,
    private readonly hooks: ConnectionHooks,
    options: ConnectionOptions,
  ) {
    this.opts = {
      logger: options.logger,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      clientInfo: options.clientInfo ?? { name: 'mcpproxy', version: '0.1.0' },
      stderrLines: options.stderrLines ?? 500,
    }
    this.ring = options.ring ?? new StderrRing(this.opts.stderrLines)
  }

  get retryInMs(): number | undefined {
    return this.retryAt === undefined ? undefined : Math.max(0, this.retryAt - Date.now())
  }

  get connected(): boolean {
    return this.state === 'ready' && this.live !== null
  }

  get protocol(): ServerProtocol {
    return isStdioServer(this.config) ? 'stdio' : (this.activeProtocol ?? this.config.protocol)
  }

  /** Starts connecting in the background; the state tells how it goes. */
  start(): void {
    this.failures = 0
    this.streak = 0
    this.readyAt = undefined
    this.everConnected = false
    this.lastError = undefined
    this.reviewError = undefined
    const gen = ++this.generation
    this.run(gen)
  }

  /** Closes the client and ends the process; no reconnect follows. */
  async stop(): Promise<void> {
    this.generation++
    this.clearTimer()
    const live = this.live
    const pending = this.pending
    this.live = null
    this.pending = null
    this.tools = []
    this.prompts = []
    this.resources = []
    this.resourceTemplates = []
    this.activeProtocol = undefined
    this.reviewError = undefined
    this.setState('stopped')
    await Promise.all([live && closeTransport(live.transport), pending && closeTransport(pending)])
  }

  async restart(): Promise<void> {
    await this.stop()
    this.ring.note(`[mcpproxy] restarting`)
    this.start()
  }

  /** Resolves with the client once ready; waits while a first attempt is under way. */
  async readyClient(timeoutMs: number, signal?: AbortSignal): Promise<Client> {
    if (this.live && this.state === 'ready') return this.live.client
    if (this.state === 'connecting') {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          if (this.state === 'connecting') return
          cleanup()
          resolve()
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new CoreError('UPSTREAM_TIMEOUT', `server ${this.name} did not finish connecting within ${timeoutMs} ms`))
        }, timeoutMs)
        const onAbort = (): void => {
          cleanup()
          reject(new CoreError('UPSTREAM_ERROR', `the call to server ${this.name} was cancelled`, { cancelled: true }))
        }
        const cleanup = (): void => {
          clearTimeout(timer)
          this.waiters.delete(done)
          signal?.removeEventListener('abort', onAbort)
        }
        this.waiters.add(done)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
      if (this.live && (this.state as ConnectionState) === 'ready') return this.live.client
    }
    throw new CoreError('UPSTREAM_ERROR', `server ${this.name} is not connected${this.describeDown()}`, { state: this.state })
  }

  /**
   * Runs one request on the live client with the caller's timeout and abort signal, turning SDK
   * failures into CoreErrors that say what happened (timeout, exit mid-call, JSON-RPC error).
   */
  async request<T>(what: string, options: CallOptions, run: (client: Client, opts: RequestOptions) => Promise<T>): Promise<T> {
    if (options.signal?.aborted) throw new CoreError('UPSTREAM_ERROR', `${what} on server ${this.name} was cancelled`, { cancelled: true })
    const started = Date.now()
    const client = await this.readyClient(options.timeoutMs, options.signal)
    // time spent waiting for a connection counts against the caller's timeout
    const timeout = Math.max(1, options.timeoutMs - (Date.now() - started))
    try {
      return await run(client, { timeout, signal: options.signal })
    } catch (err) {
      throw this.describeFailure(err, what, client, options)
    }
  }

  private describeFailure(err: unknown, what: string, client: Client, options: CallOptions): CoreError {
    if (err instanceof CoreError) return err
    if (options.signal?.aborted) {
      return new CoreError('UPSTREAM_ERROR', `${what} on server ${this.name} was cancelled`, { cancelled: true })
    }
    const lost = this.live?.client !== client
    if (err instanceof McpError) {
      if (err.code === ErrorCode.RequestTimeout) {
        return new CoreError('UPSTREAM_TIMEOUT', `${what} on server ${this.name} timed out after ${options.timeoutMs} ms`, {
          timeout_ms: options.timeoutMs,
        })
      }
      if (err.code === ErrorCode.ConnectionClosed || lost) {
        const how = this.protocol === 'stdio' ? 'exited' : 'closed the connection'
        return new CoreError('UPSTREAM_ERROR', `server ${this.name} ${how} during the call (${what})${this.describeDown()}`, {
          exited: true,
        })
      }
      return new CoreError('UPSTREAM_ERROR', `server ${this.name}: ${err.message}`, { rpc_code: err.code, rpc_data: err.data })
    }
    const message = err instanceof Error ? err.message : String(err)
    return new CoreError('UPSTREAM_ERROR', `${what} on server ${this.name} failed: ${message}`)
  }

  private describeDown(): string {
    const parts: string[] = []
    if (this.lastError) parts.push(this.lastError)
    const retry = this.retryInMs
    if (this.state === 'backoff' && retry !== undefined) parts.push(`reconnecting in ${Math.ceil(retry / 1000)} s`)
    else if (this.state === 'connecting') parts.push('reconnecting')
    return parts.length ? `: ${parts.join('; ')}` : ''
  }

  private setState(next: ConnectionState): void {
    const previous = this.state
    if (next !== 'backoff') this.retryAt = undefined
    this.state = next
    if (previous === next) return
    for (const w of [...this.waiters]) w()
    this.hooks.onState(this, previous)
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** Runs an attempt; whatever it throws unexpectedly is logged and retried, never left an unhandled rejection. */
  private run(gen: number): void {
    this.attempt(gen).catch((err: unknown) => {
      this.opts.logger.error('upstream connection attempt failed unexpectedly', { server: this.name, error: errorMessage(err) })
      try {
        if (gen === this.generation && this.state !== 'backoff') this.drop(gen, errorMessage(err))
      } catch {
        // logged above; the next start or restart tries again
      }
    })
  }

  private async attempt(gen: number): Promise<void> {
    this.clearTimer()
    this.setState('connecting')
    let live: Live
    try {
      live = await this.connectAny(gen)
    } catch (err) {
      if (gen !== this.generation) return
      const message = errorMessage(err)
      this.fail(gen, this.lastStderr ? `${message}; last stderr: ${maskLine(this.lastStderr)}` : message)
      return
    }
    if (gen !== this.generation) {
      await closeTransport(live.transport)
      return
    }
    this.live = live
    this.activeProtocol = live.protocol
    this.failures = 0
    this.lastError = undefined
    this.everConnected = true
    this.readyAt = Date.now()
    this.ring.note(`[mcpproxy] connected over ${live.protocol}`)
    // pins and the poisoning scan settle before anyone sees the server as ready
    if (!this.reviewed(gen, ['tools', 'prompts', 'resources'])) return
    this.reviewError = undefined
    this.setState('ready')
  }

  /**
   * Hands new lists to the manager (pins, the poisoning scan). When that throws (the pins cannot
   * be written: a full disk), the tools cannot be trusted: the connection is dropped and retried
   * with the backoff like a failed connect, so none of its tools is callable until a review
   * succeeds (fail closed). Never throws.
   */
  private reviewed(gen: number, kinds: ListKind[]): boolean {
    try {
      this.hooks.onLists(this, kinds)
      return true
    } catch (err) {
      // the manager logged why; the ring notes the failure (fail)
      if (gen === this.generation) this.drop(gen, err instanceof Error ? err.message : String(err), err)
      return false
    }
  }

  /** Tries each transport the config allows (auto: streamable HTTP, then SSE). */
  private async connectAny(gen: number): Promise<Live> {
    const kinds: Array<Live['protocol']> = isStdioServer(this.config)
      ? ['stdio']
      : this.config.protocol === 'auto'
        ? ['http', 'sse']
        : [this.config.protocol]
    const errors: string[] = []
    for (const kind of kinds) {
      if (gen !== this.generation) break
      try {
        return await this.connectWith(kind, gen)
      } catch (err) {
        errors.push(kinds.length > 1 ? `${kind}: ${errorMessage(err)}` : errorMessage(err))
      }
    }
    throw new Error(errors.join('; '))
  }

  private async connectWith(kind: Live['protocol'], gen: number): Promise<Live> {
    const transport = this.makeTransport(kind)
    const client = new Client(this.opts.clientInfo, { capabilities: {} })
    client.onerror = (err): void => {
      if (gen !== this.generation) return
      this.ring.note(`[mcpproxy] protocol error: ${errorMessage(err)}`)
      this.opts.logger.debug('upstream protocol error', { server: this.name, error: errorMessage(err) })
    }
    client.onclose = (): void => {
      if (gen === this.generation && this.live?.client === client) this.lost(gen)
    }
    const relist = (kind: ListKind) => (): void => {
      if (gen !== this.generation || this.live?.client !== client) return
      this.relist = this.relist.then(() => this.listKinds(client, [kind], gen)).catch((err: unknown) => {
        this.ring.note(`[mcpproxy] re-listing ${kind} failed: ${errorMessage(err)}`)
      })
    }
    client.setNotificationHandler(ToolListChangedNotificationSchema, relist('tools'))
    client.setNotificationHandler(PromptListChangedNotificationSchema, relist('prompts'))
    client.setNotificationHandler(ResourceListChangedNotificationSchema, relist('resources'))
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      const data = typeof n.params.data === 'string' ? n.params.data : JSON.stringify(n.params.data)
      this.ring.note(`[${n.params.level}]${n.params.logger ? ` ${n.params.logger}:` : ''} ${data}`)
    })

    this.pending = transport
    const timeout = this.opts.connectTimeoutMs
    try {
      await withTimeout(
        (async () => {
          await client.connect(transport, { timeout })
          await this.listKinds(client, ['tools', 'prompts', 'resources'], gen, false)
        })(),
        timeout,
        `no answer to initialize within ${timeout} ms`,
      )
    } catch (err) {
      await closeTransport(transport)
      throw err
    } finally {
      if (this.pending === transport) this.pending = null
    }
    if (transport instanceof StdioClientTransport) leanHotPath(client, transport)
    return { client, transport, protocol: kind }
  }

  private makeTransport(kind: Live['protocol']): Transport {
    const cfg = this.config
    if (isStdioServer(cfg)) {
      const transport = new StdioClientTransport({
        command: cfg.command,
        args: cfg.args,
        env: cfg.env,
        cwd: cfg.cwd ? cfg.cwd : undefined,
        stderr: 'pipe',
      })
      this.lastStderr = undefined
      transport.stderr?.on('data', (chunk: Buffer) => {
        this.ring.write(chunk)
        const lines = chunk.toString().split(/\r?\n/).filter((l) => l.trim())
        if (lines.length) this.lastStderr = lines[lines.length - 1]!.slice(0, 500)
      })
      coalesceStdinWrites(transport)
      leanReader(transport)
      return transport
    }
    const url = new URL(cfg.url)
    const requestInit = { headers: cfg.headers }
    return kind === 'sse' ? new SSEClientTransport(url, { requestInit }) : new StreamableHTTPClientTransport(url, { requestInit })
  }

  /** Reads the given lists (all pages). Servers without a capability get an empty list. */
  private async listKinds(client: Client, kinds: ListKind[], gen: number, notify = true): Promise<void> {
    const caps = client.getServerCapabilities() ?? {}
    const options: RequestOptions = { timeout: this.opts.connectTimeoutMs }
    /** a failed optional list is noted in the ring and read as empty */
    const optional = async <T>(what: string, read: () => Promise<T[]>): Promise<T[]> => {
      try {
        return await read()
      } catch (err) {
        this.ring.note(`[mcpproxy] listing ${what} failed: ${errorMessage(err)}`)
        return []
      }
    }
    for (const kind of kinds) {
      if (kind === 'tools') {
        const tools = caps.tools ? await allPages((p) => client.listTools(p, options), (page) => page.tools) : []
        if (gen !== this.generation) return
        this.tools = tools
      } else if (kind === 'prompts') {
        const prompts = caps.prompts ? await optional('prompts', () => allPages((p) => client.listPrompts(p, options), (page) => page.prompts)) : []
        if (gen !== this.generation) return
        this.prompts = prompts
      } else {
        const resources = caps.resources
          ? await optional('resources', () => allPages((p) => client.listResources(p, options), (page) => page.resources))
          : []
        const templates = caps.resources
          ? await optional('resource templates', () => allPages((p) => client.listResourceTemplates(p, options), (page) => page.resourceTemplates))
          : []
        if (gen !== this.generation) return
        this.resources = resources
        this.resourceTemplates = templates
      }
    }
    if (notify) this.reviewed(gen, kinds)
  }

  /** The live connection went away (process exit, HTTP stream closed). */
  private lost(gen: number): void {
    const what = this.protocol === 'stdio' ? 'process exited' : 'connection closed'
    this.ring.note(`[mcpproxy] ${what}`)
    this.drop(gen, this.lastStderr ? `${what}; last stderr: ${maskLine(this.lastStderr)}` : what)
  }

  /** Gives up the live connection (if any) as failed, to be retried with the backoff. */
  private drop(gen: number, message: string, reviewError?: unknown): void {
    const live = this.live
    this.live = null
    this.fail(gen, message, reviewError)
    if (live) void closeTransport(live.transport)
  }

  private fail(gen: number, message: string, reviewError?: unknown): void {
    if (gen !== this.generation) return
    this.reviewError = reviewError
    this.failures++
    if (this.readyAt !== undefined && Date.now() - this.readyAt >= STABLE_MS) this.streak = 0
    this.readyAt = undefined
    this.streak++
    this.lastError = message
    this.ring.note(`[mcpproxy] connection failed: ${message}`)
    const { initialMs, maxMs } = this.opts.backoff
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.streak - 1, 20))
    const delay = Math.round(base * (0.8 + Math.random() * 0.4))
    this.retryAt = Date.now() + delay
    this.setState('backoff')
    this.clearTimer()
    this.timer = setTimeout(() => {
      if (gen === this.generation) this.run(gen)
    }, delay)
    this.timer.unref()
  }
}

/**
 * Messages sent in the same turn of the event loop (calls arriving together from many clients)
 * go to the server's stdin in one write: fewer syscalls, and the server wakes once to read them.
 * The SDK's send() writes each message itself; its stdin (a private field) is corked until this
 * turn's promise chains are done (process.nextTick, as Node's documentation of cork() does), so
 * the request leaves before any setImmediate work. Without that field, sends are left as they are.
 */
function coalesceStdinWrites(transport: StdioClientTransport): void {
  const send = transport.send.bind(transport)
  let corked: Writable | null = null
  const flush = (): void => {
    const stdin = corked
    corked = null
    stdin?.uncork()
  }
  transport.send = (message: Parameters<StdioClientTransport['send']>[0]): Promise<void> => {
    if (!corked) {
      const stdin = (transport as unknown as { _process?: { stdin?: Writable | null } })._process?.stdin
      if (stdin && !stdin.destroyed) {
        stdin.cork()
        corked = stdin
        process.nextTick(flush)
      }
    }
    return send(message)
  }
}

/**
 * The stdio transport's read buffer (a private field), without the SDK's zod parse of every
 * message: each line is JSON.parse'd and classified once, by the client's own dispatch. It keeps
 * the SDK's contract: readMessage() returns null when no whole line is left and throws for a line
 * that is not JSON (reported through onerror); append() throws past the size limit (the
 * transport then closes). Without that field, the transport is left as it is.
 */
function leanReader(transport: StdioClientTransport): void {
  const t = transport as unknown as { _readBuffer?: { append(c: Buffer): void; readMessage(): unknown; clear(): void } }
  if (!t._readBuffer) return
  let lines: Buffer[] = []
  let next = 0
  let split = lineSplitter((line) => lines.push(line), MAX_LINE_BYTES)
  t._readBuffer = {
    append: (chunk) => split(chunk),
    readMessage: () => {
      if (next >= lines.length) {
        lines = []
        next = 0
        return null
      }
      const line = lines[next++]!
      return JSON.parse(line.toString('utf8')) as unknown
    },
    clear: () => {
      lines = []
      next = 0
      split = lineSplitter((line) => lines.push(line), MAX_LINE_BYTES)
    },
  }
}

interface LeanCall {
  resolve(result: unknown): void
  reject(err: Error): void
  timer: NodeJS.Timeout
  signal?: AbortSignal
  onAbort?: () => void
  schema: Parameters<Client['request']>[1]
}

type SdkInternals = { _requestMessageId?: unknown; _onresponse?: (m: JSONRPCMessage) => void }

/**
 * The hot path of a stdio upstream, without the SDK's per-message work (its zod passes cost a
 * noticeable share of a relayed call):
 * - answers to the client's own requests go straight to its response handling (Protocol's
 *   `_onresponse`), skipping the classification of each message;
 * - a plain tools/call (no progress, task or related-request options) is sent and settled here,
 *   with ids from the client's own counter (`_requestMessageId`), the SDK's timeout and
 *   cancellation behaviour (notifications/cancelled on timeout or abort, McpError RequestTimeout,
 *   ConnectionClosed when the transport closes) and the result parsed with the caller's schema.
 * Everything else (notifications, errors of other requests, requests from the server, odd
 * messages, other requests) takes the SDK's way. Without those private members nothing changes.
 */
function leanHotPath(client: Client, transport: Transport): void {
  const sdk = client as unknown as SdkInternals
  const sdkMessage = transport.onmessage
  if (typeof sdk._onresponse !== 'function' || typeof sdk._requestMessageId !== 'number' || !sdkMessage) return
  const onresponse = sdk._onresponse
  const calls = new Map<number, LeanCall>()

  const settle = (id: number, m: { result?: unknown; error?: { code: number; message: string; data?: unknown } }): void => {
    const call = calls.get(id)!
    calls.delete(id)
    clearTimeout(call.timer)
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort)
    if (m.error) return call.reject(McpError.fromError(m.error.code, m.error.message, m.error.data))
    if (call.schema === CallToolResultSchema && isPlainTextToolResult(m.result)) return call.resolve(m.result)
    const parsed = safeParse(call.schema, m.result)
    if (parsed.success) call.resolve(parsed.data)
    else call.reject(parsed.error as Error)
  }

  const cancel = (id: number, reason: Error): void => {
    const call = calls.get(id)
    if (!call) return
    calls.delete(id)
    clearTimeout(call.timer)
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort)
    transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: String(reason) } }).catch((err: unknown) => {
      transport.onerror?.(new Error(`Failed to send cancellation: ${errorMessage(err)}`))
    })
    call.reject(reason)
  }

  transport.onmessage = (message, extra) => {
    const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } }
    if (typeof m.id === 'number' && m.method === undefined && calls.has(m.id) && (isPlainResultResponse(m) || isPlainObject(m.error))) settle(m.id, m)
    else if (isPlainResultResponse(message)) onresponse.call(client, message)
    else sdkMessage(message, extra)
  }
  const sdkClose = transport.onclose
  transport.onclose = () => {
    sdkClose?.()
    const closed = McpError.fromError(ErrorCode.ConnectionClosed, 'Connection closed')
    for (const [id, call] of [...calls]) {
      calls.delete(id)
      clearTimeout(call.timer)
      if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort)
      call.reject(closed)
    }
  }

  const sdkRequest = client.request.bind(client)
  client.request = ((request: Parameters<Client['request']>[0], schema: Parameters<Client['request']>[1], options?: RequestOptions) => {
    const o = options ?? {}
    const plain =
      request.method === 'tools/call' && !o.onprogress && !o.task && !o.relatedTask && o.relatedRequestId === undefined && !o.resetTimeoutOnProgress && o.maxTotalTimeout === undefined
    if (!plain || typeof sdk._requestMessageId !== 'number') return sdkRequest(request, schema, options)
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(o.signal.reason instanceof Error ? o.signal.reason : new Error(String(o.signal.reason)))
      const id = (sdk._requestMessageId as number)++
      const timeout = o.timeout ?? 60_000
      const call: LeanCall = {
        resolve,
        reject,
        schema,
        signal: o.signal,
        timer: setTimeout(() => cancel(id, McpError.fromError(ErrorCode.RequestTimeout, 'Request timed out', { timeout })), timeout),
      }
      if (o.signal) {
        const signal = o.signal
        call.onAbort = () => cancel(id, signal.reason instanceof McpError ? signal.reason : new McpError(ErrorCode.RequestTimeout, String(signal.reason)))
        signal.addEventListener('abort', call.onAbort, { once: true })
      }
      calls.set(id, call)
      transport.send({ ...request, jsonrpc: '2.0', id } as JSONRPCMessage).catch((err: unknown) => {
        if (!calls.has(id)) return
        calls.delete(id)
        clearTimeout(call.timer)
        if (call.onAbort) o.signal!.removeEventListener('abort', call.onAbort)
        reject(err instanceof Error ? err : new Error(String(err)))
      })
    })
  }) as Client['request']
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Every page of a paginated list request. */
async function allPages<P extends { nextCursor?: string }, T>(
  request: (params: { cursor: string } | undefined) => Promise<P>,
  items: (page: P) => T[],
): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  do {
    const page = await request(cursor ? { cursor } : undefined)
    out.push(...items(page))
    cursor = page.nextCursor
  } while (cursor)
  return out
}

async function closeTransport(transport: Transport): Promise<void> {
  const pid = transport instanceof StdioClientTransport ? transport.pid : null
  // stdin closed first (in transport.close); a server that ignores it gets SIGTERM soon after
  const term = pid
    ? setTimeout(() => {
        try {
          process.kill(pid, 'SIGTERM')
        } catch {
          // already gone
        }
      }, STDIO_GRACE_MS)
    : null
  try {
    await transport.close()
  } catch {
    // closing a broken transport can throw; the process is handled by the timers above
  } finally {
    if (term) clearTimeout(term)
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message
  }
  return String(err)
}
