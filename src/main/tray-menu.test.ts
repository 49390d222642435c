import { describe, expect, it } from 'vitest'
import type { ServerInfo } from '../shared/servers'
import { buildTrayMenu, collapseRecentCalls, statusLine, trayIconState, type RecentCall, type TrayMenuItem, type TrayState } from './tray-menu'

function server(name: string, over: Partial<ServerInfo> = {}): ServerInfo {
  return {
    name,
    protocol: 'stdio',
    enabled: true,
    connected: true,
    quarantined: false,
    state: 'ready',
    tool_count: 3,
    changed_tools: [],
    rejected_tools: [],
    findings: [],
    health: { level: 'healthy', admin_state: 'enabled', summary: 'Connected (3 tools)', action: '' },
    ...over,
  }
}

function call(i: number, over: Partial<RecentCall> = {}): RecentCall {
  return { id: `id${i}`, server: 'everything', tool: 'echo', status: 'success', timestamp: new Date(1_700_000_000_000 - i * 1000).toISOString(), ...over }
}

function baseState(over: Partial<TrayState> = {}): TrayState {
  return {
    servers: [server('everything'), server('memory', { connected: false, state: 'backoff', health: { level: 'degraded', admin_state: 'enabled', summary: 'Reconnecting', action: 'view_logs' } })],
    callsToday: 12,
    errorsToday: 2,
    blockedToday: 1,
    recentCalls: [],
    approvals: [],
    toolChanges: [],
    mcpUrl: 'http://127.0.0.1:8080/mcp',
    startAtLogin: false,
    ...over,
  }
}

const find = (items: TrayMenuItem[], label: string): TrayMenuItem | undefined => items.find((i) => i.label?.startsWith(label))

describe('tray menu model', () => {
  it('status line counts connected servers, calls, errors and blocks', () => {
    expect(statusLine(baseState())).toBe('1/2 servers connected · 12 calls today · 2 errors · 1 blocked')
    expect(statusLine(baseState({ errorsToday: 0, blockedToday: 0 }))).toBe('1/2 servers connected · 12 calls today')
    expect(buildTrayMenu(baseState())[0]).toEqual({ label: statusLine(baseState()), enabled: false })
  })

  it('collapses repeated calls as xN and keeps at most five entries', () => {
    const calls = [call(0), call(1), call(2), call(3, { status: 'error' }), call(4, { tool: 'add' }), call(5), call(6, { server: 'memory' }), call(7, { tool: 'x' }), call(8, { tool: 'y' })]
    const collapsed = collapseRecentCalls(calls, 5)
    expect(collapsed.map((c) => [c.tool, c.status, c.count])).toEqual([
      ['echo', 'success', 3],
      ['echo', 'error', 1],
      ['add', 'success', 1],
      ['echo', 'success', 1],
      ['echo', 'success', 1],
    ])
    const recent = find(buildTrayMenu(baseState({ recentCalls: calls })), 'Recent calls')!
    expect(recent.submenu!.map((i) => i.label)).toEqual([
      '✓ everything:echo x3',
      '✗ everything:echo',
      '✓ everything:add',
      '✓ everything:echo',
      '✓ memory:echo',
    ])
    expect(recent.submenu![0]!.action).toEqual({ kind: 'open-activity', id: 'id0' })
  })

  it('marks blocked calls with their reason as a subtitle', () => {
    const menu = buildTrayMenu(baseState({ recentCalls: [call(0, { status: 'blocked', reason: 'destructive=deny' })] }))
    const item = find(menu, 'Recent calls')!.submenu![0]!
    expect(item.label).toBe('⛔ everything:echo')
    expect(item.sublabel).toBe('destructive=deny')
  })

  it('lists quarantined servers, changed tools and approvals under Needs attention', () => {
    const state = baseState({
      servers: [server('everything'), server('shady', { quarantined: true, findings: [{ tool: 't', kind: 'hidden_unicode', detail: 'x', severity: 'high' }], health: { level: 'degraded', admin_state: 'quarantined', summary: 'Quarantined', action: 'approve' } })],
      toolChanges: [{ server: 'everything', tool: 'echo', new_definition: {}, new_hash: 'b' }],
      approvals: [{ id: 'ap1', server: 'everything', tool: 'delete_all', arguments: {}, rule: 'rules[0]', requested_at: '', expires_at: '' }],
    })
    const attention = find(buildTrayMenu(state), 'Needs attention')!
    expect(attention.label).toBe('Needs attention (3)')
    expect(attention.submenu!.map((i) => i.label)).toEqual(['shady is quarantined — Review…', 'everything:echo changed — Review…', 'Approve everything:delete_all?'])
    const approval = attention.submenu![2]!
    expect(approval.submenu!.map((i) => i.action)).toEqual([
      { kind: 'approve', id: 'ap1' },
      { kind: 'deny', id: 'ap1' },
      { kind: 'open-view', view: 'approvals' },
    ])
    expect(trayIconState(state)).toBe('attention')
  })

  it('has no Needs attention entry when nothing needs it', () => {
    expect(find(buildTrayMenu(baseState()), 'Needs attention')).toBeUndefined()
    expect(trayIconState(baseState())).toBe('normal')
  })

  it('offers enable for disabled servers and disable for enabled ones', () => {
    const state = baseState({ servers: [server('a'), server('b', { enabled: false, connected: false })] })
    const servers = find(buildTrayMenu(state), 'Servers')!.submenu!
    expect(servers[0]!.submenu![0]!.action).toEqual({ kind: 'server', op: 'disable', name: 'a' })
    expect(servers[1]!.submenu![0]!.action).toEqual({ kind: 'server', op: 'enable', name: 'b' })
    expect(servers[1]!.submenu![1]!.enabled).toBe(false)
  })

  it('shows the error icon for an unhealthy enabled server or a core error', () => {
    const unhealthy = baseState({ servers: [server('x', { connected: false, health: { level: 'unhealthy', admin_state: 'enabled', summary: 'Failed', action: 'restart' } })] })
    expect(trayIconState(unhealthy)).toBe('error')
    expect(trayIconState(baseState({ coreError: 'database is from a newer version' }))).toBe('error')
    expect(statusLine(baseState({ coreError: 'boom' }))).toBe('Core error: boom')
  })

  it('ends with export, endpoint, login, web UI and quit entries', () => {
    const menu = buildTrayMenu(baseState({ startAtLogin: true }))
    const labels = menu.map((i) => i.label).filter(Boolean)
    expect(labels.slice(-6)).toEqual(['Open Activity…', 'Export logs', 'Copy MCP endpoint', 'Start at login', 'Open web UI', 'Quit MCPProxy'])
    expect(find(menu, 'Export logs')!.submenu!.map((i) => i.action)).toEqual([
      { kind: 'export', format: 'json' },
      { kind: 'export', format: 'csv' },
      { kind: 'export', format: 'html' },
    ])
    expect(find(menu, 'Start at login')!.checked).toBe(true)
    expect(find(menu, 'Copy MCP endpoint')!.sublabel).toBe('http://127.0.0.1:8080/mcp')
  })
})
