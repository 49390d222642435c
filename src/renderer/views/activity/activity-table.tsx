import { createColumnHelper, tableFeatures, useTable } from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'
import { relayedMessageLabel, type ActivitySummaryRow } from '../../../shared/activity'
import { formatDuration, formatTime } from '../../lib/format'
import { rowKeyTarget, tabStopIndex } from '../../lib/row-navigation'
import { rowAt } from '../../lib/virtual-window'
import { PAGE_SIZE } from '../../stores/activity-store'
import { useActivityStore } from '../../stores/stores-context'
import { IntentBadge, StatusBadge } from './marks'

/** A loaded row with its position in the whole (server-side) result. */
interface WindowRow {
  index: number
  row: ActivitySummaryRow
}

export const ROW_HEIGHT = 34

const features = tableFeatures({})
const helper = createColumnHelper<typeof features, WindowRow>()

function details(r: ActivitySummaryRow): string {
  if (r.tool_name) return r.tool_name
  const message = r.type === 'mcp_message' ? relayedMessageLabel(r.metadata) : undefined
  if (message) return message
  const action = r.metadata && typeof r.metadata.action === 'string' ? r.metadata.action : ''
  return action || r.error || ''
}

const columns = helper.columns([
  helper.accessor((w) => w.row.timestamp, { id: 'time', header: 'Time', cell: (info) => <time dateTime={info.getValue()}>{formatTime(info.getValue())}</time> }),
  helper.accessor((w) => w.row.type, { id: 'type', header: 'Type' }),
  helper.accessor((w) => w.row.server_name ?? '', { id: 'server', header: 'Server' }),
  helper.accessor((w) => details(w.row), { id: 'details', header: 'Tool / details' }),
  helper.accessor((w) => w.row.intent, { id: 'intent', header: 'Intent', cell: (info) => <IntentBadge intent={info.getValue()} /> }),
  helper.accessor((w) => w.row.status, { id: 'status', header: 'Status', cell: (info) => <StatusBadge status={info.getValue()} /> }),
  helper.accessor((w) => w.row.duration_ms, { id: 'duration', header: 'Duration', cell: (info) => formatDuration(info.getValue()) }),
])

/**
 * Virtualized, infinitely scrolling table over the whole server-side result: the scroll height
 * is the total count, only the rows in view (plus overscan) are in the DOM, and their pages are
 * fetched by offset as they come into view. One row at a time is a Tab stop (a roving tabindex):
 * arrows, PageUp/PageDown and Home/End move the focus between rows, Enter or Space opens one.
 */
export function ActivityTable({ onOpen, scrollTopSignal }: { onOpen: (id: string) => void; scrollTopSignal: number }): ReactNode {
  const total = useActivityStore((s) => s.total ?? 0)
  const pages = useActivityStore((s) => s.pages)
  const rangeViewed = useActivityStore((s) => s.rangeViewed)
  const scrollChanged = useActivityStore((s) => s.scrollChanged)
  const selectedId = useActivityStore((s) => s.detail?.id)
  const scrollRef = useRef<HTMLDivElement>(null)

  // TanStack Virtual returns fresh functions each render; this component does not memoize them
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  })
  const items = virtualizer.getVirtualItems()
  const first = items[0]?.index ?? 0
  const last = items[items.length - 1]?.index ?? 0

  useEffect(() => {
    if (items.length) rangeViewed(first, last)
  }, [first, last, items.length, rangeViewed])

  useEffect(() => {
    if (scrollTopSignal > 0) scrollRef.current?.scrollTo({ top: 0 })
  }, [scrollTopSignal])

  const data = useMemo(() => {
    const rows: WindowRow[] = []
    for (let i = first; i <= last && i < total; i++) {
      const row = rowAt(pages, i, PAGE_SIZE)
      if (row) rows.push({ index: i, row })
    }
    return rows
  }, [pages, first, last, total])

  const table = useTable({ features, columns, data, getRowId: (w) => `${w.index}:${w.row.id}` })
  const byIndex = new Map(table.getRowModel().rows.map((r) => [r.original.index, r]))

  // the row that is the table's Tab stop; focus moved there by a key once it is rendered
  const [active, setActive] = useState(0)
  const focusPending = useRef(false)
  const activeIndex = Math.max(0, Math.min(active, total - 1))
  const tabStop = tabStopIndex(activeIndex, items.map((i) => i.index), virtualizer.range?.startIndex)

  useEffect(() => {
    if (!focusPending.current) return
    const focused = document.activeElement
    // only while the focus is still in the table (or was dropped with a row that scrolled away)
    if (focused !== document.body && !scrollRef.current?.contains(focused)) {
      focusPending.current = false
      return
    }
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-index="${activeIndex}"]`)
    if (el) {
      focusPending.current = false
      if (el !== focused) el.focus()
    }
  })

  const pageRows = (): number => Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 0) / ROW_HEIGHT) - 1)

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>, index: number, id?: string): void => {
    if ((e.key === 'Enter' || e.key === ' ') && id) {
      e.preventDefault()
      onOpen(id)
      return
    }
    if (e.altKey || e.ctrlKey || e.metaKey) return
    const next = rowKeyTarget(e.key, index, total, pageRows())
    if (next === null) return
    e.preventDefault()
    setActive(next)
    virtualizer.scrollToIndex(next, { align: 'auto' })
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-index="${next}"]`)
    if (el) el.focus()
    else focusPending.current = true
  }

  return (
    <div className="table-wrap" role="table" aria-label="Activity" aria-rowcount={total + 1}>
      <div role="rowgroup" className="thead">
        {table.getHeaderGroups().map((group) => (
          <div role="row" className="tr" key={group.id} aria-rowindex={1}>
            {group.headers.map((header) => (
              <div role="columnheader" className={`th col-${header.column.id}`} key={header.id}>
                <table.FlexRender header={header} />
              </div>
            ))}
          </div>
        ))}
      </div>
      <div ref={scrollRef} className="tbody-scroll" onScroll={(e) => scrollChanged(e.currentTarget.scrollTop < ROW_HEIGHT / 2)}>
        <div role="rowgroup" className="tbody" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const row = byIndex.get(item.index)
            const id = row?.original.row.id
            return (
              <div
                role="row"
                key={row ? row.id : `placeholder-${item.index}`}
                data-index={item.index}
                aria-rowindex={item.index + 2}
                aria-selected={id !== undefined && id === selectedId}
                tabIndex={item.index === tabStop ? 0 : -1}
                className={`tr${row ? '' : ' placeholder'}${row?.original.row.status === 'error' ? ' row-error' : ''}${row?.original.row.status === 'blocked' ? ' row-blocked' : ''}`}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                onClick={() => id && onOpen(id)}
                onKeyDown={(e) => onKeyDown(e, item.index, id)}
                onFocus={() => setActive(item.index)}
              >
                {row
                  ? row.getAllCells().map((cell) => (
                      <div role="cell" className={`td col-${cell.column.id}`} key={cell.id}>
                        <table.FlexRender cell={cell} />
                      </div>
                    ))
                  : columns.map((c, i) => (
                      <div role="cell" className={`td col-${c.id ?? i}`} key={i}>
                        <span className="skeleton" aria-hidden="true" />
                      </div>
                    ))}
              </div>
            )
          })}
        </div>
      </div>
    </div>
  )
}
