/**
 * The tray menu as a pure function of state: state in, template out. The Electron shell maps
 * each item's `action` to a click handler; tests check the template without Electron.
 */
import type { ActivityStatus, ExportFormat } from '../shared/activity'
import { collapseRepeats } from '../shared/collapse-repeats'
import type { ApprovalInfo, ServerInfo, ToolChangeInfo } from '../shared/servers'

export interface RecentCall {
  id: string
  server: string
  tool: string
  status: ActivityStatus
  timestamp: string
  reason?: string
}

export interface TrayState {
  servers: ServerInfo[]
  callsToday: number
  errorsToday: number
  blockedToday: number
  /** newest first */
  recentCalls: RecentCall[]
  approvals: ApprovalInfo[]
  toolChanges: ToolChangeInfo[]
  mcpUrl: string
  startAtLogin: boolean
  /** the core failed (e.g. the database could not be opened) */
  coreError?: string
}

export type TrayAction =
  | { kind: 'open-activity'; id?: string }
  | { kind: 'open-view'; view: 'servers' | 'approvals' | 'dashboard'; server?: string }
  | { kind: 'approve'; id: string }
  | { kind: 'deny'; id: string }
  | { kind: 'server'; op: 'enable' | 'disable' | 'restart'; name: string }
  | { kind: 'export'; format: ExportFormat | 'html' }
  | { kind: 'copy-endpoint' }
  | { kind: 'toggle-start-at-login' }
  | { kind: 'open-web-ui' }
  | { kind: 'quit' }

export interface TrayMenuItem {
  label?: string
  type?: 'normal' | 'separator' | 'checkbox' | 'submenu'
  enabled?: boolean
  checked?: boolean
  /** secondary text (macOS shows it under the label; elsewhere appended) */
  sublabel?: string
  action?: TrayAction
  submenu?: TrayMenuItem[]
}

export type TrayIconState = 'normal' | 'attention' | 'error'

const STATUS_MARK: Record<ActivityStatus, string> = {
  success: '✓',
  error: '✗',
  blocked: '⛔',
  timeout: '⏱',
  pending: '…',
}

/** Consecutive calls of the same server, tool and status collapse into one entry with a count. */
export function collapseRecentCalls(calls: RecentCall[], max: number): Array<RecentCall & { count: number }> {
  return collapseRepeats(calls, max, (a, b) => a.server === b.server && a.tool === b.tool && a.status === b.status).map(({ item, count }) => ({ ...item, count }))
}

export function trayIconState(state: TrayState): TrayIconState {
  if (state.coreError) return 'error'
  const enabled = state.servers.filter((s) => s.enabled)
  if (enabled.some((s) => s.health.level === 'unhealthy' && !s.quarantined)) return 'error'
  if (state.approvals.length || state.toolChanges.length || state.servers.some((s) => s.quarantined)) return 'attention'
  return 'normal'
}

export function statusLine(state: TrayState): string {
  if (state.coreError) return `Core error: ${state.coreError}`
  const connected = state.servers.filter((s) => s.connected).length
  const parts = [`${connected}/${state.servers.length} servers connected`, `${state.callsToday} calls today`]
  if (state.errorsToday) parts.push(`${state.errorsToday} errors`)
  if (state.blockedToday) parts.push(`${state.blockedToday} blocked`)
  return parts.join(' · ')
}

export function buildTrayMenu(state: TrayState): TrayMenuItem[] {
  const items: TrayMenuItem[] = [{ label: statusLine(state), enabled: false }, { type: 'separator' }]

  const recent = collapseRecentCalls(state.recentCalls, 5)
  items.push({
    label: 'Recent calls',
    type: 'submenu',
    submenu: recent.length
      ? recent.map((c) => ({
          label: `${STATUS_MARK[c.status]} ${c.server}:${c.tool}${c.count > 1 ? ` x${c.count}` : ''}`,
          sublabel: c.reason,
          action: { kind: 'open-activity', id: c.id },
        }))
      : [{ label: 'No calls yet', enabled: false }],
  })

  const attention: TrayMenuItem[] = []
  for (const s of state.servers.filter((x) => x.quarantined)) {
    attention.push({
      label: `${s.name} is quarantined — Review…`,
      sublabel: s.findings.length ? `${s.findings.length} finding(s)` : undefined,
      action: { kind: 'open-view', view: 'servers', server: s.name },
    })
  }
  for (const c of state.toolChanges) {
    attention.push({ label: `${c.server}:${c.tool} changed — Review…`, action: { kind: 'open-view', view: 'servers', server: c.server } })
  }
  for (const a of state.approvals) {
    attention.push({
      label: `Approve ${a.server}:${a.tool}?`,
      sublabel: a.reason ?? a.rule,
      type: 'submenu',
      submenu: [
        { label: 'Approve', action: { kind: 'approve', id: a.id } },
        { label: 'Deny', action: { kind: 'deny', id: a.id } },
        { label: 'Show arguments…', action: { kind: 'open-view', view: 'approvals' } },
      ],
    })
  }
  if (attention.length) items.push({ label: `Needs attention (${attention.length})`, type: 'submenu', submenu: attention })

  items.push({
    label: 'Servers',
    type: 'submenu',
    submenu: state.servers.length
      ? state.servers.map((s) => ({
          label: `${s.connected ? '●' : '○'} ${s.name}`,
          sublabel: s.health.summary,
          type: 'submenu' as const,
          submenu: [
            s.enabled
              ? { label: 'Disable', action: { kind: 'server', op: 'disable', name: s.name } as TrayAction }
              : { label: 'Enable', action: { kind: 'server', op: 'enable', name: s.name } as TrayAction },
            { label: 'Restart', enabled: s.enabled, action: { kind: 'server', op: 'restart', name: s.name } as TrayAction },
          ],
        }))
      : [{ label: 'No servers configured', enabled: false }],
  })

  items.push(
    { type: 'separator' },
    { label: 'Open Activity…', action: { kind: 'open-activity' } },
    {
      label: 'Export logs',
      type: 'submenu',
      submenu: [
        { label: 'JSON Lines…', action: { kind: 'export', format: 'json' } },
        { label: 'CSV…', action: { kind: 'export', format: 'csv' } },
        { label: 'HTML report…', action: { kind: 'export', format: 'html' } },
      ],
    },
    { label: 'Copy MCP endpoint', sublabel: state.mcpUrl, action: { kind: 'copy-endpoint' } },
    { label: 'Start at login', type: 'checkbox', checked: state.startAtLogin, action: { kind: 'toggle-start-at-login' } },
    { label: 'Open web UI', action: { kind: 'open-web-ui' } },
    { type: 'separator' },
    { label: 'Quit MCPProxy', action: { kind: 'quit' } },
  )
  return items
}
