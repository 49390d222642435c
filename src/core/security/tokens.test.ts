import { describe, expect, it } from 'vitest'
import { estimateTokens } from './tokens'

describe('estimateTokens', () => {
  it('counts one token per 4 UTF-8 bytes, rounded up', () => {
    expect(estimateTokens('')).toBe(0)
    expect(estimateTokens('abc')).toBe(1)
    expect(estimateTokens('abcd')).toBe(1)
    expect(estimateTokens('abcde')).toBe(2)
    expect(estimateTokens('é'.repeat(4))).toBe(2)
  })

  it('takes a byte count too', () => {
    expect(estimateTokens(65536)).toBe(16384)
    expect(estimateTokens(1)).toBe(1)
    expect(estimateTokens(0)).toBe(0)
    expect(estimateTokens(-5)).toBe(0)
    expect(estimateTokens(Number.NaN)).toBe(0)
  })
})
