import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react'
import { DownloadLink } from '../../components/download-link'
import { ErrorMessage } from '../../components/error-message'
import { filterFromQuery, filterToQuery, type FilterState } from '../../lib/filters'
import { navigate, routeHref } from '../../lib/route'
import { selectIsEmptyLog, selectShowNewBanner } from '../../stores/activity-store'
import { useActivityStore, useApi, useAppStore } from '../../stores/stores-context'
import { ActivityTable } from './activity-table'
import { DetailPanel } from './detail-panel'
import { FilterBar } from './filter-bar'

function EmptyLog(): ReactNode {
  const info = useAppStore((s) => s.info)
  const url = info?.mcp_url ?? 'http://127.0.0.1:8080/mcp'
  return (
    <div className="empty" role="status">
      <h2>No activity yet</h2>
      <p>Connect an MCP client (Claude Desktop, Cursor, VS Code, …) to mcpproxy and its tool calls appear here live.</p>
      <p>
        MCP endpoint (streamable HTTP): <code>{url}</code>
      </p>
      <pre>{JSON.stringify({ mcpServers: { mcpproxy: { url } } }, null, 2)}</pre>
      <p className="muted">Clients that only speak stdio can run <code>mcpproxy stdio</code> instead.</p>
    </div>
  )
}

export function ActivityView({ query }: { query: URLSearchParams }): ReactNode {
  const api = useApi()
  const queryString = query.toString()
  const filter = useMemo(() => filterFromQuery(new URLSearchParams(queryString)), [queryString])
  const filterChanged = useActivityStore((s) => s.filterChanged)
  const apiFilter = useActivityStore((s) => s.apiFilter)
  const total = useActivityStore((s) => s.total)
  const loaded = useActivityStore((s) => s.loaded)
  const storeError = useActivityStore((s) => s.error)
  const appError = useAppStore((s) => s.infoError)
  // the same failure (a wrong key, the core down) is already shown once for the whole app
  const error = storeError && storeError !== appError ? storeError : undefined
  const live = useActivityStore((s) => s.live)
  const liveToggled = useActivityStore((s) => s.liveToggled)
  const refreshRequested = useActivityStore((s) => s.refreshRequested)
  const newCount = useActivityStore((s) => s.newCount)
  const showBanner = useActivityStore(selectShowNewBanner)
  const emptyLog = useActivityStore(selectIsEmptyLog)
  const newBannerClicked = useActivityStore((s) => s.newBannerClicked)
  const rowOpened = useActivityStore((s) => s.rowOpened)
  const detailClosed = useActivityStore((s) => s.detailClosed)
  const [scrollTopSignal, setScrollTopSignal] = useState(0)

  const viewOpened = useActivityStore((s) => s.viewOpened)
  const viewClosed = useActivityStore((s) => s.viewClosed)
  useEffect(() => {
    viewOpened()
    return viewClosed
  }, [viewOpened, viewClosed])

  useEffect(() => {
    filterChanged(filter)
  }, [filter, filterChanged])

  const onFilter = useCallback((f: FilterState) => navigate(routeHref('activity', undefined, filterToQuery(f))), [])
  const closeDetail = useCallback(() => {
    // focus returns to the row the panel was opened from
    document.querySelector<HTMLElement>('.tbody [aria-selected="true"]')?.focus()
    detailClosed()
  }, [detailClosed])

  return (
    <div className="activity-view">
      <h1>Activity log</h1>
      <FilterBar filter={filter} onChange={onFilter} />
      <div className="toolbar">
        <span role="status" aria-live="polite" className="count">
          {total === null ? (storeError ? '–' : 'Loading…') : `${total.toLocaleString('en-US')} record${total === 1 ? '' : 's'}`}
        </span>
        <label className="toggle">
          <input type="checkbox" checked={live} onChange={(e) => liveToggled(e.currentTarget.checked)} /> Auto-refresh
        </label>
        <button type="button" onClick={refreshRequested}>
          Refresh
        </button>
        <span className="spacer" />
        <span className="muted">Export:</span>
        <DownloadLink download={api.exportDownload(apiFilter, 'json')}>JSON Lines</DownloadLink>
        <DownloadLink download={api.exportDownload(apiFilter, 'csv')}>CSV</DownloadLink>
        <DownloadLink download={api.exportDownload(apiFilter, 'report')}>HTML report</DownloadLink>
      </div>
      <ErrorMessage error={error} onRetry={refreshRequested} />
      {showBanner && (
        <button
          type="button"
          className="new-banner"
          onClick={() => {
            newBannerClicked()
            setScrollTopSignal((n) => n + 1)
          }}
        >
          {newCount} new — show
        </button>
      )}
      <div className="activity-main">
        {emptyLog ? (
          <EmptyLog />
        ) : loaded && total === 0 ? (
          <p className="empty" role="status">
            No records match these filters.
          </p>
        ) : (
          <ActivityTable onOpen={(id) => void rowOpened(id)} scrollTopSignal={scrollTopSignal} />
        )}
        <DetailPanel onClose={closeDetail} />
      </div>
    </div>
  )
}
