import { describe, expect, it } from 'vitest'
import { policyRuleLabel } from './policy-rule'

describe('policy rule label', () => {
  it('numbers an unnamed rule from 1 and says where it is in the config', () => {
    expect(policyRuleLabel('rules[0]')).toEqual({ text: 'Policy rule 1', named: false, where: 'policy.rules[0] in mcp_config.json', number: 1 })
    expect(policyRuleLabel('rules[11]').text).toBe('Policy rule 12')
  })

  it('keeps a named rule as it is', () => {
    expect(policyRuleLabel('ask-sum')).toEqual({ text: 'ask-sum', named: true })
    expect(policyRuleLabel('my rules[0] copy')).toEqual({ text: 'my rules[0] copy', named: true })
  })
})
