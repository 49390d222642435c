/**
 * The shape of a running core, as `createCore()` returns it. The Electron main, the headless
 * server, REST routes and tests all use exactly this.
 */
import type { StatusInfo } from '../shared/servers'
import type { ActivityStore } from './activity/types'
import type { Config } from './config/schema'
import type { DataDirPaths } from './config/load'
import type { EventBus } from './events/bus'
import type { Logger } from './logger'
import type { ApprovalService, McpFrontEnd, SessionService, ToolSearch, UpstreamManager } from './proxy/types'

export interface ConfigService {
  /** the running config */
  current(): Config
  /** the running config with secrets (api_key, env values, headers) masked */
  masked(): Record<string, unknown>
  /** validates a candidate config object; never throws for bad input */
  validate(candidate: unknown): { valid: boolean; errors: Array<{ key: string; message: string }> }
  /** validates, writes mcp_config.json atomically and applies it live; CONFIG_INVALID otherwise */
  apply(candidate: unknown, actor?: string): Promise<Config>
}

export interface CoreOptions {
  dataDir: string
  /** overrides `listen` from the config (e.g. `serve --listen`) */
  listen?: string
  /** start the HTTP server (REST, /events, /mcp, /ui); false for stdio-only or tests */
  http?: boolean
  /** where the built web UI lives (served at /ui/) */
  webUiDir?: string
  /** better-sqlite3 native binding (Electron main) */
  nativeBinding?: string
  /** the built activity-writer worker; recording then runs off the main thread */
  writerWorkerUrl?: string | URL
  /** the built import worker; import then parses off the main thread */
  importWorkerUrl?: string | URL
  /** the built read worker; summaries, metrics and verify then run off the main thread */
  readWorkerUrl?: string | URL
  logger?: Logger
  /** watch mcp_config.json and apply edits live (default true) */
  watchConfig?: boolean
  version?: string
  /**
   * a core `mcpproxy stdio` started for its clients: it exits once no MCP client has been connected
   * for this many seconds (the caller stops it), and `serve` or the app take over from it at start
   */
  idleExitS?: number
}

export interface Core {
  readonly paths: DataDirPaths
  readonly apiKey: string
  readonly bus: EventBus
  readonly logger: Logger
  readonly activity: ActivityStore
  readonly upstreams: UpstreamManager
  readonly tools: ToolSearch
  readonly sessions: SessionService
  readonly approvals: ApprovalService
  readonly mcp: McpFrontEnd
  readonly config: ConfigService
  /** the bound HTTP address (`127.0.0.1:8080`), once started with http */
  readonly listenAddress: string | null
  status(): StatusInfo
  /** connects upstreams and starts the HTTP server when asked */
  start(): Promise<void>
  /** stops accepting calls, closes upstreams, flushes the activity log (rejects when records were lost: a full disk) */
  stop(): Promise<void>
}
