import { createStore, type StoreApi } from 'zustand/vanilla'
import type { ActivitySummaryRow } from '../../shared/activity'
import type { Api, CoreEvent } from '../api/api'
import { createCoalescer } from '../lib/coalesce'
import { collapseRepeats, type CollapsedCall } from '../lib/collapse-repeats'
import { errorMessage } from '../lib/format'

export interface HourBucket {
  /** start of the hour, ISO */
  start: string
  calls: number
}

export interface SummaryState {
  today?: { total: number; success: number; error: number; blocked: number }
  hours: HourBucket[]
  p95?: number | null
  recent: ActivitySummaryRow[]
  error?: string
  loading: boolean
  /** the widget is on screen: only then do events cause refetches */
  active: boolean
}

export interface SummaryActions {
  opened(): Promise<void>
  closed(): void
  coreEventReceived(event: CoreEvent): void
  dispose(): void
}

export type SummaryStore = StoreApi<SummaryState & SummaryActions>

const HOUR = 3_600_000

/** The 24 hour buckets ending with the current hour. */
export function hourBuckets(now: number): Array<{ start: number; end: number }> {
  const current = Math.floor(now / HOUR) * HOUR
  return Array.from({ length: 24 }, (_, i) => ({ start: current - (23 - i) * HOUR, end: current - (22 - i) * HOUR }))
}

export function startOfToday(now: number): number {
  const d = new Date(now)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

export function createSummaryStore(api: Api, options: { now?: () => number; intervalMs?: number } = {}): SummaryStore {
  const now = options.now ?? Date.now
  return createStore<SummaryState & SummaryActions>()((set, get) => {
    const load = async (): Promise<void> => {
      set({ loading: true })
      const t = now()
      const since = new Date(startOfToday(t)).toISOString()
      const tc = { type: ['tool_call' as const] }
      try {
        const [total, success, error, blocked, summary, recent, hourly] = await Promise.all([
          api.countActivity({ ...tc, start_time: since }),
          api.countActivity({ ...tc, start_time: since, status: ['success'] }),
          api.countActivity({ ...tc, start_time: since, status: ['error', 'timeout'] }),
          // tool calls only, as the other counts: a blocked call's policy_decision record is not a second call
          api.countActivity({ ...tc, start_time: since, status: ['blocked'] }),
          api.summary('24h'),
          api.listActivity({ filter: tc, limit: 50, offset: 0 }),
          // one request for the 24 bars, from the core's hourly rollups
          api.hourly(24),
        ])
        const byStart = new Map(hourly.hours.map((h) => [Date.parse(h.start), h.calls]))
        set({
          today: { total, success, error, blocked },
          p95: summary.p95_duration_ms,
          recent: recent.activities,
          hours: hourBuckets(t).map((b) => ({ start: new Date(b.start).toISOString(), calls: byStart.get(b.start) ?? 0 })),
          error: undefined,
          loading: false,
        })
      } catch (err) {
        set({ error: errorMessage(err), loading: false })
      }
    }
    const coalescer = createCoalescer(load, { delayMs: 250, intervalMs: options.intervalMs ?? 3000 })
    return {
      hours: [],
      recent: [],
      loading: false,
      active: false,
      opened() {
        set({ active: true })
        return load()
      },
      closed() {
        set({ active: false })
      },
      coreEventReceived(event) {
        if (get().active && event.name.startsWith('activity.')) coalescer.invalidate()
      },
      dispose() {
        coalescer.dispose()
      },
    }
  })
}

export const selectRecentCollapsed = (s: Pick<SummaryState, 'recent'>): CollapsedCall[] => collapseRepeats(s.recent, 5)
export const selectMaxHour = (s: SummaryState): number => s.hours.reduce((m, h) => Math.max(m, h.calls), 0)
