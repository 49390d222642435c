import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ActivityFilter, ActivityPage, ActivitySummaryRow } from '../../shared/activity'
import type { Api, CoreEvent } from '../api/api'
import { EMPTY_FILTER } from '../lib/filters'
import { createActivityStore, PAGE_SIZE, selectIsEmptyLog, selectShowNewBanner } from './activity-store'

/** An in-memory log answering list/count like the REST API (newest first, end_time bound). */
function memoryApi(initial: number): { api: Api; add(n: number): void; list: ReturnType<typeof vi.fn>; count: ReturnType<typeof vi.fn> } {
  let rows: ActivitySummaryRow[] = []
  let clock = Date.parse('2026-01-01T00:00:00.000Z')
  const add = (n: number): void => {
    const batch: ActivitySummaryRow[] = []
    for (let i = 0; i < n; i++) {
      clock += 10
      const k = rows.length + i
      batch.push({ id: `r${k}`, type: 'tool_call', timestamp: new Date(clock).toISOString(), server_name: k % 2 ? 'a' : 'b', status: 'success' })
    }
    rows = batch.reverse().concat(rows)
  }
  add(initial)
  const match = (f: ActivityFilter) => rows.filter((r) => (!f.server || r.server_name === f.server) && (!f.end_time || r.timestamp <= f.end_time))
  const list = vi.fn(async ({ filter, limit, offset }: { filter: ActivityFilter; limit: number; offset: number }): Promise<ActivityPage> => {
    const m = match(filter)
    return { activities: m.slice(offset, offset + limit), total: m.length, limit, offset }
  })
  const count = vi.fn(async (filter: ActivityFilter) => match(filter).length)
  const api = { listActivity: list, countActivity: count } as unknown as Api
  return { api, add, list, count }
}

const completed = (i: number): CoreEvent => ({
  name: 'activity.tool_call.completed',
  data: { id: `e${i}`, server: 'a', tool: 't', timestamp: '2026-01-01T00:00:00.000Z', status: 'success' },
})

