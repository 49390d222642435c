import { createStore, type StoreApi } from 'zustand/vanilla'
import type { ActivityFilter, ActivityRecord, ActivitySummaryRow, FilterOptionField, FilterOptionInfo, VerifyResultInfo } from '../../shared/activity'
import type { CoreEvent, Api } from '../api/api'
import { createCoalescer, type Coalescer } from '../lib/coalesce'
import { EMPTY_FILTER, sameFilter, toApiFilter, type FilterState } from '../lib/filters'
import { evictPages, pagesForRange } from '../lib/virtual-window'
import { errorMessage } from '../lib/format'

export const PAGE_SIZE = 100
/** pages kept in memory around the visible ones (100 rows each) */
export const MAX_CACHED_PAGES = 12

export interface DetailState {
  id: string
  record?: ActivityRecord
  error?: string
}

export interface ActivityState {
  filter: FilterState
  /** the filter as sent to the core, presets resolved when the filter was applied */
  apiFilter: ActivityFilter
  /**
   * Upper time bound (inclusive, as the core's end_time) of the loaded snapshot: while the user
   * reads further down, new records must not shift the offsets of the pages being fetched.
   */
  anchor?: string
  total: number | null
  pages: ReadonlyMap<number, ActivitySummaryRow[]>
  loadingPages: ReadonlySet<number>
  /** bumped on every reload; answers of an older generation are dropped */
  generation: number
  visible: { first: number; last: number }
  atTop: boolean
  live: boolean
  /** matching records newer than the snapshot (the "N new" banner) */
  newCount: number
  error?: string
  /** the initial load finished at least once for this filter */
  loaded: boolean
  options: Partial<Record<FilterOptionField, FilterOptionInfo[]>>
  detail?: DetailState
  verify?: { running: boolean; result?: VerifyResultInfo; error?: string }
  /** the activity view is on screen; while it is not, events only mark the data stale */
  active: boolean
  stale: boolean
  /** how many refetches invalidations caused (shown nowhere; tests and diagnostics) */
  refetches: number
}

export interface ActivityActions {
  viewOpened(): void
  viewClosed(): void
  filterChanged(filter: FilterState): void
  rangeViewed(first: number, last: number): void
  scrollChanged(atTop: boolean): void
  liveToggled(live: boolean): void
  coreEventReceived(event: CoreEvent): void
  newBannerClicked(): void
  refreshRequested(): void
  filterOptionsRequested(field: FilterOptionField): Promise<void>
  rowOpened(id: string): Promise<void>
  detailClosed(): void
  chainVerifyRequested(): Promise<void>
  dispose(): void
}

export type ActivityStore = StoreApi<ActivityState & ActivityActions>

export interface ActivityStoreOptions {
  now?: () => number
  /** quiet time before the first refetch of a burst of events */
  delayMs?: number
  /** minimum time between two refetches caused by events */
  intervalMs?: number
  /** pages are fetched once scrolling pauses this long, so a fast drag does not fetch every page it passes */
  scrollSettleMs?: number
}

const ACTIVITY_EVENTS = new Set<string>([
  'activity.tool_call.started',
  'activity.tool_call.completed',
  'activity.policy_decision',
  'activity.quarantine_change',
  'activity.approval_requested',
  'activity.approval_resolved',
  'activity.appended',
])

/** The filter that narrows each field a dropdown offers (left out when asking for that field's own values). */
const FILTER_KEY_OF: Record<FilterOptionField, keyof ActivityFilter> = {
  server_name: 'server',
  tool_name: 'tool',
  session_id: 'session_id',
  status: 'status',
  type: 'type',
}

