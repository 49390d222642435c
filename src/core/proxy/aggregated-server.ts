import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type JSONRPCRequest,
  type RequestId,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import { IntentSchema, type IntentInfo } from '../../shared/activity'
import { AddServerSchema } from '../../shared/servers'
import type { ActivityRecorder } from '../activity/types'
import type { Config } from '../config/schema'
import type { EventBus } from '../events/bus'
import type { Logger } from '../logger'
import type { ApprovalRegistry } from './approvals'
import { traceFrom, type CallRecorder } from './call-recorder'
import { isTimeout, withTimeout } from './call-timeout'
import { blockedMessage, type Gates } from './gates'
import type { Session, SessionRegistry } from './sessions'
import { registerPromptsAndResources, visiblePrompts, visibleResources, visibleResourceTemplates } from './prompts-resources'
import { DIRECT_SEPARATOR, listedTool, type CallerContext, type ToolSearch, type UpstreamManager, type UpstreamTool } from './types'

/** Everything one aggregated server needs; shared by all sessions. */
export interface ProxyContext {
  upstreams: UpstreamManager
  config: () => Config
  recorder: ActivityRecorder
  bus: EventBus
  logger: Logger
  gates: Gates
  approvals: ApprovalRegistry
  sessions: SessionRegistry
  toolSearch: ToolSearch
  calls: CallRecorder
  catalogue: DirectCatalogue
  version: string
}

/** `<server>__<tool>` names of direct exposure, resolved without ambiguity for names holding `__`. */
export interface DirectCatalogue {
  resolve(name: string): { server: string; tool: string } | undefined
  close(): void
}

export function createDirectCatalogue(upstreams: UpstreamManager, bus: EventBus): DirectCatalogue {
  let byDirect: Map<string, { server: string; tool: string }> | null = null
  const build = (): Map<string, { server: string; tool: string }> => {
    const map = new Map<string, { server: string; tool: string }>()
    for (const t of upstreams.tools()) map.set(`${t.server}${DIRECT_SEPARATOR}${t.tool.name}`, { server: t.server, tool: t.tool.name })
    return map
  }
  const invalidate = (): void => {
    byDirect = null
  }
  const offs = [bus.on('servers.changed', invalidate), bus.on('tools.indexed', invalidate)]
  return {
    // a miss rebuilds once: the catalogue may have changed without an event reaching us yet
    resolve: (name) => (byDirect ??= build()).get(name) ?? (byDirect = build()).get(name),
    close: () => offs.forEach((off) => off()),
  }
}

/** The current definition and pin state of one upstream tool (never cached: pins change). */
function findTool(upstreams: UpstreamManager, server: string, tool: string): UpstreamTool | undefined {
  try {
    return upstreams.tools(server).find((t) => t.tool.name === tool)
  } catch {
    return undefined // an unknown server
  }
}

const CALL_TOOL_SCHEMA: Tool['inputSchema'] = {
  type: 'object',
  properties: {
    server: { type: 'string', description: 'upstream server name (from retrieve_tools: the part before ":")' },
    tool: { type: 'string', description: 'tool name on that server (or "server:tool")' },
    arguments: { type: 'object', description: "the tool's arguments, matching its input schema" },
    intent: {
      type: 'object',
      description: 'Security declaration for this tool call',
      properties: {
        operation_type: { type: 'string', enum: ['read', 'write', 'destructive'] },
        data_sensitivity: { type: 'string', enum: ['public', 'internal', 'private', 'unknown'] },
        reversible: { type: 'boolean' },
        reason: { type: 'string' },
      },
    },
  },
  required: ['tool'],
}

