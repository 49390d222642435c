import type { ActivityRecorder } from '../activity/types'
import type { Config } from '../config/schema'
import type { EventBus } from '../events/bus'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import { createDirectCatalogue, type ProxyContext } from './aggregated-server'
import { createApprovalRegistry, type ApprovalRegistry } from './approvals'
import { createCallRecorder } from './call-recorder'
import { createGates } from './gates'
import { createMcpHttpHandler, type McpHttpHandler, type McpHttpHandlerOptions } from './http-front-end'
import { createSessionRegistry, type SessionRegistry } from './sessions'
import { serveStdio } from './stdio-front-end'
import { createToolSearch, type ToolSearchIndex } from './tool-search'
import type { McpFrontEnd, UpstreamManager } from './types'

export interface ProxyServicesOptions {
  upstreams: UpstreamManager
  /** the running config (ConfigStore.current) */
  config: () => Config
  recorder: ActivityRecorder
  bus: EventBus
  logger: Logger
  /** where sessions persist (`session` table); in memory only when absent */
  db?: Db
  version?: string
  http?: McpHttpHandlerOptions
  /** whether a person can answer approvals (GateDeps.approvers; default true) */
  approvers?: boolean
}

export interface ProxyServices {
  mcp: McpFrontEnd
  http: McpHttpHandler
  tools: ToolSearchIndex
  sessions: SessionRegistry
  approvals: ApprovalRegistry
  context: ProxyContext
}

/**
 * The aggregated MCP endpoint with its gates, approvals, sessions, tool search and call
 * recording, over the given upstream manager. createCore() hands `mcp`, `tools`, `sessions`
 * and `approvals` out as they are.
 */
export function createProxyServices(options: ProxyServicesOptions): ProxyServices {
  const { upstreams, bus, recorder } = options
  const logger = options.logger.child('proxy')
  const approvals = createApprovalRegistry(recorder, bus)
  const sessions = createSessionRegistry({ db: options.db, logger, redactPii: () => options.config().redact_pii })
  const tools = createToolSearch(upstreams, bus)
  const catalogue = createDirectCatalogue(upstreams, bus)
  const context: ProxyContext = {
    upstreams,
    config: options.config,
    recorder,
    bus,
    logger,
    gates: createGates({ config: options.config, upstreams, recorder, bus, approvals, approvers: options.approvers }),
    approvals,
    sessions,
    toolSearch: tools,
    calls: createCallRecorder(recorder, bus),
    catalogue,
    version: options.version ?? '0.1.0',
  }
  const http = createMcpHttpHandler(context, options.http)
  const mcp: McpFrontEnd = {
    handleHttp: (req, res, parsedBody) => http.handle(req, res, parsedBody),
    serveStdio: (input, output, client) => serveStdio(context, input, output, client),
    async close() {
      approvals.close()
      await http.close()
      sessions.close()
      tools.close()
      catalogue.close()
    },
  }
  return { mcp, http, tools, sessions, approvals, context }
}
