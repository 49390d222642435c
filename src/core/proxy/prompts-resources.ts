/**
 * Prompts, resources and resource templates of the upstreams on the aggregated server: prompts as
 * `<server>__<name>`, resources and templates by their own URIs. Servers in quarantine stay
 * connected (so their tools can be reviewed) but are left out of the lists, and a prompts/get or
 * resources/read that reaches one is refused and recorded by the quarantine gate. A prompts/get or
 * resources/read an upstream answers is an mcp_message record with its answer.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js'
import {
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js'
import type { ProxyContext } from './aggregated-server'
import { durationMs } from './call-recorder'
import { isTimeout } from './call-timeout'
import { blockedMessage, type ServerRequestInput } from './gates'
import { DIRECT_SEPARATOR, type CallerContext, type UpstreamManager } from './types'

const promptName = (server: string, prompt: Prompt): string => `${server}${DIRECT_SEPARATOR}${prompt.name}`

/** The prompts a client may list, named `<server>__<name>`. */
export function visiblePrompts(upstreams: UpstreamManager): Prompt[] {
  return upstreams
    .listPrompts()
    .filter(({ server }) => !upstreams.quarantined(server))
    .map(({ server, prompt }) => ({ ...prompt, name: promptName(server, prompt) }))
}

export function visibleResources(upstreams: UpstreamManager): Resource[] {
  return upstreams
    .listResources()
    .filter(({ server }) => !upstreams.quarantined(server))
    .map(({ resource }) => resource)
}

export function visibleResourceTemplates(upstreams: UpstreamManager): ResourceTemplate[] {
  return upstreams.listResourceTemplates().filter(({ server }) => !upstreams.quarantined(server)).map(({ template }) => template)
}

const compiled = new Map<string, UriTemplate | null>()

/** Whether a URI is one of an RFC 6570 template's expansions (an invalid template matches nothing). */
export function templateMatches(template: string, uri: string): boolean {
  let t = compiled.get(template)
  if (t === undefined) {
    try {
      t = new UriTemplate(template)
    } catch {
      t = null
    }
    if (compiled.size > 1000) compiled.clear()
    compiled.set(template, t)
  }
  try {
    return t?.match(uri) != null
  } catch {
    return false // a URI beyond the SDK's length limit
  }
}

/**
 * The upstream a URI is read from: one listing it, else one with a template matching it (the
 * upstream then decides whether it exists); servers not in quarantine first.
 */
export function resourceServer(upstreams: UpstreamManager, uri: string): string | undefined {
  const candidates = [
    ...upstreams.listResources().filter(({ resource }) => resource.uri === uri),
    ...upstreams.listResourceTemplates().filter(({ template }) => templateMatches(template.uriTemplate, uri)),
  ].map(({ server }) => server)
  return candidates.find((server) => !upstreams.quarantined(server)) ?? candidates[0]
}

/** Refuses (as a JSON-RPC error) a request to a quarantined server, once the gate recorded it. */
function refuseQuarantined(ctx: ProxyContext, input: ServerRequestInput): void {
  const block = ctx.gates.checkServer(input)
  if (block) throw new McpError(ErrorCode.InvalidRequest, blockedMessage(block), { gate: block.gate, rule: block.rule, record_id: block.recordId })
}

/**
 * Runs a request an upstream answers (prompts/get, resources/read) and records it as an
 * mcp_message: pending when sent, then its answer (or error, or timeout) and its duration.
 */
async function recorded<T>(ctx: ProxyContext, caller: CallerContext, req: { server: string; method: string; params: Record<string, unknown>; requestId: string | number }, run: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const id = ctx.recorder.record({
    type: 'mcp_message',
    status: 'pending',
    server_name: req.server,
    session_id: caller.sessionId,
    request_id: String(req.requestId),
    arguments: req.params,
    client: caller.client,
    metadata: { transport: caller.transport, method: req.method, direction: 'client_to_server', kind: 'request' },
  })
  const duration_ms = (): number => durationMs(started, performance.now())
  try {
    const result = await run()
    ctx.recorder.complete(id, { status: 'success', duration_ms: duration_ms(), response: result })
    return result
  } catch (err) {
    ctx.recorder.complete(id, { status: isTimeout(err) ? 'timeout' : 'error', duration_ms: duration_ms(), error: (err as Error).message })
    throw err
  }
}

export function registerPromptsAndResources(server: Server, ctx: ProxyContext, caller: CallerContext): void {
  const { upstreams } = ctx
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: visiblePrompts(upstreams) }))
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const { name } = request.params
    const hit = upstreams.listPrompts().find(({ server: s, prompt }) => promptName(s, prompt) === name)
    if (!hit) throw new McpError(ErrorCode.InvalidParams, `unknown prompt '${name}'`)
    refuseQuarantined(ctx, { caller, server: hit.server, method: 'prompts/get', target: hit.prompt.name })
    return recorded(ctx, caller, { server: hit.server, method: 'prompts/get', params: request.params, requestId: extra.requestId }, () =>
      upstreams.getPrompt(hit.server, hit.prompt.name, request.params.arguments, { timeoutMs: ctx.config().call_timeout_ms, signal: extra.signal }),
    )
  })
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: visibleResources(upstreams) }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: visibleResourceTemplates(upstreams) }))
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { uri } = request.params
    const target = resourceServer(upstreams, uri)
    if (!target) throw new McpError(ErrorCode.InvalidParams, `unknown resource '${uri}': no upstream lists it or has a template matching it`)
    refuseQuarantined(ctx, { caller, server: target, method: 'resources/read', target: uri })
    return recorded(ctx, caller, { server: target, method: 'resources/read', params: request.params, requestId: extra.requestId }, () =>
      upstreams.readResource(target, uri, { timeoutMs: ctx.config().call_timeout_ms, signal: extra.signal }),
    )
  })
}