const PROXY_TOOLS: Tool[] = [
  {
    name: 'retrieve_tools',
    description:
      'Search the tools of every upstream MCP server by keywords (BM25 over names and descriptions). Returns server:tool names, descriptions, input schemas and annotations; call one with call_tool.',
    inputSchema: {
      type: 'object',
      properties: { query: { type: 'string', description: 'keywords, e.g. "read file"' }, limit: { type: 'number', minimum: 1, maximum: 50 } },
      required: ['query'],
    },
    annotations: { readOnlyHint: true, title: 'Find tools' },
  },
  {
    name: 'call_tool',
    description: 'Call a tool of an upstream server found with retrieve_tools, declaring the intent of the call.',
    inputSchema: CALL_TOOL_SCHEMA,
    annotations: { title: 'Call an upstream tool' },
  },
  {
    name: 'upstream_servers',
    description:
      'List the upstream MCP servers, or add or remove one. A server added here is disabled and quarantined: a person must enable it and approve its tools before they can be called. Removing a server disables and quarantines it for a person to remove.',
    inputSchema: {
      type: 'object',
      properties: {
        operation: { type: 'string', enum: ['list', 'add', 'remove'] },
        name: { type: 'string' },
        command: { type: 'string' },
        args: { type: 'array', items: { type: 'string' } },
        env: { type: 'object', additionalProperties: { type: 'string' } },
        url: { type: 'string' },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        protocol: { type: 'string', enum: ['http', 'sse', 'auto'] },
      },
      required: ['operation'],
    },
    annotations: { title: 'Manage upstream servers' },
  },
]

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true }
}

function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] }
}

interface CallRequest {
  server: string
  tool: string
  args: Record<string, unknown>
  intent?: IntentInfo
  meta?: Record<string, unknown>
  requestId?: string
  signal?: AbortSignal
}

/**
 * A call refused before it could reach a server (no server or tool named, an unknown tool, an
 * intent that does not parse): recorded as an error tool_call all the same, so the log holds
 * every call a client made.
 */
function refusedCall(ctx: ProxyContext, caller: CallerContext, session: Session | undefined, req: CallRequest, message: string): CallToolResult {
  ctx.calls
    .start({ server: req.server, tool: req.tool, args: req.args, sessionId: caller.sessionId, client: caller.client, requestId: req.requestId, trace: traceFrom(req.meta) })
    .finish({ status: 'error', error: message })
  session?.countCall()
  return errorResult(message)
}

/** Gates, forwards and records one upstream tool call for a caller. Never throws: failures are tool results. */
export async function proxyCall(ctx: ProxyContext, caller: CallerContext, session: Session | undefined, req: CallRequest): Promise<CallToolResult> {
  const trace = traceFrom(req.meta)
  const handle = ctx.calls.start({
    server: req.server,
    tool: req.tool,
    args: req.args,
    sessionId: caller.sessionId,
    client: caller.client,
    intent: req.intent,
    requestId: req.requestId,
    trace,
  })
  session?.countCall()
  const upstream = findTool(ctx.upstreams, req.server, req.tool)
  if (!upstream) {
    const message = ctx.upstreams.get(req.server)
      ? `unknown tool '${req.tool}' on server '${req.server}' (retrieve_tools lists the tools)`
      : `unknown server '${req.server}'`
    handle.finish({ status: 'error', error: message })
    return errorResult(message)
  }
  let flags: string[] | undefined
  try {
    const gate = await ctx.gates.check({ caller, server: req.server, tool: req.tool, args: req.args, intent: req.intent }, upstream, req.signal)
    if (!gate.ok) {
      handle.finish({
        status: 'blocked',
        error: gate.reason,
        flags: gate.classification?.flags,
        policy: { decision: gate.decision, rule: gate.rule, reason: gate.reason },
      })
      return errorResult(blockedMessage(gate))
    }
    flags = gate.classification.flags.length ? gate.classification.flags : undefined
    const config = ctx.config()
    const meta: Record<string, unknown> = { traceparent: trace.traceparent }
    const result = await withTimeout(
      ctx.upstreams.callTool(req.server, req.tool, req.args, { timeoutMs: config.call_timeout_ms, signal: req.signal, meta }),
      config.call_timeout_ms,
    )
    handle.finish({ status: result.isError ? 'error' : 'success', result, flags })
    return result
  } catch (err) {
    const timeout = isTimeout(err)
    // the caller cancelling (or going away: its session closed) is not the upstream failing
    const cancelled = !timeout && req.signal?.aborted === true
    const message = timeout
      ? `no answer from '${req.server}' within ${ctx.config().call_timeout_ms} ms`
      : cancelled
        ? `cancelled by the client (it cancelled the call or went away) before '${req.server}' answered`
        : `upstream '${req.server}' failed: ${(err as Error).message}`
    handle.finish({ status: timeout ? 'timeout' : 'error', error: message, flags })
    return errorResult(message)
  }
}

