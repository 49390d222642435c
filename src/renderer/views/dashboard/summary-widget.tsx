import { useEffect, useMemo, type ReactNode } from 'react'
import { ErrorMessage } from '../../components/error-message'
import { formatAgo, formatDuration } from '../../lib/format'
import { routeHref } from '../../lib/route'
import { selectMaxHour, selectRecentCollapsed } from '../../stores/summary-store'
import { useSummaryStore } from '../../stores/stores-context'
import { StatusBadge } from '../activity/marks'

/** Calls today, a 24 h histogram, p95 and the latest calls (repeats collapsed). */
export function SummaryWidget(): ReactNode {
  const opened = useSummaryStore((s) => s.opened)
  const closed = useSummaryStore((s) => s.closed)
  const today = useSummaryStore((s) => s.today)
  const hours = useSummaryStore((s) => s.hours)
  const p95 = useSummaryStore((s) => s.p95)
  const error = useSummaryStore((s) => s.error)
  // collapsing builds new objects: select the stable rows, derive the rest here
  const rows = useSummaryStore((s) => s.recent)
  const recent = useMemo(() => selectRecentCollapsed({ recent: rows }), [rows])
  const max = useSummaryStore(selectMaxHour)

  useEffect(() => {
    void opened()
    return closed
  }, [opened, closed])

  return (
    <section className="card summary" aria-labelledby="summary-title">
      <header>
        <h2 id="summary-title">Tool call activity</h2>
        <a className="button" href={routeHref('activity')}>
          View all
        </a>
      </header>
      <ErrorMessage error={error} onRetry={() => void opened()} />
      <ul className="stats">
        <li>
          <strong>{today?.total ?? '–'}</strong> calls today
        </li>
        <li className="ok">
          <a href={routeHref('activity', undefined, new URLSearchParams({ type: 'tool_call', status: 'success', range: '24h' }))}>
            <strong>{today?.success ?? '–'}</strong> successful
          </a>
        </li>
        <li className="danger">
          <a href={routeHref('activity', undefined, new URLSearchParams({ type: 'tool_call', status: 'error,timeout', range: '24h' }))}>
            <strong>{today?.error ?? '–'}</strong> errors
          </a>
        </li>
        <li className="warn">
          <a href={routeHref('activity', undefined, new URLSearchParams({ type: 'tool_call', status: 'blocked', range: '24h' }))}>
            <strong>{today?.blocked ?? '–'}</strong> blocked
          </a>
        </li>
        <li>
          p95 <strong>{formatDuration(p95)}</strong>
        </li>
      </ul>
      <figure className="histogram">
        <div className="bars" role="img" aria-label={`Calls per hour over the last 24 hours, at most ${max} in one hour`}>
          {hours.map((h) => (
            <div
              key={h.start}
              className="bar"
              title={`${new Date(h.start).getHours()}:00 — ${h.calls} calls`}
              style={{ height: `${max ? Math.max(2, (h.calls / max) * 100) : 2}%` }}
            />
          ))}
        </div>
        <figcaption className="axis muted">
          <span>24 h ago</span>
          <span>now</span>
        </figcaption>
      </figure>
      <h3>Recent</h3>
      {recent.length === 0 ? (
        <p className="muted">No tool calls yet.</p>
      ) : (
        <ul className="recent">
          {recent.map((c) => (
            <li key={c.row.id}>
              <span className="tool">
                {c.row.server_name}:{c.row.tool_name}
                {c.count > 1 && <span className="repeat"> ×{c.count}</span>}
              </span>
              <span className="muted">{formatAgo(c.row.timestamp)}</span>
              <StatusBadge status={c.row.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
