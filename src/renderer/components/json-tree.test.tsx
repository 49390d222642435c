import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { initialOpenLevels, JsonTree, OPEN_LINE_BUDGET } from './json-tree'

const toolResponse = { content: [{ type: 'text', text: 'Echo: hello-tree' }], isError: false }

describe('JSON tree', () => {
  it('opens a small body completely: a tool response shows its text without a click', () => {
    expect(initialOpenLevels(toolResponse)).toBe(Number.POSITIVE_INFINITY)
    const html = renderToStaticMarkup(<JsonTree value={toolResponse} label="response" />)
    expect(html).toContain('Echo: hello-tree')
    expect(html).not.toContain('aria-expanded="false"')
  })

  it('opens the top two levels of a large body and keeps it collapsed below them', () => {
    const large = { items: Array.from({ length: OPEN_LINE_BUDGET }, (_, i) => ({ id: i, nested: { secret: `deep-${i}` } })) }
    expect(initialOpenLevels(large)).toBe(2)
    const html = renderToStaticMarkup(<JsonTree value={large} label="response" />)
    expect(html).toContain('items: ')
    expect(html).toContain('2 keys')
    expect(html).not.toContain('deep-0')
  })

  it('opens as many levels as fit in the budget', () => {
    // 1 + 3 lines, 3 × 3 more, then 1 (a.x.l), then 40: the fourth level does not fit in 50 lines
    const value = { a: { x: { l: Array(40).fill(0) }, y: {}, z: {} }, b: { x: {}, y: {}, z: {} }, c: { x: {}, y: {}, z: {} } }
    expect(initialOpenLevels(value, 50)).toBe(3)
    expect(initialOpenLevels(value, 1000)).toBe(Number.POSITIVE_INFINITY)
    expect(initialOpenLevels('text')).toBe(Number.POSITIVE_INFINITY)
    expect(initialOpenLevels([])).toBe(Number.POSITIVE_INFINITY)
  })
})