type CallToolExtra = Parameters<Parameters<Server['setRequestHandler']>[1]>[1]
type RawHandler = (request: JSONRPCRequest, extra: CallToolExtra) => Promise<unknown>

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** What the SDK's CallToolRequestSchema accepts, checked by hand (task-augmented calls excluded). */
function isPlainCallTool(request: JSONRPCRequest): request is JSONRPCRequest & CallToolRequest {
  const params = request.params
  if (!isObject(params) || typeof params.name !== 'string' || params.task !== undefined) return false
  if (params.arguments !== undefined && !isObject(params.arguments)) return false
  const meta = params._meta
  if (meta === undefined) return true
  if (!isObject(meta)) return false
  const token = meta.progressToken
  if (token !== undefined && typeof token !== 'string' && !Number.isSafeInteger(token)) return false
  const task = meta['io.modelcontextprotocol/related-task']
  return task === undefined || (isObject(task) && typeof task.taskId === 'string')
}

/**
 * tools/call without the SDK's zod passes: it parses each request twice and each result once
 * (a large share of a relayed call's CPU). Our results are well-formed by construction (our own,
 * or an upstream's already parsed with CallToolResultSchema by the upstream client). Requests the
 * hand check does not accept still take the SDK's handler, and get its errors.
 */
function leanCallTool(server: Server, handler: CallToolHandler): void {
  const handlers = (server as unknown as { _requestHandlers?: Map<string, RawHandler> })._requestHandlers
  const sdkHandler = handlers?.get('tools/call')
  if (!handlers || !sdkHandler) return
  // the others' schema errors become -32602 in schemaErrorsAsInvalidParams, as every handler's do
  handlers.set('tools/call', (request, extra) => (isPlainCallTool(request) ? handler(request, extra) : sdkHandler(request, extra)))
  callToolHandlers.set(server, handler)
}

interface SchemaIssue {
  path: PropertyKey[]
  message: string
}

/** A schema's first issue with a request, on one line naming the field. */
function paramsProblem(method: string, issues: readonly SchemaIssue[]): string {
  const issue = issues[0]!
  const path = issue.path[0] === 'params' ? issue.path.slice(1) : issue.path
  const message = issue.message.replace(/^Invalid input: /, '').replace(/^expected record\b/, 'expected object')
  return `invalid ${method} params: ${path.map(String).join('.') || 'params'}: ${message}`
}

/**
 * The SDK's handlers parse each request with its schema and let the schema's error through, which
 * the SDK answers as -32603 Internal error with the issues as JSON (initialize without params, a
 * prompts/get without a name): every handler answers those as -32602 Invalid params, on one line.
 */
function schemaErrorsAsInvalidParams(server: Server): void {
  const handlers = (server as unknown as { _requestHandlers?: Map<string, RawHandler> })._requestHandlers
  if (!handlers) return
  for (const [method, handler] of handlers) {
    handlers.set(method, async (request, extra) => {
      try {
        return await handler(request, extra)
      } catch (err) {
        const issues = (err as { issues?: unknown }).issues
        if (/ZodError$/.test(String((err as { name?: unknown }).name)) && Array.isArray(issues) && issues.length) {
          throw new McpError(ErrorCode.InvalidParams, paramsProblem(method, issues as SchemaIssue[]))
        }
        throw err
      }
    })
  }
}

