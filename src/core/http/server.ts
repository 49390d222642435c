/**
 * The core's HTTP server: REST (/api/v1), live events (/events), the MCP endpoint (/mcp, served
 * ahead of fastify by mcp-route.ts), the OpenAPI document (/swagger/) and the web UI (/ui/), on
 * the listen address and on the data dir's Unix socket.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Core } from '../core-types'
import { CoreError } from '../errors'
import { keyMatches, presentedKey } from './auth'
import { createDownloadTokens, DOWNLOAD_TOKEN_PARAM, type RouteDownloadConfig } from './download-tokens'
import type { HttpContext, ZodApp } from './context'
import { bridgeCoreEvents } from './core-events'
import { installErrorHandlers, sendError } from './errors'
import { createHostGuard, type HostGuard } from './host-origin'
import { createMcpRoute, isMcpUrl, MCP_PATH } from './mcp-route'
import { registerOpenApi } from './openapi'
import { refuseUnknownQueryKeys } from './query-keys'
import { registerActivityRoutes } from './routes/activity'
import { registerConfigRoutes } from './routes/config'
import { registerServerRoutes } from './routes/servers'
import { registerSessionRoutes } from './routes/sessions'
import { registerStatusRoutes } from './routes/status'
import { registerToolRoutes } from './routes/tools'
import { createSseHub, type SseHubOptions } from './sse-hub'
import { registerStaticUi } from './static-ui'
import { createStdioUpgrades } from './stdio-upgrade'
import { closeUnixSocket, listenUnixSocket, viaSocket } from './unix-socket'


export interface HttpServerOptions {
  /** `host:port`; port 0 picks a free one */
  listen: string
  webUiDir?: string
  /** serve the same app without a key on this Unix socket */
  socketPath?: string
  /** SSE tuning (tests use short heartbeats and small buffers) */
  events?: Omit<SseHubOptions, 'logger'>
  /** cap for POST /activity/import bodies (default 512 MiB) */
  importLimitBytes?: number
  /**
   * Hold MCP sessions (`/mcp` requests and bridged stdio) until acceptSessions(): a core starting
   * its upstreams holds them, so that a client's first tools/list already lists their tools.
   */
  holdSessions?: boolean
}

