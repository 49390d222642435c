import { useEffect, useState, type ReactNode } from 'react'
import { useShallow } from 'zustand/shallow'
import { ErrorMessage } from '../../components/error-message'
import { JsonTree } from '../../components/json-tree'
import { PolicyRule } from '../../components/policy-rule'
import { formatTimeLeft } from '../../lib/format'
import { selectOpenApprovals } from '../../stores/approvals-store'
import { useApprovalsStore } from '../../stores/stores-context'
import { IntentBadge } from '../activity/marks'

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs)
    return () => clearInterval(t)
  }, [intervalMs])
  return now
}

/** Calls held by a policy `ask` rule, waiting for a human. */
export function ApprovalsView(): ReactNode {
  const opened = useApprovalsStore((s) => s.opened)
  const decided = useApprovalsStore((s) => s.decided)
  const error = useApprovalsStore((s) => s.error)
  const loaded = useApprovalsStore((s) => s.loaded)
  const deciding = useApprovalsStore((s) => s.deciding)
  const now = useNow(1000)
  const approvals = useApprovalsStore(useShallow((s) => selectOpenApprovals(s, now)))

  useEffect(() => {
    void opened()
  }, [opened])

  return (
    <div>
      <h1>Pending approvals</h1>
      <ErrorMessage error={error} onRetry={() => void opened()} />
      {loaded && approvals.length === 0 && <p className="empty">No calls are waiting for approval.</p>}
      <ul className="cards">
        {approvals.map((a) => (
          <li key={a.id} className="card" aria-labelledby={`approval-${a.id}`}>
            <header>
              <h2 id={`approval-${a.id}`}>
                {a.server}:{a.tool}
              </h2>
              <span className="time-left" role="timer">
                {formatTimeLeft(a.expires_at, now)}
              </span>
            </header>
            <dl>
              <dt>Intent</dt>
              <dd>
                <IntentBadge intent={a.intent} />
                {a.intent?.reason && <q> {a.intent.reason}</q>}
              </dd>
              {a.rule && (
                <>
                  <dt>Rule</dt>
                  <dd>
                    <PolicyRule rule={a.rule} />
                  </dd>
                </>
              )}
              {a.reason && (
                <>
                  <dt>Reason</dt>
                  <dd>{a.reason}</dd>
                </>
              )}
            </dl>
            <h3>Arguments</h3>
            <JsonTree value={a.arguments} label="arguments" />
            <div className="actions">
              <button type="button" className="primary" disabled={!!deciding[a.id]} onClick={() => void decided(a.id, 'approve')}>
                Approve
              </button>
              <button type="button" className="danger" disabled={!!deciding[a.id]} onClick={() => void decided(a.id, 'deny')}>
                Deny
              </button>
            </div>
          </li>
        ))}
      </ul>
    </div>
  )
}
