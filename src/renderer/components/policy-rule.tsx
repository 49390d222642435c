import type { ReactNode } from 'react'
import { policyRuleLabel } from '../../shared/policy-rule'

/** A policy rule by its name, or, for an unnamed rule, by its number and where it sits in the config. */
export function PolicyRule({ rule }: { rule: string }): ReactNode {
  const label = policyRuleLabel(rule)
  if (label.named) return <code>{label.text}</code>
  return (
    <>
      {label.text} <span className="muted">(unnamed, {label.where})</span>
    </>
  )
}