export interface HttpServerHandle {
  /** the bound `host:port` */
  address: string
  /** MCP requests and bridged stdio sessions are served from now on (see holdSessions) */
  acceptSessions(): void
  /** bridged stdio sessions finish their calls in flight and move on (StdioUpgrades.drain) */
  drainStdio(timeoutMs: number): Promise<void>
  /** clients on /events now */
  eventClients(): number
  close(): Promise<void>
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen.trim())
  if (!m) throw new CoreError('CONFIG_INVALID', `listen: must be host:port, got "${listen}"`)
  const port = Number(m[2])
  if (port > 65_535) throw new CoreError('CONFIG_INVALID', `listen: port ${port} out of range`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

const EventsQuery = z.object({
  types: z.string().max(2000).optional().describe('comma list of event names or prefixes, e.g. activity.,servers.changed'),
  server: z.string().min(1).max(64).optional(),
  last_event_id: z.string().max(40).optional(),
})

export async function createHttpServer(core: Core, options: HttpServerOptions): Promise<HttpServerHandle> {
  const { host, port } = parseListen(options.listen)
  const logger = core.logger.child('http')
  let handler: RequestListener | null = null
  let boundAddress = options.listen
  let guard: HostGuard = createHostGuard(port)
  // (held until acceptSessions when holdSessions is set)
  let sessionsHeld: Promise<void> | null = null
  let releaseSessions = (): void => {}
  if (options.holdSessions) sessionsHeld = new Promise<void>((resolve) => (releaseSessions = resolve))
  const mcpRoute = createMcpRoute({ core, guard: () => guard, logger, held: () => sessionsHeld })

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: false },
    serverFactory: (h) => {
      const router = h as RequestListener
      handler = (req, res) => (isMcpUrl(req.url) ? mcpRoute(req, res) : router(req, res))
      return createServer(handler)
    },
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installErrorHandlers(app, logger)

  const hub = createSseHub({ ...options.events, logger: logger.child('events') })
  const unbridge = bridgeCoreEvents(core, hub)
  let socketServer: Server | null = null
  const stdioUpgrades = createStdioUpgrades(core, logger.child('stdio'))
  if (!options.holdSessions) stdioUpgrades.accept()
  const ctx: HttpContext = { core, hub, address: () => boundAddress, socketPath: null, downloads: createDownloadTokens() }

  app.addHook('onRequest', async (req, reply) => {
    if (viaSocket(req.raw)) return
    if (!guard.hostAllowed(req.headers.host)) return sendError(reply, 403, 'FORBIDDEN', `host not allowed: ${String(req.headers.host ?? '(none)')}`)
    if (!guard.originAllowed(req.headers.origin)) return sendError(reply, 403, 'FORBIDDEN', `origin not allowed: ${req.headers.origin}`)
  })
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY')
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store')
    return payload
  })

  const requireKey = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (viaSocket(req.raw)) return undefined
    // a download link of the web UI opens with a one-use token instead of the key
    const route = req.routeOptions.config as RouteDownloadConfig | undefined
    if (route?.downloadToken && ctx.downloads.take((req.query as Record<string, unknown>)[DOWNLOAD_TOKEN_PARAM])) return undefined
    if (!keyMatches(presentedKey(req.raw, req.query), core.apiKey)) {
      return sendError(reply, 401, 'UNAUTHORIZED', 'missing or wrong API key (X-API-Key header, Authorization: Bearer, or ?apikey=)')
    }
    return undefined
  }

  /** for a stream that outlives its request: whether the key it opened with still opens the API (checked again only when the key changed) */
  const keyStillValid = (req: FastifyRequest): (() => boolean) | undefined => {
    if (viaSocket(req.raw)) return undefined
    const presented = presentedKey(req.raw, req.query)
    let checked = core.apiKey
    return () => {
      const key = core.apiKey
      if (key === checked) return true
      if (!keyMatches(presented, key)) return false
      checked = key
      return true
    }
  }

  await registerOpenApi(app, core.status().version)

  await app.register(
    async (api) => {
      api.addHook('onRequest', requireKey)
      refuseUnknownQueryKeys(api)
      const zapi = api as unknown as ZodApp
      registerStatusRoutes(zapi, ctx)
      registerServerRoutes(zapi, ctx)
      registerToolRoutes(zapi, ctx)
      registerActivityRoutes(zapi, ctx, { importLimitBytes: options.importLimitBytes })
      registerSessionRoutes(zapi, ctx)
      registerConfigRoutes(zapi, ctx)
    },
    { prefix: '/api/v1' },
  )

  await app.register(async (scope) => {
    scope.addHook('onRequest', requireKey)
    refuseUnknownQueryKeys(scope)
    ;(scope as unknown as ZodApp).get(
      '/events',
      { schema: { tags: ['events'], summary: 'Live events (text/event-stream); Last-Event-ID header or last_event_id replays', querystring: EventsQuery } },
      async (req, reply) => {
        reply.hijack()
        const header = req.headers['last-event-id']
        const types = req.query.types?.split(',').map((t) => t.trim()).filter(Boolean)
        hub.attach(req.raw, reply.raw, { types, server: req.query.server }, typeof header === 'string' ? header : req.query.last_event_id, keyStillValid(req))
      },
    )
  })

  // requests for /mcp are served by mcpRoute before fastify sees them (serverFactory); the route is
  // registered for the OpenAPI document only
  await app.register(async (scope) => {
    scope.route({
      method: ['GET', 'POST', 'DELETE'],
      url: MCP_PATH,
      schema: { tags: ['mcp'], summary: 'MCP streamable HTTP endpoint' },
      handler: async () => {
        throw new CoreError('INTERNAL', '/mcp is served ahead of the router')
      },
    })
  })

  await registerStaticUi(app, options.webUiDir)

  app.addHook('onClose', async () => {
    unbridge()
    hub.close()
    stdioUpgrades.closeAll()
    if (socketServer) await closeUnixSocket(socketServer)
  })

  try {
    await app.listen({ host, port })
  } catch (err) {
    await app.close()
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') throw new CoreError('CONFLICT', `cannot listen on ${options.listen}: the address is in use (another mcpproxy?)`)
    throw new CoreError('INTERNAL', `cannot listen on ${options.listen}: ${e.message}`)
  }
  const addr = app.server.address() as AddressInfo
  boundAddress = `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
  const extra = ['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::'].includes(host) ? [] : [host.includes(':') ? `[${host}]` : host]
  guard = createHostGuard(addr.port, extra)

  if (options.socketPath && handler) {
    try {
      socketServer = await listenUnixSocket(options.socketPath, handler, logger, stdioUpgrades.onUpgrade)
    } catch (err) {
      // another core took the socket since this one started: this one does not run beside it
      await app.close()
      throw err
    }
    ctx.socketPath = socketServer ? options.socketPath : null
  }
  logger.info('http server listening', { address: boundAddress, socket: ctx.socketPath })

  let closing: Promise<void> | null = null
  return {
    address: boundAddress,
    acceptSessions: () => {
      sessionsHeld = null
      releaseSessions()
      stdioUpgrades.accept()
    },
    drainStdio: (timeoutMs) => stdioUpgrades.drain(timeoutMs),
    eventClients: () => hub.stats().clients,
    close: () => (closing ??= app.close()),
  }
}
