import { describe, expect, it } from 'vitest'
import { formatDuration } from './format'

describe('formatDuration', () => {
  it('keeps what a sub-millisecond call took, and rounds as durations grow', () => {
    expect(formatDuration(0.146)).toBe('0.15 ms')
    expect(formatDuration(3.456)).toBe('3.5 ms')
    expect(formatDuration(42.4)).toBe('42 ms')
    expect(formatDuration(1234)).toBe('1.23 s')
    expect(formatDuration(14_200)).toBe('14.2 s')
    expect(formatDuration(125_000)).toBe('2 m 5 s')
    expect(formatDuration(null)).toBe('–')
  })
})
