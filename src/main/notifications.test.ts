import { describe, expect, it } from 'vitest'
import { notificationFor } from './notifications'

const t = '2026-01-01T00:00:00.000Z'

describe('desktop notifications', () => {
  it('notifies when a server is quarantined, not when it is released', () => {
    expect(notificationFor('activity.quarantine_change', { id: 'a', server: 'shady', quarantined: true, reason: 'hidden unicode in tool description', timestamp: t })).toEqual({
      title: 'Server quarantined: shady',
      body: 'hidden unicode in tool description',
      target: { view: 'servers', server: 'shady' },
    })
    expect(notificationFor('activity.quarantine_change', { id: 'a', server: 'shady', quarantined: false, timestamp: t })).toBeNull()
  })

  it('notifies blocked calls with the reason and opens the record', () => {
    const spec = notificationFor('activity.policy_decision', { id: 'r1', server: 'github', tool: 'delete_repo', decision: 'deny', reason: 'destructive=deny', timestamp: t })
    expect(spec).toEqual({ title: 'Blocked github:delete_repo', body: 'destructive=deny', target: { view: 'activity', id: 'r1' } })
    expect(notificationFor('activity.policy_decision', { id: 'r2', decision: 'allow', timestamp: t })).toBeNull()
  })

  it('offers Approve / Deny for approval requests', () => {
    const spec = notificationFor('activity.approval_requested', { id: 'ap1', server: 'fs', tool: 'write_file', rule: 'rules[2]', expires_at: t, timestamp: t })
    expect(spec?.approvalId).toBe('ap1')
    expect(spec?.title).toBe('Approval needed: fs:write_file')
    expect(spec?.body).toBe('rules[2]')
  })

  it('notifies a changed tool definition only', () => {
    expect(notificationFor('servers.changed', { server: 'everything', reason: 'tool_changed', timestamp: t })?.title).toBe('Tool definition changed on everything')
    expect(notificationFor('servers.changed', { server: 'everything', reason: 'connected', timestamp: t })).toBeNull()
    expect(notificationFor('activity.tool_call.started', { id: 'x', server: 's', tool: 't', timestamp: t })).toBeNull()
  })
})
