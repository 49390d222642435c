import { describe, expect, it } from 'vitest'
import type { HealthAction, HealthInfo } from '../../shared/servers'
import { healthCommand } from './servers'

const health = (action: HealthAction): HealthInfo => ({ level: 'degraded', admin_state: 'enabled', summary: '', action })

describe('healthCommand', () => {
  it("turns a server's health action into the command that does it", () => {
    expect(healthCommand({ name: 'gh', quarantined: true, health: health('approve') })).toBe('review: mcpproxy servers tools gh, then servers unquarantine gh')
    expect(healthCommand({ name: 'gh', quarantined: false, health: health('approve') })).toBe('mcpproxy servers tools gh, then servers approve-tools gh')
    expect(healthCommand({ name: 'gh', quarantined: false, health: health('view_logs') })).toBe('mcpproxy servers logs gh')
    expect(healthCommand({ name: 'gh', quarantined: false, health: health('enable') })).toBe('mcpproxy servers enable gh')
    expect(healthCommand({ name: 'gh', quarantined: false, health: health('restart') })).toBe('mcpproxy servers restart gh')
    expect(healthCommand({ name: 'gh', quarantined: false, health: health('login') })).toMatch(/^log in to gh/)
  })
})
