import type { ReactNode } from 'react'
import type { ActivityStatus, IntentInfo } from '../../../shared/activity'

const STATUS_ICON: Record<ActivityStatus, string> = { success: '✓', error: '✕', blocked: '⊘', timeout: '⏱', pending: '…' }

export function StatusBadge({ status }: { status: ActivityStatus }): ReactNode {
  return (
    <span className={`status status-${status}`}>
      <span aria-hidden="true">{STATUS_ICON[status]} </span>
      {status}
    </span>
  )
}

/** Destructive and irreversible intents get a mark that does not rely on colour alone. */
export function IntentBadge({ intent }: { intent?: IntentInfo }): ReactNode {
  if (!intent?.operation_type) return <span className="muted">–</span>
  const op = intent.operation_type
  return (
    <span className={`intent intent-${op}`}>
      {op === 'destructive' && <span aria-hidden="true">⚠ </span>}
      {op}
      {intent.reversible === false && <span className="irreversible"> · irreversible</span>}
    </span>
  )
}