describe('activity store', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('loads only the visible page, with the filter sent to the core', async () => {
    const { api, list } = memoryApi(1000)
    const store = createActivityStore(api)
    store.getState().filterChanged({ ...EMPTY_FILTER, server: 'a' })
    await vi.runOnlyPendingTimersAsync()
    expect(list).toHaveBeenCalledTimes(1)
    expect(list.mock.calls[0]![0]).toMatchObject({ filter: { server: 'a' }, limit: PAGE_SIZE, offset: 0 })
    expect(store.getState().total).toBe(500)
    expect(store.getState().pages.get(0)!.every((r) => r.server_name === 'a')).toBe(true)
  })

  it("asks a dropdown's values under the other filters in force, not its own", async () => {
    const { api } = memoryApi(10)
    const filterOptions = vi.fn(async () => [{ value: 'echo', count: 3 }])
    const store = createActivityStore({ ...api, filterOptions } as unknown as Api)
    store.getState().filterChanged({ ...EMPTY_FILTER, server: 'everything', tool: 'old' })
    await store.getState().filterOptionsRequested('tool_name')
    expect(filterOptions).toHaveBeenLastCalledWith('tool_name', { server: 'everything' })
    await store.getState().filterOptionsRequested('server_name')
    expect(filterOptions).toHaveBeenLastCalledWith('server_name', { tool: 'old' })
    expect(store.getState().options.tool_name).toEqual([{ value: 'echo', count: 3 }])
  })

  it('coalesces 500 events in a second into at most 3 refetches of the visible page only', async () => {
    const { api, list, add } = memoryApi(300)
    const store = createActivityStore(api, { delayMs: 100, intervalMs: 500 })
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    list.mockClear()
    for (let i = 0; i < 500; i++) {
      add(1)
      store.getState().coreEventReceived(completed(i))
      await vi.advanceTimersByTimeAsync(2)
    }
    await vi.advanceTimersByTimeAsync(2000)
    expect(list.mock.calls.length).toBeGreaterThanOrEqual(1)
    expect(list.mock.calls.length).toBeLessThanOrEqual(3)
    expect(list.mock.calls.every(([p]) => p.offset === 0)).toBe(true)
    // the last refetch ran after the last event: the newest record is on screen
    expect(store.getState().pages.get(0)![0]!.id).toBe('r799')
    expect(store.getState().total).toBe(800)
  })

  it('ignores events that are not activity events', async () => {
    const { api, list } = memoryApi(10)
    const store = createActivityStore(api)
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    list.mockClear()
    store.getState().coreEventReceived({ name: 'tools.indexed', data: { total: 3, timestamp: '' } })
    await vi.advanceTimersByTimeAsync(2000)
    expect(list).not.toHaveBeenCalled()
  })

  it('scrolled down: counts "N new" instead of jumping, and later pages do not shift', async () => {
    const { api, add } = memoryApi(1000)
    const store = createActivityStore(api, { delayMs: 10, intervalMs: 50 })
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    const firstPageTop = store.getState().pages.get(0)![0]!.id
    store.getState().scrollChanged(false)
    store.getState().rangeViewed(420, 450)
    await vi.runOnlyPendingTimersAsync()
    const row420 = store.getState().pages.get(4)![20]!.id

    add(7)
    for (let i = 0; i < 7; i++) store.getState().coreEventReceived(completed(i))
    await vi.advanceTimersByTimeAsync(500)
    expect(store.getState().newCount).toBe(7)
    expect(selectShowNewBanner(store.getState())).toBe(true)
    expect(store.getState().pages.get(0)?.[0]?.id ?? firstPageTop).toBe(firstPageTop)

    // a page fetched now, deeper down, lines up with the snapshot
    store.getState().rangeViewed(600, 630)
    await vi.runOnlyPendingTimersAsync()
    expect(store.getState().pages.get(4)![20]!.id).toBe(row420)
    expect(store.getState().pages.get(6)![0]!.id).toBe('r399')

    store.getState().newBannerClicked()
    await vi.runOnlyPendingTimersAsync()
    expect(store.getState().newCount).toBe(0)
    expect(store.getState().pages.get(0)![0]!.id).toBe('r1006')
    expect(store.getState().total).toBe(1007)
  })

  it('paused: events only count, no page is refetched', async () => {
    const { api, list, add } = memoryApi(50)
    const store = createActivityStore(api, { delayMs: 10, intervalMs: 50 })
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    store.getState().liveToggled(false)
    list.mockClear()
    add(3)
    store.getState().coreEventReceived(completed(1))
    await vi.advanceTimersByTimeAsync(500)
    expect(list).not.toHaveBeenCalled()
    expect(store.getState().newCount).toBe(3)
    expect(selectShowNewBanner(store.getState())).toBe(true)
  })

  it('keeps a readable error when the core fails, and drops answers for an old filter', async () => {
    const { api, list } = memoryApi(10)
    list.mockRejectedValueOnce(new Error('connect ECONNREFUSED'))
    const store = createActivityStore(api)
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    expect(store.getState().error).toBe('connect ECONNREFUSED')
    let resolveSlow!: (p: ActivityPage) => void
    list.mockImplementationOnce(() => new Promise<ActivityPage>((r) => (resolveSlow = r)))
    store.getState().filterChanged({ ...EMPTY_FILTER, server: 'zzz' })
    store.getState().filterChanged({ ...EMPTY_FILTER, server: 'a' })
    await vi.runOnlyPendingTimersAsync()
    resolveSlow({ activities: [{ id: 'stale', type: 'tool_call', timestamp: '', status: 'success' }], total: 1, limit: 100, offset: 0 })
    await vi.runOnlyPendingTimersAsync()
    expect(store.getState().error).toBeUndefined()
    expect(store.getState().total).toBe(5)
    expect(store.getState().pages.get(0)!.some((r) => r.id === 'stale')).toBe(false)
  })

  it('tells an empty log (how to connect) from a filter that matches nothing', async () => {
    const { api } = memoryApi(0)
    const store = createActivityStore(api)
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    expect(selectIsEmptyLog(store.getState())).toBe(true)
    store.getState().filterChanged({ ...EMPTY_FILTER, server: 'a' })
    await vi.runOnlyPendingTimersAsync()
    expect(store.getState().total).toBe(0)
    expect(selectIsEmptyLog(store.getState())).toBe(false)
  })

  it('while the view is closed, events only mark the data stale; reopening reloads once', async () => {
    const { api, list, add } = memoryApi(5)
    const store = createActivityStore(api, { delayMs: 10, intervalMs: 50 })
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    store.getState().viewClosed()
    list.mockClear()
    add(4)
    for (let i = 0; i < 100; i++) store.getState().coreEventReceived(completed(i))
    await vi.advanceTimersByTimeAsync(1000)
    expect(list).not.toHaveBeenCalled()
    expect(store.getState().stale).toBe(true)
    store.getState().viewOpened()
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    expect(list).toHaveBeenCalledTimes(1)
    expect(store.getState().total).toBe(9)
  })

  it('a fast scroll through the log fetches only the pages where it stops', async () => {
    const { api, list } = memoryApi(100_000)
    const store = createActivityStore(api, { scrollSettleMs: 60 })
    store.getState().filterChanged(EMPTY_FILTER)
    await vi.runOnlyPendingTimersAsync()
    list.mockClear()
    for (let row = 0; row < 90_000; row += 1500) {
      store.getState().rangeViewed(row, row + 30)
      await vi.advanceTimersByTimeAsync(16)
    }
    store.getState().rangeViewed(90_000, 90_030)
    await vi.advanceTimersByTimeAsync(200)
    expect(list.mock.calls.map(([p]) => p.offset)).toEqual([90_000])
    expect(store.getState().pages.get(900)![0]!.id).toBe('r9999')
  })
})
