/** How the core names a policy rule that has no `name`: its place in `policy.rules`. */
const UNNAMED_RULE = /^rules\[(\d+)\]$/

export interface PolicyRuleLabel {
  /** what a person reads: the rule's name, or "Policy rule 1" for the first unnamed rule */
  text: string
  named: boolean
  /** where the rule sits in the config, for an unnamed rule */
  where?: string
  /** an unnamed rule's place in `policy.rules`, counted from 1 */
  number?: number
}

/** A rule as the core reports it (`name`, or `rules[0]` for an unnamed one), for people. */
export function policyRuleLabel(rule: string): PolicyRuleLabel {
  const m = UNNAMED_RULE.exec(rule)
  if (!m) return { text: rule, named: true }
  const number = Number(m[1]) + 1
  return { text: `Policy rule ${number}`, named: false, where: `policy.rules[${m[1]}] in mcp_config.json`, number }
}
