import { useEffect, type ReactNode } from 'react'
import type { ServerInfo } from '../../../shared/servers'
import { ErrorMessage } from '../../components/error-message'
import { routeHref } from '../../lib/route'
import { useServersStore } from '../../stores/stores-context'

function HealthBadge({ server }: { server: ServerInfo }): ReactNode {
  return (
    <span className={`health health-${server.health.level}`} title={server.health.detail}>
      <span aria-hidden="true">●</span> {server.health.summary}
    </span>
  )
}

function ServerRow({ server }: { server: ServerInfo }): ReactNode {
  const actionRequested = useServersStore((s) => s.actionRequested)
  const logsRequested = useServersStore((s) => s.logsRequested)
  const quarantineApproved = useServersStore((s) => s.quarantineApproved)
  const busy = useServersStore((s) => s.busy[server.name])
  const needsReview = server.quarantined || server.changed_tools.length > 0
  return (
    <tr aria-busy={!!busy}>
      <th scope="row">{server.name}</th>
      <td>
        <HealthBadge server={server} />
        {server.last_error && <div className="muted small">{server.last_error}</div>}
      </td>
      <td>{server.protocol}</td>
      <td>{server.tool_count}</td>
      <td>
        {server.quarantined ? <span className="tag warn">quarantined</span> : server.enabled ? 'enabled' : 'disabled'}
        {server.changed_tools.length > 0 && <span className="tag warn"> {server.changed_tools.length} changed tools</span>}
      </td>
      <td className="actions">
        {needsReview && (
          <a className="button primary" href={routeHref('review', server.name)}>
            Review
          </a>
        )}
        {/* a server with poisoning findings is approved only from its review */}
        {server.quarantined && server.findings.length === 0 && (
          <button
            type="button"
            disabled={!!busy}
            onClick={() => void quarantineApproved(server.name)}
            aria-label={`Approve ${server.name}`}
            title={`Approve all ${server.tool_count} tools of ${server.name} without opening the review`}
          >
            Approve
          </button>
        )}
        {server.enabled ? (
          <button type="button" disabled={!!busy} onClick={() => void actionRequested(server.name, 'disable')} aria-label={`Disable ${server.name}`}>
            Disable
          </button>
        ) : (
          <button type="button" disabled={!!busy} onClick={() => void actionRequested(server.name, 'enable')} aria-label={`Enable ${server.name}`}>
            Enable
          </button>
        )}
        <button type="button" disabled={!!busy || !server.enabled} onClick={() => void actionRequested(server.name, 'restart')} aria-label={`Restart ${server.name}`}>
          Restart
        </button>
        <button type="button" onClick={() => void logsRequested(server.name)} aria-label={`Logs of ${server.name}`}>
          Logs
        </button>
      </td>
    </tr>
  )
}

export function ServersView(): ReactNode {
  const opened = useServersStore((s) => s.opened)
  const servers = useServersStore((s) => s.servers)
  const loaded = useServersStore((s) => s.loaded)
  const error = useServersStore((s) => s.error)
  const notice = useServersStore((s) => s.notice)
  const logs = useServersStore((s) => s.logs)
  const logsClosed = useServersStore((s) => s.logsClosed)

  useEffect(() => {
    void opened()
  }, [opened])

  return (
    <div>
      <header className="page-header">
        <h1>Servers</h1>
        <a className="button primary" href={routeHref('add-server')}>
          Add server
        </a>
      </header>
      <ErrorMessage error={error} onRetry={() => void opened()} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {loaded && servers.length === 0 && <p className="empty">No upstream servers yet. Add one to start.</p>}
      {servers.length > 0 && (
        <table className="servers">
          <caption className="visually-hidden">Upstream MCP servers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Health</th>
              <th scope="col">Protocol</th>
              <th scope="col">Tools</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => (
              <ServerRow key={s.name} server={s} />
            ))}
          </tbody>
        </table>
      )}
      {logs && (
        <section className="logs" aria-labelledby="logs-title">
          <header>
            <h2 id="logs-title">Logs of {logs.name}</h2>
            <button type="button" onClick={logsClosed} aria-label="Close logs">
              ×
            </button>
          </header>
          <pre>{logs.lines.length ? logs.lines.join('\n') : 'No log lines.'}</pre>
        </section>
      )}
    </div>
  )
}
