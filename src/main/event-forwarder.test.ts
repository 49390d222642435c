import { describe, expect, it, vi } from 'vitest'
import { EventBus } from '../core/events/bus'
import { forwardCoreEvents } from './event-forwarder'

const started = (i: number) => ({ id: `id${i}`, server: 's', tool: 't', timestamp: new Date(0).toISOString() })

describe('core event forwarding to windows', () => {
  it('sends one batch per interval, however many events arrive', () => {
    vi.useFakeTimers()
    const bus = new EventBus()
    const send = vi.fn()
    const stop = forwardCoreEvents(bus, send, { intervalMs: 100 })
    for (let i = 0; i < 500; i++) bus.emit('activity.tool_call.started', started(i))
    expect(send).not.toHaveBeenCalled()
    vi.advanceTimersByTime(100)
    expect(send).toHaveBeenCalledTimes(1)
    expect(send.mock.calls[0]![0]).toHaveLength(500)
    expect(send.mock.calls[0]![0][0]).toEqual({ name: 'activity.tool_call.started', payload: started(0) })
    bus.emit('servers.changed', { reason: 'connected', timestamp: '' })
    vi.advanceTimersByTime(100)
    expect(send).toHaveBeenCalledTimes(2)
    stop()
    bus.emit('servers.changed', { reason: 'connected', timestamp: '' })
    vi.advanceTimersByTime(1000)
    expect(send).toHaveBeenCalledTimes(2)
    vi.useRealTimers()
  })

  it('keeps only the newest events when a batch overflows', () => {
    vi.useFakeTimers()
    const bus = new EventBus()
    const send = vi.fn()
    forwardCoreEvents(bus, send, { intervalMs: 50, maxBatch: 10 })
    for (let i = 0; i < 25; i++) bus.emit('activity.tool_call.started', started(i))
    vi.advanceTimersByTime(50)
    const batch = send.mock.calls[0]![0] as Array<{ payload: { id: string } }>
    expect(batch.map((e) => e.payload.id)).toEqual(Array.from({ length: 10 }, (_, i) => `id${i + 15}`))
    vi.useRealTimers()
  })

  it('flushes what is pending when stopped', () => {
    vi.useFakeTimers()
    const bus = new EventBus()
    const send = vi.fn()
    const stop = forwardCoreEvents(bus, send, { intervalMs: 100 })
    bus.emit('activity.tool_call.started', started(1))
    stop()
    expect(send).toHaveBeenCalledTimes(1)
    vi.useRealTimers()
  })
})
