import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCoalescer } from './coalesce'

describe('createCoalescer', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('turns 500 invalidations in one second into at most 3 runs, the last after the last event', async () => {
    const work = vi.fn(async () => {})
    const c = createCoalescer(work, { delayMs: 100, intervalMs: 500 })
    for (let i = 0; i < 500; i++) {
      c.invalidate()
      await vi.advanceTimersByTimeAsync(2)
    }
    await vi.advanceTimersByTimeAsync(2000)
    expect(work.mock.calls.length).toBeGreaterThanOrEqual(2)
    expect(work.mock.calls.length).toBeLessThanOrEqual(3)
    c.invalidate()
    await vi.advanceTimersByTimeAsync(2000)
    expect(work.mock.calls.length).toBeLessThanOrEqual(4)
  })

  it('never runs twice at once: invalidations during a slow run give exactly one more run', async () => {
    let release!: () => void
    let active = 0
    let maxActive = 0
    const work = vi.fn(() => {
      active++
      maxActive = Math.max(maxActive, active)
      return new Promise<void>((r) => {
        release = () => {
          active--
          r()
        }
      })
    })
    const c = createCoalescer(work, { delayMs: 10, intervalMs: 50 })
    c.invalidate()
    await vi.advanceTimersByTimeAsync(20)
    expect(work).toHaveBeenCalledTimes(1)
    for (let i = 0; i < 100; i++) c.invalidate()
    await vi.advanceTimersByTimeAsync(1000)
    expect(work).toHaveBeenCalledTimes(1)
    release()
    await vi.advanceTimersByTimeAsync(100)
    expect(work).toHaveBeenCalledTimes(2)
    release()
    await vi.advanceTimersByTimeAsync(1000)
    expect(work).toHaveBeenCalledTimes(2)
    expect(maxActive).toBe(1)
  })

  it('does nothing after dispose, and a failing run does not stop later runs', async () => {
    const work = vi.fn(async () => {
      throw new Error('core down')
    })
    const c = createCoalescer(work, { delayMs: 10, intervalMs: 10 })
    c.invalidate()
    await vi.advanceTimersByTimeAsync(50)
    c.invalidate()
    await vi.advanceTimersByTimeAsync(50)
    expect(work).toHaveBeenCalledTimes(2)
    c.dispose()
    c.invalidate()
    await vi.advanceTimersByTimeAsync(100)
    expect(work).toHaveBeenCalledTimes(2)
  })
})
