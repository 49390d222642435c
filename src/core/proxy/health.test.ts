import { describe, expect, it } from 'vitest'
import { computeHealth, UNHEALTHY_AFTER_FAILURES, type HealthInput } from './health'

const base: HealthInput = {
  enabled: true,
  quarantined: false,
  state: 'ready',
  everConnected: true,
  failures: 0,
  toolCount: 3,
  changedTools: [],
  findingCount: 0,
  hasLogs: true,
}
const h = (over: Partial<HealthInput>): ReturnType<typeof computeHealth> => computeHealth({ ...base, ...over })

describe('computeHealth', () => {
  it('connected and trusted is healthy with no action', () => {
    expect(h({})).toEqual({ level: 'healthy', admin_state: 'enabled', summary: 'Connected (3 tools)', action: '' })
    expect(h({ toolCount: 1 }).summary).toBe('Connected (1 tool)')
  })

  it('disabled wins over everything and asks to enable', () => {
    expect(h({ enabled: false, quarantined: true, state: 'stopped' })).toEqual({ level: 'degraded', admin_state: 'disabled', summary: 'Disabled', action: 'enable' })
  })

  it('quarantined asks for approval, naming findings when there are any', () => {
    expect(h({ quarantined: true })).toMatchObject({ level: 'degraded', admin_state: 'quarantined', summary: 'Quarantined: 3 tools to review', action: 'approve' })
    expect(h({ quarantined: true, findingCount: 2 }).summary).toBe('Quarantined: 2 tool-poisoning findings to review')
    expect(h({ quarantined: true, state: 'connecting', everConnected: false })).toMatchObject({ summary: 'Quarantined; connecting…', action: '' })
    expect(h({ quarantined: true, state: 'backoff', failures: 1, lastError: 'boom' })).toMatchObject({ level: 'unhealthy', admin_state: 'quarantined', action: 'view_logs' })
  })

  it('tools that could not be pinned make the server unhealthy, saying whether the disk is full, until a listing is pinned', () => {
    const down = { state: 'backoff' as const, failures: 1, lastError: 'the tools could not be pinned: database or disk is full (SQLITE_FULL)', retryInMs: 1500 }
    expect(h({ ...down, pinsFailed: 'disk_full' })).toEqual({
      level: 'unhealthy',
      admin_state: 'enabled',
      summary: 'Disk full: tools cannot be pinned',
      detail: 'the tools could not be pinned: database or disk is full (SQLITE_FULL); retrying in 2 s',
      action: 'restart',
    })
    expect(h({ ...down, pinsFailed: 'error' }).summary).toBe('Tools cannot be pinned')
    expect(h({ pinsFailed: 'disk_full' }).level).toBe('healthy')
  })

  it('changed tools make a connected server degraded until approved', () => {
    expect(h({ changedTools: ['a', 'b'] })).toMatchObject({ level: 'degraded', summary: '2 tools changed since approval', detail: 'blocked until re-approved: a, b', action: 'approve' })
  })

  it('first connect is degraded; failing before ever connecting is unhealthy', () => {
    expect(h({ state: 'connecting', everConnected: false })).toMatchObject({ level: 'degraded', summary: 'Connecting…', action: '' })
    expect(h({ state: 'backoff', everConnected: false, failures: 1, lastError: 'spawn x ENOENT', retryInMs: 1500 })).toMatchObject({
      level: 'unhealthy',
      summary: 'Connection failed',
      detail: 'spawn x ENOENT; retrying in 2 s',
      action: 'view_logs',
    })
    expect(h({ state: 'backoff', everConnected: false, failures: 1, lastError: 'fetch failed', hasLogs: false }).action).toBe('restart')
  })

  it('a server that was up is degraded while reconnecting, unhealthy after repeated failures', () => {
    expect(h({ state: 'backoff', failures: 1, lastError: 'process exited' })).toMatchObject({ level: 'degraded', summary: 'Reconnecting' })
    expect(h({ state: 'connecting', failures: UNHEALTHY_AFTER_FAILURES - 1 }).level).toBe('degraded')
    expect(h({ state: 'backoff', failures: UNHEALTHY_AFTER_FAILURES }).level).toBe('unhealthy')
  })

  it('an authentication failure asks for login', () => {
    expect(h({ state: 'backoff', everConnected: false, failures: 1, lastError: 'HTTP 401 Unauthorized' })).toMatchObject({ summary: 'Authentication required', action: 'login' })
  })
})
