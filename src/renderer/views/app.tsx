import { useEffect, type ReactNode } from 'react'
import { ErrorBoundary } from '../components/error-boundary'
import { ErrorMessage } from '../components/error-message'
import { parseHash, routeHref, useHash, type ViewName } from '../lib/route'
import { connectionLabel } from '../stores/app-store'
import { useAppStore, useApprovalsStore } from '../stores/stores-context'
import { ActivityView } from './activity/activity-view'
import { ApprovalsView } from './approvals/approvals-view'
import { SummaryWidget } from './dashboard/summary-widget'
import { AddServerForm } from './servers/add-server-form'
import { QuarantineReview } from './servers/quarantine-review'
import { ServersView } from './servers/servers-view'

const NAV: Array<{ view: ViewName; label: string }> = [
  { view: 'dashboard', label: 'Dashboard' },
  { view: 'activity', label: 'Activity' },
  { view: 'servers', label: 'Servers' },
  { view: 'approvals', label: 'Approvals' },
]

export function App(): ReactNode {
  const route = parseHash(useHash())
  const started = useAppStore((s) => s.started)
  const stopped = useAppStore((s) => s.stopped)
  const connection = useAppStore((s) => s.connection)
  const wasOpen = useAppStore((s) => s.wasOpen)
  const infoError = useAppStore((s) => s.infoError)
  const version = useAppStore((s) => s.info?.version)
  const pending = useApprovalsStore((s) => s.approvals.length)
  const loadApprovals = useApprovalsStore((s) => s.opened)

  useEffect(() => {
    void started()
    void loadApprovals()
    return stopped
  }, [started, stopped, loadApprovals])

  const active = route.view === 'review' || route.view === 'add-server' ? 'servers' : route.view
  let body: ReactNode
  switch (route.view) {
    case 'activity':
      body = <ActivityView query={route.query} />
      break
    case 'servers':
      body = <ServersView />
      break
    case 'review':
      body = route.param ? <QuarantineReview name={route.param} /> : <ServersView />
      break
    case 'add-server':
      body = <AddServerForm />
      break
    case 'approvals':
      body = <ApprovalsView />
      break
    default:
      body = (
        <div className="dashboard">
          <h1 className="visually-hidden">Dashboard</h1>
          <SummaryWidget />
        </div>
      )
  }

  return (
    <div className="app">
      <nav className="topnav" aria-label="Main">
        <span className="brand">mcpproxy</span>
        {NAV.map((n) => (
          <a key={n.view} href={routeHref(n.view)} aria-current={active === n.view ? 'page' : undefined}>
            {n.label}
            {n.view === 'approvals' && pending > 0 && <span className="badge"> {pending}</span>}
          </a>
        ))}
        <span className="spacer" />
        <span className={`conn conn-${connection}`} role="status" aria-label={`Live updates ${connection}`}>
          <span aria-hidden="true">●</span> {connectionLabel(connection, wasOpen, infoError)}
        </span>
        {version && <span className="muted small">v{version}</span>}
      </nav>
      <main>
        <ErrorMessage error={infoError} onRetry={() => void started()} />
        <ErrorBoundary where={`the ${route.view} view`} key={route.view}>
          {body}
        </ErrorBoundary>
      </main>
    </div>
  )
}
