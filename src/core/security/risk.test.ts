import { describe, expect, it } from 'vitest'
import { riskScore } from './risk'

describe('riskScore', () => {
  it('is 0 for a plain read, and only tool calls and policy decisions have one', () => {
    expect(riskScore({ type: 'tool_call', status: 'success' })).toBe(0)
    expect(riskScore({ type: 'policy_decision', status: 'blocked' })).toBe(10)
    expect(riskScore({ type: 'server_change', status: 'success', detection_types: ['github_token'] })).toBeUndefined()
  })

  it('adds what was exposed and what the tool can change, as the weights in risk.ts say', () => {
    expect(riskScore({ type: 'tool_call', status: 'success', detection_types: ['github_token'] })).toBe(40)
    expect(riskScore({ type: 'tool_call', status: 'success', detection_types: ['github_token', 'aws_access_key'], pii_detected: ['email'] })).toBe(70)
    expect(riskScore({ type: 'tool_call', status: 'success', flags: ['destructive', 'sensitive'] })).toBe(40)
    expect(riskScore({ type: 'tool_call', status: 'success', flags: ['assumed_write', 'assumed_write'] })).toBe(5)
    expect(
      riskScore({ type: 'tool_call', status: 'blocked', flags: ['write'], intent: { operation_type: 'write', data_sensitivity: 'private', reversible: false } }),
    ).toBe(40)
  })

  it('never goes past 100', () => {
    expect(
      riskScore({
        type: 'tool_call',
        status: 'blocked',
        detection_types: ['a', 'b', 'c', 'd'],
        pii_detected: ['email', 'phone'],
        flags: ['destructive', 'sensitive', 'write'],
      }),
    ).toBe(100)
  })
})
