/**
 * The typed event map. The core's bus, SSE (`/events`) and the Electron IPC forwarder carry
 * these names and payloads. UI stores treat them as invalidations, never as the data itself.
 */
import type { ActivityStatus, ActivityType, PolicyDecisionInfo } from './activity'

export interface ToolCallStartedEvent {
  id: string
  server: string
  tool: string
  session_id?: string
  timestamp: string
  trace_id?: string
}
export interface ToolCallCompletedEvent extends ToolCallStartedEvent {
  status: ActivityStatus
  duration_ms?: number
  error?: string
}
export interface PolicyDecisionEvent {
  id: string
  server?: string
  tool?: string
  decision: PolicyDecisionInfo['decision'] | 'blocked'
  rule?: string
  reason?: string
  timestamp: string
}
export interface QuarantineChangeEvent {
  id: string
  server: string
  quarantined: boolean
  reason?: string
  timestamp: string
}
export interface ApprovalRequestedEvent {
  /** the approval id (also the pending record's id) */
  id: string
  server: string
  tool: string
  rule?: string
  reason?: string
  expires_at: string
  timestamp: string
}
export interface ApprovalResolvedEvent {
  id: string
  decision: 'approved' | 'denied' | 'timeout'
  timestamp: string
}
export interface ActivityAppendedEvent {
  /** records appended by any process since the previous event, for invalidation */
  ids: string[]
  types: ActivityType[]
  last_seq: number
}
export interface ServersChangedEvent {
  server?: string
  reason: string
  timestamp: string
}
export interface ConfigReloadedEvent {
  ok: boolean
  error?: string
  timestamp: string
}
export interface ToolsIndexedEvent {
  total: number
  timestamp: string
}

export interface CoreEventMap {
  'activity.tool_call.started': ToolCallStartedEvent
  'activity.tool_call.completed': ToolCallCompletedEvent
  'activity.policy_decision': PolicyDecisionEvent
  'activity.quarantine_change': QuarantineChangeEvent
  'activity.approval_requested': ApprovalRequestedEvent
  'activity.approval_resolved': ApprovalResolvedEvent
  'activity.appended': ActivityAppendedEvent
  'servers.changed': ServersChangedEvent
  'config.reloaded': ConfigReloadedEvent
  'tools.indexed': ToolsIndexedEvent
}
export type CoreEventName = keyof CoreEventMap
export const CORE_EVENT_NAMES: readonly CoreEventName[] = [
  'activity.tool_call.started',
  'activity.tool_call.completed',
  'activity.policy_decision',
  'activity.quarantine_change',
  'activity.approval_requested',
  'activity.approval_resolved',
  'activity.appended',
  'servers.changed',
  'config.reloaded',
  'tools.indexed',
]
