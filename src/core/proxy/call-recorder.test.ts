import { describe, expect, it } from 'vitest'
import { traceFrom } from './call-recorder'

describe('traceFrom (W3C traceparent)', () => {
  it('keeps the client trace id and flags, with a new span of ours as the parent upstream', () => {
    const t = traceFrom({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })
    expect(t.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(t.spanId).not.toBe('00f067aa0ba902b7')
    expect(t.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${t.spanId}-01`)
  })

  it.each([
    ['absent', undefined],
    ['not a string', { traceparent: 42 }],
    ['malformed', { traceparent: '00-xyz-00f067aa0ba902b7-01' }],
    ['all-zero trace id', { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }],
    ['all-zero parent id', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01' }],
    ['version ff', { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
  ])('starts a new trace when the traceparent is %s', (_label, meta) => {
    const t = traceFrom(meta as Record<string, unknown> | undefined)
    expect(t.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(t.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(t.traceparent).toBe(`00-${t.traceId}-${t.spanId}-01`)
  })

  it('never repeats ids across many calls', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => traceFrom(undefined).spanId))
    expect(ids.size).toBe(2000)
  })
})