type CallToolHandler = (request: CallToolRequest, extra: CallToolExtra) => Promise<CallToolResult>
const callToolHandlers = new WeakMap<Server, CallToolHandler>()

/** The parts of the SDK's Protocol a request dispatcher uses (not public API; checked at run time). */
interface ProtocolInternals {
  _onrequest?: (request: JSONRPCRequest) => void
  _requestHandlerAbortControllers?: Map<RequestId, AbortController>
}

/**
 * Request dispatch for front ends that classify incoming messages themselves (their transports'
 * `dispatchRequest`). A plain tools/call goes straight to the aggregated server's handler: the SDK's
 * per-request bookkeeping (a zod pass over the params for task augmentation, a chain of promises,
 * a dozen closures) is skipped; its abort controller is registered where the SDK's
 * notifications/cancelled handler finds it, so cancelling still stops the call. Every other
 * request takes the SDK's own dispatch. Undefined when the SDK's internals are not as expected.
 */
export function requestDispatcher(server: Server): ((request: JSONRPCRequest) => void) | undefined {
  const protocol = server as unknown as ProtocolInternals
  const onrequest = protocol._onrequest
  if (typeof onrequest !== 'function') return undefined
  const sdk = (request: JSONRPCRequest): void => onrequest.call(server, request)
  const handler = callToolHandlers.get(server)
  if (!handler || !(protocol._requestHandlerAbortControllers instanceof Map)) return sdk
  return (request) => {
    const controllers = protocol._requestHandlerAbortControllers
    if (request.method !== 'tools/call' || !controllers || !isPlainCallTool(request)) return sdk(request)
    const transport = server.transport
    const { id } = request
    const abort = new AbortController()
    controllers.set(id, abort)
    const extra = {
      signal: abort.signal,
      requestId: id,
      sessionId: transport?.sessionId,
      _meta: request.params._meta,
      sendNotification: (notification) => server.notification(notification, { relatedRequestId: id }),
      sendRequest: (r, schema, options) => server.request(r, schema, { ...options, relatedRequestId: id }),
    } as CallToolExtra
    handler(request, extra)
      .then(
        (result) => (abort.signal.aborted ? undefined : transport?.send({ jsonrpc: '2.0', id, result })),
        (err: { code?: unknown; message?: string; data?: unknown }) =>
          abort.signal.aborted
            ? undefined
            : transport?.send({
                jsonrpc: '2.0',
                id,
                error: {
                  code: Number.isSafeInteger(err?.code) ? (err.code as number) : ErrorCode.InternalError,
                  message: err?.message ?? 'Internal error',
                  ...(err?.data !== undefined && { data: err.data }),
                },
              }),
      )
      .catch((err: Error) => server.onerror?.(new Error(`Failed to send response: ${err}`)))
      .finally(() => {
        if (controllers.get(id) === abort) controllers.delete(id)
      })
  }
}

