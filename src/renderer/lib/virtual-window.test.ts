import { describe, expect, it } from 'vitest'
import { evictPages, pagesForRange, rowAt } from './virtual-window'

describe('virtual window math', () => {
  it('maps a visible row range to the pages covering it', () => {
    expect(pagesForRange(0, 30, 100, 100_000)).toEqual([0])
    expect(pagesForRange(95, 130, 100, 100_000)).toEqual([0, 1])
    expect(pagesForRange(54_990, 55_020, 100, 100_000)).toEqual([549, 550])
  })

  it('clamps to the total and handles an empty log', () => {
    expect(pagesForRange(0, 40, 100, 0)).toEqual([])
    expect(pagesForRange(99_980, 100_050, 100, 100_000)).toEqual([999])
    expect(pagesForRange(10, 5, 100, 1000)).toEqual([])
  })

  it('reads rows out of sparse pages', () => {
    const pages = new Map([[3, ['a', 'b']]])
    expect(rowAt(pages, 301, 100)).toBe('b')
    expect(rowAt(pages, 200, 100)).toBeUndefined()
  })

  it('evicts the pages farthest from the view first', () => {
    const pages = new Map([0, 1, 2, 50, 51, 52, 99].map((p) => [p, p]))
    const kept = evictPages(pages, [51], 3)
    expect([...kept.keys()].sort((a, b) => a - b)).toEqual([50, 51, 52])
  })
})
