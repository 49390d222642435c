import { describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../shared/activity'
import { displayWidth } from './output'
import { detailsOf, renderActivityDetail, renderActivityTable, renderEventLine, renderRecordLine, renderResponse, renderSummary, renderValue, renderVerify } from './format-activity'

process.env.NO_COLOR = '1'

const base: ActivityRecord = { id: '01J0000000000000000000000A', type: 'tool_call', timestamp: '2025-12-20T10:32:15.000Z', status: 'success' }

describe('activity formatting', () => {
  it('lists records as the RFC table, with the intent column only when asked', () => {
    const rows = [
      { ...base, server_name: 'github', tool_name: 'search_code', duration_ms: 234 },
      { ...base, id: 'b', type: 'policy_decision' as const, server_name: 'github', tool_name: 'delete_repo', status: 'blocked' as const, policy: { decision: 'deny' as const } },
    ]
    const plain = renderActivityTable(rows, { now: new Date('2025-12-20T12:00:00Z') }).split('\n')
    expect(plain[0]).toMatch(/^ID\s+TIME\s+TYPE\s+SERVER\s+DETAILS\s+STATUS\s+DURATION$/)
    // the short id is the end of the ULID (the start is the time, shared by neighbours); a short id is shown whole
    expect(plain[1]).toMatch(/^0000000A\s+10:32:15\s+tool_call\s+github\s+search_code\s+success\s+234ms$/)
    expect(plain[2]).toMatch(/^b\s+/)
    expect(plain[2]).toMatch(/policy\s+github\s+delete_repo BLOCKED\s+blocked$/)
    const withIntent = renderActivityTable([{ ...rows[0]!, intent: { operation_type: 'destructive' } }], { showIntent: true })
    expect(withIntent.split('\n')[0]).toMatch(/DETAILS\s+INTENT\s+STATUS/)
    expect(withIntent).toContain('⚠️ destructive')
  })

  it('names the change in DETAILS for non-call records', () => {
    expect(detailsOf({ ...base, type: 'quarantine_change', metadata: { quarantined: true, reason: 'tool poisoning' } })).toBe('quarantined: tool poisoning')
    expect(detailsOf({ ...base, type: 'server_change', metadata: { action: 'restart' } })).toBe('restart')
    expect(detailsOf({ ...base, type: 'tool_change', tool_name: 'echo', metadata: { action: 'pinned' } })).toBe('echo pinned')
    expect(detailsOf({ ...base, type: 'tool_change', tool_name: 'echo' })).toBe('echo changed')
    expect(detailsOf({ ...base, type: 'system_stop', metadata: { transport: 'wrap', exit_code: 3 } })).toBe('wrap stop (exit 3)')
    expect(detailsOf({ ...base, type: 'system_start', metadata: { transport: 'wrap' } })).toBe('wrap start')
    expect(detailsOf({ ...base, type: 'mcp_message', metadata: { method: 'sampling/createMessage', direction: 'server_to_client' } })).toBe('← sampling/createMessage')
  })

  it('renders arguments YAML-like and MCP text results by their content', () => {
    expect(renderValue({ query: 'function handleError', opts: { n: 3, tags: ['a'] }, items: [{ path: 'a.ts', size: 1 }] })).toEqual([
      '  query: "function handleError"',
      '  opts:',
      '    n: 3',
      '    tags:',
      '      - "a"',
      '  items:',
      '    - path: "a.ts"',
      '      size: 1',
    ])
    expect(renderResponse({ content: [{ type: 'text', text: '{"matches":3}' }, { type: 'text', text: 'plain\ntext' }] })).toEqual(['  matches: 3', '  plain', '  text'])
  })

  it('aligns columns holding emoji (two columns wide, also with the emoji selector)', () => {
    const table = renderActivityTable(
      [
        { ...base, intent: { operation_type: 'write' } },
        { ...base, intent: { operation_type: 'read' } },
        { ...base, intent: { operation_type: 'destructive' } },
      ],
      { showIntent: true },
    ).split('\n')
    const statusAt = (line: string): number => displayWidth(line.slice(0, line.indexOf('success')))
    expect(new Set(table.slice(1).map(statusAt)).size).toBe(1)
  })

  it('shows a record in the RFC detail layout', () => {
    const text = renderActivityDetail({ ...base, server_name: 'github', tool_name: 'search_code', duration_ms: 234, arguments: { query: 'x' }, response: { content: [{ type: 'text', text: 'ok' }] } })
    expect(text).toContain(`Activity: ${base.id}`)
    expect(text).toMatch(/Server:\s+github/)
    expect(text).toMatch(/Duration:\s+234ms/)
    expect(text).toContain('Arguments:\n  query: "x"')
    expect(text).toContain('Response:\n  ok')
  })

  it('prints one watch line per completed call and policy decision, hides starts unless verbose', () => {
    const ts = '2025-12-20T10:32:20.000Z'
    expect(renderEventLine('activity.tool_call.completed', { server: 'github', tool: 'search_code', status: 'success', duration_ms: 234, timestamp: ts })).toMatch(/^\d\d:\d\d:20 \[tool_call\] github:search_code → success \(234ms\)$/)
    expect(renderEventLine('activity.policy_decision', { server: 'slack', tool: 'post_message', decision: 'deny', reason: 'external_url', timestamp: ts })).toMatch(/\[policy\] slack:post_message → blocked \(external_url\)$/)
    expect(renderEventLine('activity.tool_call.started', { server: 's', tool: 't', timestamp: ts })).toBeNull()
    expect(renderEventLine('activity.tool_call.started', { server: 's', tool: 't', timestamp: ts }, { verbose: true })).toMatch(/started/)
  })

  it('prints a watch line for every record type, naming the change', () => {
    const ts = '2025-12-20T10:32:20.000Z'
    expect(renderRecordLine({ ...base, timestamp: ts, type: 'server_change', server_name: 'github', metadata: { action: 'disabled' } })).toMatch(/^\d\d:\d\d:20 \[server\] github disabled → success$/)
    expect(renderRecordLine({ ...base, timestamp: ts, type: 'quarantine_change', server_name: 'github', metadata: { quarantined: true, reason: 'new server' } })).toMatch(/\[quarantine\] github quarantined: new server → success$/)
    expect(renderRecordLine({ ...base, timestamp: ts, type: 'tool_change', server_name: 'github', tool_name: 'search_code' })).toMatch(/\[tool_change\] github:search_code changed → success$/)
    expect(renderRecordLine({ ...base, timestamp: ts, type: 'system_start' })).toMatch(/\[system\] start → success$/)
    expect(renderRecordLine({ ...base, timestamp: ts, server_name: 'github', tool_name: 'search_code', duration_ms: 234 })).toMatch(/\[tool_call\] github:search_code → success \(234ms\)$/)
    expect(renderRecordLine({ ...base, timestamp: ts, type: 'policy_decision', status: 'blocked', server_name: 'slack', tool_name: 'post_message', policy: { decision: 'deny', reason: 'external_url' } })).toMatch(
      /\[policy\] slack:post_message → blocked \(external_url\)$/,
    )
  })

  it('labels the error rate as one over tool calls (the status counts cover every record)', () => {
    const text = renderSummary({
      period: '24h',
      start_time: '2025-12-19T12:00:00.000Z',
      end_time: '2025-12-20T12:00:00.000Z',
      total: 9,
      by_status: { success: 7, error: 2, blocked: 0, timeout: 0, pending: 0 },
      by_type: { tool_call: 5, server_change: 4 },
      error_rate: 0.4,
      p50_duration_ms: null,
      p95_duration_ms: null,
      top_servers: [],
      top_tools: [],
    })
    expect(text).toMatch(/By status:\s+success 7, error 2/)
    expect(text).toMatch(/Error rate \(tool calls\):\s+40\.0%/)
  })

  it('names the first bad record when the chain is broken', () => {
    expect(renderVerify({ ok: false, checked: 10, pending: 0, problem: { kind: 'edited', id: 'X1', seq: 4, detail: 'hash mismatch' } })).toBe('BROKEN: edited at record X1, seq 4: hash mismatch (10 records checked)')
    expect(renderVerify({ ok: true, checked: 3, pending: 0 })).toMatch(/^OK/)
  })
})