function asArgs(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

/** A declared intent: call_tool's `intent` argument, or a request's `_meta.intent` (same shape); `label` names it in errors. */
function parseIntent(v: unknown, label: 'intent' | '_meta.intent'): { intent?: IntentInfo; error?: string } {
  if (v === undefined || v === null) return {}
  const parsed = IntentSchema.safeParse(v)
  if (!parsed.success) return { error: `invalid ${label}: ${parsed.error.issues.map((i) => `${i.path.join('.') || label}: ${i.message}`).join('; ')}` }
  return { intent: parsed.data }
}

/**
 * One low-level SDK `Server` per session: the proxy's own tools (retrieve_tools exposure) or every
 * upstream tool as `<server>__<tool>` (direct), plus prompts and resources of all upstreams.
 */
export function createAggregatedServer(ctx: ProxyContext, session: Session, caller: CallerContext): Server {
  const server = new Server(
    { name: 'mcpproxy', version: ctx.version },
    {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
      instructions:
        "mcpproxy aggregates several MCP servers. Use retrieve_tools to find a tool, then call_tool with its server, tool, arguments and your intent. When tools are exposed directly as <server>__<tool>, declare the intent in the request's _meta.intent.",
    },
  )

  const learnClient = (): void => {
    const v = server.getClientVersion()
    if (v && caller.client.name === undefined) {
      caller.client = { ...caller.client, name: v.name, version: v.version }
      session.setClient({ name: v.name, version: v.version })
    }
  }
  server.oninitialized = learnClient

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    if (ctx.config().tool_exposure === 'retrieve_tools') return { tools: PROXY_TOOLS }
    const tools: Tool[] = []
    for (const t of ctx.upstreams.tools()) {
      if (ctx.upstreams.quarantined(t.server)) continue
      tools.push({ ...listedTool(t), name: `${t.server}${DIRECT_SEPARATOR}${t.tool.name}` })
    }
    return { tools }
  })

  const callTool = async (request: CallToolRequest, extra: CallToolExtra): Promise<CallToolResult> => {
    if (caller.client.name === undefined) learnClient()
    const { name } = request.params
    const args = asArgs(request.params.arguments)
    const meta = request.params._meta as Record<string, unknown> | undefined
    const base = { meta, requestId: String(extra.requestId), signal: extra.signal }
    if (ctx.config().tool_exposure === 'direct') {
      const t = ctx.catalogue.resolve(name)
      if (!t) return refusedCall(ctx, caller, session, { ...base, server: '', tool: name, args }, `unknown tool '${name}'`)
      const { intent, error } = parseIntent(meta?.intent, '_meta.intent')
      if (error) return refusedCall(ctx, caller, session, { ...base, server: t.server, tool: t.tool, args }, error)
      return proxyCall(ctx, caller, session, { ...base, server: t.server, tool: t.tool, args, intent })
    }
    switch (name) {
      case 'retrieve_tools': {
        const query = typeof args.query === 'string' ? args.query : ''
        const limit = Math.min(50, Math.max(1, Number(args.limit) || 10))
        const tools = ctx.toolSearch
          .search(query, limit * 2)
          .filter((t) => !ctx.upstreams.quarantined(t.server))
          .slice(0, limit)
          .map((t) => ({ name: t.name, server: t.server, tool: t.tool, description: t.description, inputSchema: t.input_schema, annotations: t.annotations, score: t.score }))
        return jsonResult({ tools })
      }
      case 'call_tool': {
        let serverName = typeof args.server === 'string' ? args.server : ''
        let toolName = typeof args.tool === 'string' ? args.tool : ''
        if (!serverName && toolName.includes(':')) [serverName, toolName] = [toolName.slice(0, toolName.indexOf(':')), toolName.slice(toolName.indexOf(':') + 1)]
        const call = { ...base, server: serverName, tool: toolName, args: asArgs(args.arguments) }
        if (!serverName || !toolName) return refusedCall(ctx, caller, session, call, 'call_tool needs "server" and "tool" (or tool as "server:tool")')
        const { intent, error } = args.intent === undefined ? parseIntent(meta?.intent, '_meta.intent') : parseIntent(args.intent, 'intent')
        if (error) return refusedCall(ctx, caller, session, call, error)
        return proxyCall(ctx, caller, session, { ...call, intent })
      }
      case 'upstream_servers':
        return upstreamServers(ctx, caller, args)
      default:
        return errorResult(`unknown tool '${name}': this endpoint exposes retrieve_tools, call_tool and upstream_servers`)
    }
  }
  server.setRequestHandler(CallToolRequestSchema, callTool)
  leanCallTool(server, callTool)

  registerPromptsAndResources(server, ctx, caller)
  schemaErrorsAsInvalidParams(server)

  // tell the client when what it can list changed (servers.changed also fires for health), coalescing bursts
  let pending: NodeJS.Timeout | null = null
  let last = catalogueSignature(ctx)
  const changed = (): void => {
    if (pending) return
    pending = setTimeout(() => {
      pending = null
      if (!server.transport) return
      const next = catalogueSignature(ctx)
      if (next.tools !== last.tools) void server.sendToolListChanged().catch(() => undefined)
      if (next.prompts !== last.prompts) void server.sendPromptListChanged().catch(() => undefined)
      if (next.resources !== last.resources) void server.sendResourceListChanged().catch(() => undefined)
      last = next
    }, 50)
  }
  const offs = [ctx.bus.on('servers.changed', changed), ctx.bus.on('tools.indexed', changed), ctx.bus.on('config.reloaded', changed)]
  const previousOnClose = server.onclose
  server.onclose = () => {
    previousOnClose?.()
    offs.forEach((off) => off())
    if (pending) clearTimeout(pending)
    session.end()
  }
  return server
}

