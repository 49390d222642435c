import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Api, CoreEvent } from '../api/api'
import { createSummaryStore, hourBuckets, selectMaxHour } from './summary-store'

const event: CoreEvent = { name: 'activity.tool_call.completed', data: { id: 'x', server: 's', tool: 't', timestamp: '', status: 'success' } }

function fakeApi() {
  const countActivity = vi.fn(async () => 3)
  // the core's hours: two with calls, the rest absent (the store shows those as 0)
  const hourly = vi.fn(async () => ({ hours: [{ start: '2026-05-05T09:00:00.000Z', calls: 7 }, { start: '2026-05-05T10:00:00.000Z', calls: 2 }] }))
  const api = {
    countActivity,
    hourly,
    summary: vi.fn(async () => ({ p95_duration_ms: 120 })),
    listActivity: vi.fn(async () => ({ activities: [], total: 0, limit: 50, offset: 0 })),
  } as unknown as Api
  return { api, countActivity, hourly }
}

describe('summary store', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('builds 24 hour buckets ending with the current hour, without gaps', () => {
    const now = Date.parse('2026-05-05T10:30:00.000Z')
    const b = hourBuckets(now)
    expect(b).toHaveLength(24)
    expect(new Date(b[23]!.start).toISOString()).toBe('2026-05-05T10:00:00.000Z')
    expect(new Date(b[0]!.start).toISOString()).toBe('2026-05-04T11:00:00.000Z')
    for (let i = 1; i < 24; i++) expect(b[i]!.start).toBe(b[i - 1]!.end)
  })

  it('loads counts while open, ignores events once the widget is closed', async () => {
    const { api, countActivity, hourly } = fakeApi()
    const store = createSummaryStore(api, { now: () => Date.parse('2026-05-05T10:30:00.000Z'), intervalMs: 100 })
    await store.getState().opened()
    expect(store.getState().today).toEqual({ total: 3, success: 3, error: 3, blocked: 3 })
    // the 24 bars come from one request, placed by their hour
    expect(hourly).toHaveBeenCalledTimes(1)
    expect(hourly).toHaveBeenCalledWith(24)
    const bars = store.getState().hours
    expect(bars).toHaveLength(24)
    expect(bars.slice(-2)).toEqual([{ start: '2026-05-05T09:00:00.000Z', calls: 7 }, { start: '2026-05-05T10:00:00.000Z', calls: 2 }])
    expect(bars.slice(0, -2).every((b) => b.calls === 0)).toBe(true)
    expect(countActivity).toHaveBeenCalledTimes(4)
    // every count is of tool calls (a blocked call also has a policy_decision record)
    const filters = countActivity.mock.calls.map((args: unknown[]) => args[0] as { type?: string[] })
    expect(filters.every((f) => JSON.stringify(f.type) === '["tool_call"]')).toBe(true)
    expect(store.getState().p95).toBe(120)
    expect(selectMaxHour(store.getState())).toBe(7)
    const afterOpen = countActivity.mock.calls.length

    for (let i = 0; i < 50; i++) store.getState().coreEventReceived(event)
    await vi.advanceTimersByTimeAsync(1000)
    expect(countActivity.mock.calls.length).toBe(afterOpen * 2)

    store.getState().closed()
    for (let i = 0; i < 50; i++) store.getState().coreEventReceived(event)
    await vi.advanceTimersByTimeAsync(1000)
    expect(countActivity.mock.calls.length).toBe(afterOpen * 2)
  })
})
