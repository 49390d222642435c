import type { Core } from '../core/core-types'
import type { RecentCall, TrayState } from './tray-menu'

/** Start of the local day, as an RFC 3339 time. */
export function startOfToday(now: Date = new Date()): string {
  const d = new Date(now)
  d.setHours(0, 0, 0, 0)
  return d.toISOString()
}

/** Reads the tray's state from the core: a few indexed queries, run when events say it changed. */
export function readTrayState(core: Core, extra: { mcpUrl: string; startAtLogin: boolean }, now: Date = new Date()): TrayState {
  const since = startOfToday(now)
  const calls = { type: ['tool_call' as const], start_time: since }
  const page = core.activity.list({ type: ['tool_call', 'policy_decision'] }, { limit: 20, offset: 0 })
  const recentCalls: RecentCall[] = page.activities.map((r) => ({
    id: r.id,
    server: r.server_name ?? '?',
    tool: r.tool_name ?? r.type,
    status: r.status,
    timestamp: r.timestamp,
    reason: r.policy?.reason ?? r.error,
  }))
  return {
    servers: core.upstreams.list(),
    callsToday: core.activity.count(calls),
    errorsToday: core.activity.count({ ...calls, status: ['error', 'timeout'] }),
    blockedToday: core.activity.count({ type: ['tool_call', 'policy_decision'], status: ['blocked'], start_time: since }),
    recentCalls,
    approvals: core.approvals.list(),
    toolChanges: core.upstreams.pendingToolChanges(),
    mcpUrl: extra.mcpUrl,
    startAtLogin: extra.startAtLogin,
  }
}