export function createActivityStore(api: Api, options: ActivityStoreOptions = {}): ActivityStore {
  const now = options.now ?? Date.now
  let coalescer: Coalescer | null = null
  let settleTimer: ReturnType<typeof setTimeout> | null = null

  const store = createStore<ActivityState & ActivityActions>()((set, get) => {
    const pageFilter = (s: ActivityState): ActivityFilter => {
      if (!s.anchor) return s.apiFilter
      const end = s.apiFilter.end_time && s.apiFilter.end_time < s.anchor ? s.apiFilter.end_time : s.anchor
      return { ...s.apiFilter, end_time: end }
    }

    const fetchPage = async (page: number, generation: number): Promise<boolean> => {
      const s = get()
      set({ loadingPages: new Set([...s.loadingPages, page]) })
      try {
        const res = await api.listActivity({ filter: pageFilter(s), limit: PAGE_SIZE, offset: page * PAGE_SIZE })
        const cur = get()
        if (cur.generation !== generation) return false
        const pages = new Map(cur.pages)
        pages.set(page, res.activities)
        const patch: Partial<ActivityState> = { pages: evictPages(pages, visiblePages(cur), MAX_CACHED_PAGES), total: res.total, error: undefined }
        if (!cur.anchor) {
          const top = page === 0 ? res.activities[0] : undefined
          patch.anchor = top ? top.timestamp : new Date(now()).toISOString()
        }
        set(patch)
        return true
      } catch (err) {
        if (get().generation === generation) set({ error: errorMessage(err) })
        return false
      } finally {
        const cur = get()
        const loading = new Set(cur.loadingPages)
        loading.delete(page)
        set({ loadingPages: loading, loaded: cur.generation === generation ? true : cur.loaded })
      }
    }

    const visiblePages = (s: ActivityState): number[] =>
      pagesForRange(s.visible.first, s.visible.last, PAGE_SIZE, s.total ?? Math.max(s.visible.last + 1, PAGE_SIZE))

    const ensureVisible = (): Promise<unknown> => {
      const s = get()
      const missing = visiblePages(s).filter((p) => !s.pages.has(p) && !s.loadingPages.has(p))
      return Promise.all(missing.map((p) => fetchPage(p, s.generation)))
    }

    /** A new snapshot: drop every page, fetch only the visible ones. */
    const reload = (): Promise<unknown> => {
      const s = get()
      set({ generation: s.generation + 1, anchor: undefined, pages: new Map(), loadingPages: new Set(), newCount: 0 })
      const first = visiblePages(get())[0] ?? 0
      // the first page fetched sets the anchor; fetch it alone, then the rest under that anchor
      return fetchPage(first, get().generation).then((ok) => (ok ? ensureVisible() : undefined))
    }

    /** What events trigger, coalesced: reload at the top, otherwise count what is new. */
    const revalidate = async (): Promise<void> => {
      const s = get()
      set({ refetches: s.refetches + 1 })
      if (s.live && s.atTop) {
        await reload()
        return
      }
      const generation = s.generation
      const jobs: Array<Promise<unknown>> = [
        api.countActivity(s.apiFilter).then((count) => {
          const cur = get()
          if (cur.generation === generation && cur.total !== null) set({ newCount: Math.max(0, count - cur.total) })
        }),
      ]
      // while live but scrolled down, the rows on screen still update (pending → success)
      if (s.live) for (const p of visiblePages(s)) if (s.pages.has(p)) jobs.push(fetchPage(p, generation))
      await Promise.allSettled(jobs)
    }

    coalescer = createCoalescer(revalidate, { delayMs: options.delayMs ?? 100, intervalMs: options.intervalMs ?? 500 })

    return {
      filter: EMPTY_FILTER,
      apiFilter: {},
      total: null,
      pages: new Map(),
      loadingPages: new Set(),
      generation: 0,
      visible: { first: 0, last: 30 },
      atTop: true,
      live: true,
      newCount: 0,
      loaded: false,
      options: {},
      refetches: 0,
      active: true,
      stale: false,

      viewOpened() {
        set({ active: true })
      },
      viewClosed() {
        set({ active: false })
      },
      filterChanged(filter) {
        const s = get()
        if (s.loaded && !s.stale && sameFilter(filter, s.filter) && s.generation > 0) return
        set({ filter, apiFilter: toApiFilter(filter, now()), total: null, loaded: false, stale: false, visible: { first: 0, last: s.visible.last - s.visible.first }, error: undefined })
        void reload()
      },
      rangeViewed(first, last) {
        const s = get()
        if (s.visible.first === first && s.visible.last === last) return
        set({ visible: { first, last } })
        if (settleTimer !== null) clearTimeout(settleTimer)
        settleTimer = setTimeout(() => {
          settleTimer = null
          void ensureVisible()
        }, options.scrollSettleMs ?? 60)
      },
      scrollChanged(atTop) {
        const s = get()
        if (s.atTop === atTop) return
        set({ atTop })
        if (atTop && s.live && s.newCount > 0) coalescer?.invalidate()
      },
      liveToggled(live) {
        set({ live })
        if (live && get().newCount > 0 && get().atTop) coalescer?.invalidate()
      },
      coreEventReceived(event) {
        if (!ACTIVITY_EVENTS.has(event.name)) return
        if (get().active) coalescer?.invalidate()
        else if (!get().stale) set({ stale: true })
      },
      newBannerClicked() {
        set({ atTop: true, visible: { first: 0, last: get().visible.last - get().visible.first } })
        void reload()
      },
      refreshRequested() {
        set({ apiFilter: toApiFilter(get().filter, now()) })
        void reload()
      },
      async filterOptionsRequested(field) {
        try {
          // the values under the other filters in force (the tools of the chosen server), not of the whole log
          const { [FILTER_KEY_OF[field]]: _own, ...others } = get().apiFilter
          const values = await api.filterOptions(field, others)
          set({ options: { ...get().options, [field]: values } })
        } catch (err) {
          set({ error: errorMessage(err) })
        }
      },
      async rowOpened(id) {
        set({ detail: { id } })
        try {
          const record = await api.getActivity(id)
          if (get().detail?.id === id) set({ detail: { id, record } })
        } catch (err) {
          if (get().detail?.id === id) set({ detail: { id, error: errorMessage(err) } })
        }
      },
      detailClosed() {
        set({ detail: undefined })
      },
      async chainVerifyRequested() {
        set({ verify: { running: true } })
        try {
          set({ verify: { running: false, result: await api.verify() } })
        } catch (err) {
          set({ verify: { running: false, error: errorMessage(err) } })
        }
      },
      dispose() {
        coalescer?.dispose()
        if (settleTimer !== null) clearTimeout(settleTimer)
      },
    }
  })

  return store
}

/** Pure selectors. */
export const selectRowCount = (s: ActivityState): number => s.total ?? 0
export const selectIsEmptyLog = (s: ActivityState): boolean =>
  s.loaded && s.total === 0 && s.filter.types.length === 0 && s.filter.statuses.length === 0 && !s.filter.server && !s.filter.tool && !s.filter.session && !s.filter.q && s.filter.range === 'all' && !s.filter.intent && s.filter.sensitive === undefined
export const selectShowNewBanner = (s: ActivityState): boolean => s.newCount > 0 && (!s.live || !s.atTop)
