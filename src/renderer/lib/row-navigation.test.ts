import { describe, expect, it } from 'vitest'
import { rowKeyTarget, tabStopIndex } from './row-navigation'

describe('row navigation keys', () => {
  it('moves by one, by a page, and to either end, clamped to the rows there are', () => {
    expect(rowKeyTarget('ArrowDown', 3, 100, 10)).toBe(4)
    expect(rowKeyTarget('ArrowUp', 3, 100, 10)).toBe(2)
    expect(rowKeyTarget('ArrowUp', 0, 100, 10)).toBe(0)
    expect(rowKeyTarget('ArrowDown', 99, 100, 10)).toBe(99)
    expect(rowKeyTarget('PageDown', 3, 100, 10)).toBe(13)
    expect(rowKeyTarget('PageDown', 95, 100, 10)).toBe(99)
    expect(rowKeyTarget('PageUp', 13, 100, 10)).toBe(3)
    expect(rowKeyTarget('PageUp', 5, 100, 10)).toBe(0)
    expect(rowKeyTarget('PageDown', 3, 100, 0)).toBe(4)
    expect(rowKeyTarget('Home', 42, 100, 10)).toBe(0)
    expect(rowKeyTarget('End', 42, 100, 10)).toBe(99)
  })

  it('leaves other keys, and an empty list, alone', () => {
    expect(rowKeyTarget('Tab', 3, 100, 10)).toBeNull()
    expect(rowKeyTarget('Enter', 3, 100, 10)).toBeNull()
    expect(rowKeyTarget('a', 3, 100, 10)).toBeNull()
    expect(rowKeyTarget('ArrowDown', 0, 0, 10)).toBeNull()
  })
})

describe('roving tab stop', () => {
  it('is the active row while it is rendered, else the first row in view', () => {
    const rendered = [10, 11, 12, 13, 14, 15]
    expect(tabStopIndex(12, rendered, 11)).toBe(12)
    expect(tabStopIndex(3, rendered, 11)).toBe(11)
    expect(tabStopIndex(3, rendered, undefined)).toBe(10)
    expect(tabStopIndex(0, [], 0)).toBeUndefined()
  })
})