/** What a client can list, as comparable strings: visible tools with their hashes, prompts, resources and templates. */
function catalogueSignature(ctx: ProxyContext): { tools: string; prompts: string; resources: string } {
  const { upstreams } = ctx
  return {
    tools: `${ctx.config().tool_exposure}\n${upstreams
      .tools()
      .filter((t) => !upstreams.quarantined(t.server))
      .map((t) => `${t.server}\u0000${t.tool.name}\u0000${t.hash}`)
      .join('\n')}`,
    prompts: visiblePrompts(upstreams)
      .map((p) => p.name)
      .join('\n'),
    resources: [...visibleResources(upstreams).map((r) => r.uri), ...visibleResourceTemplates(upstreams).map((t) => `template\u0000${t.uriTemplate}`)].join('\n'),
  }
}

async function upstreamServers(ctx: ProxyContext, caller: CallerContext, args: Record<string, unknown>): Promise<CallToolResult> {
  const actor = `mcp:${caller.client.name ?? caller.sessionId}`
  try {
    switch (args.operation) {
      case 'list':
        return jsonResult({
          servers: ctx.upstreams.list().map((s) => ({
            name: s.name,
            protocol: s.protocol,
            enabled: s.enabled,
            connected: s.connected,
            quarantined: s.quarantined,
            tool_count: s.tool_count,
            health: s.health.summary,
          })),
        })
      case 'add': {
        const { operation: _op, ...rest } = args
        // an agent's server is only written down: its command would run (or its URL be fetched)
        // the moment it started, quarantine or not. A person reads the entry, enables it (it then
        // connects in quarantine, for its tools to be reviewed) and approves it.
        const parsed = AddServerSchema.safeParse({ ...rest, quarantined: true, enabled: false })
        if (!parsed.success) return errorResult(`invalid server: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
        if (!parsed.data.command && !parsed.data.url) return errorResult('a server needs "command" (stdio) or "url" (remote)')
        const info = await ctx.upstreams.add(parsed.data, actor)
        return jsonResult({
          added: info.name,
          enabled: info.enabled,
          quarantined: info.quarantined,
          note: 'the server is added disabled and quarantined: nothing of it runs until a person enables it, and its tools cannot be called until a person approves it',
        })
      }
      case 'remove': {
        if (typeof args.name !== 'string' || !args.name) return errorResult('remove needs "name"')
        if (!ctx.upstreams.get(args.name)) return errorResult(`no server named '${args.name}'`)
        // an agent takes a server out of use, never out of the config: a person removes it for
        // good (or takes it back)
        await ctx.upstreams.setQuarantined(args.name, true, actor)
        await ctx.upstreams.disable(args.name, actor)
        return jsonResult({
          removed: false,
          disabled: args.name,
          quarantined: true,
          note: 'the server is disabled and quarantined: a person removes it for good, or enables and approves it again',
        })
      }
      default:
        return errorResult('operation must be list, add or remove')
    }
  } catch (err) {
    return errorResult((err as Error).message)
  }
}
