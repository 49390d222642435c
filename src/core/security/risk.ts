/**
 * A record's risk score, 0 to 100: what a call exposed and what it could change, from fields the
 * record already holds (its final state: request and response scanned, status known). Tool calls
 * and policy decisions get one; other records none. The weights are ours, stated here so that a
 * reader of the log can check a score by hand:
 *   secrets found             40, +10 per further kind (detection_types)
 *   personal data found       20, +5 per further kind (pii_detected)
 *   destructive tool          25    writes 10    assumed to write 5    listed sensitive 15
 *   private data (intent)     10    declared irreversible 10
 *   blocked by a gate         10
 */
import type { ActivityRecord } from '../../shared/activity'

type Scored = Pick<ActivityRecord, 'type' | 'status' | 'flags' | 'detection_types' | 'pii_detected' | 'intent'>

const FLAG_WEIGHTS: Record<string, number> = { destructive: 25, write: 10, assumed_write: 5, sensitive: 15 }

const kinds = (list: string[] | undefined, first: number, more: number): number => (list?.length ? first + more * (list.length - 1) : 0)

export function riskScore(r: Scored): number | undefined {
  if (r.type !== 'tool_call' && r.type !== 'policy_decision') return undefined
  let score = kinds(r.detection_types, 40, 10) + kinds(r.pii_detected, 20, 5)
  for (const flag of new Set(r.flags ?? [])) score += FLAG_WEIGHTS[flag] ?? 0
  if (r.intent?.data_sensitivity === 'private') score += 10
  if (r.intent?.reversible === false) score += 10
  if (r.status === 'blocked') score += 10
  return Math.min(100, score)
}

/** The record with its risk score when it is of a type that has one and none was given. */
export function withRiskScore<T extends Scored & { risk_score?: number }>(r: T): T {
  if (r.risk_score !== undefined) return r
  const score = riskScore(r)
  return score === undefined ? r : { ...r, risk_score: score }
}
