/**
 * DTOs for servers, tools, sessions, approvals and status, as REST (seed shapes), IPC and the
 * CLI carry them.
 */
import { z } from 'zod'
import type { ClientInfo, IntentInfo } from './activity'

export type HealthLevel = 'healthy' | 'degraded' | 'unhealthy'
export type AdminState = 'enabled' | 'disabled' | 'quarantined'
export type HealthAction = '' | 'login' | 'restart' | 'enable' | 'approve' | 'view_logs'

export interface HealthInfo {
  level: HealthLevel
  admin_state: AdminState
  summary: string
  detail?: string
  action: HealthAction
}

export type ServerProtocol = 'stdio' | 'http' | 'sse' | 'auto'
export type ConnectionState = 'disconnected' | 'connecting' | 'ready' | 'error' | 'backoff' | 'stopped'

export interface ToolFindingInfo {
  tool: string
  kind: string
  detail: string
  severity: 'low' | 'medium' | 'high'
}

export interface ServerInfo {
  name: string
  protocol: ServerProtocol
  command?: string
  args?: string[]
  url?: string
  enabled: boolean
  connected: boolean
  quarantined: boolean
  state: ConnectionState
  tool_count: number
  /** tools whose definition changed since approval (rug pull), blocked until re-approved */
  changed_tools: string[]
  /** changed tools whose new definition a person refused: blocked, and no longer waiting for review */
  rejected_tools: string[]
  /** tool-poisoning findings that put the server in quarantine */
  findings: ToolFindingInfo[]
  last_error?: string
  retry_in_ms?: number
  health: HealthInfo
}

export interface ToolAnnotationsInfo {
  title?: string
  readOnlyHint?: boolean
  destructiveHint?: boolean
  idempotentHint?: boolean
  openWorldHint?: boolean
}

export interface ToolInfo {
  /** `server:tool` */
  name: string
  server: string
  tool: string
  description?: string
  input_schema?: Record<string, unknown>
  output_schema?: Record<string, unknown>
  annotations?: ToolAnnotationsInfo
  /** 'approved' | 'changed' (pinned definition differs) | 'new' (never approved) */
  pin_state?: 'approved' | 'changed' | 'new'
  score?: number
}

export interface ToolChangeInfo {
  server: string
  tool: string
  old_definition?: Record<string, unknown>
  new_definition: Record<string, unknown>
  old_hash?: string
  new_hash: string
  /** poisoning findings on the changed definition */
  findings?: ToolFindingInfo[]
  /** set when a person refused this change: the approved definition stays, the tool stays blocked */
  rejected_at?: string
}

export interface SessionInfo {
  id: string
  transport: 'http' | 'stdio' | 'wrap'
  client: ClientInfo
  started_at: string
  ended_at?: string
  call_count: number
  active: boolean
}

export interface ApprovalInfo {
  id: string
  server: string
  tool: string
  arguments: unknown
  intent?: IntentInfo
  rule?: string
  reason?: string
  session_id?: string
  requested_at: string
  expires_at: string
}

export const ApprovalDecisionSchema = z.object({ decision: z.enum(['approve', 'deny']) })
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>['decision']

export const AddServerSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  command: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  url: z.url().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  protocol: z.enum(['http', 'sse', 'auto']).optional(),
  enabled: z.boolean().optional(),
  quarantined: z.boolean().optional(),
})
export type AddServerInput = z.infer<typeof AddServerSchema>

export interface StatusInfo {
  status: 'running'
  version: string
  /** the core's process */
  pid: number
  /** set on a core `mcpproxy stdio` started for its clients: it exits after this long without an MCP client */
  idle_exit_s: number | null
  uptime: number
  listen: string
  mcp_url: string
  web_ui_url: string
  data_dir: string
  servers: { total: number; connected: number; quarantined: number; disabled: number }
  tools: { total: number }
  approvals: { pending: number }
  /** MCP sessions open now (HTTP, stdio, bridged stdio) and clients following /events (the web UI, `activity watch`) */
  clients: { mcp_sessions: number; event_viewers: number }
  activity: {
    queued: number
    written: number
    dropped: number
    dropped_by_type: Record<string, number>
    db_bytes: number
    last_error?: string
  }
}
