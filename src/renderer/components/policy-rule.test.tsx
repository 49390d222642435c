import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { PolicyRule } from './policy-rule'

describe('PolicyRule', () => {
  it('shows an unnamed rule by its number, never as "rules[0]" alone', () => {
    const html = renderToStaticMarkup(<PolicyRule rule="rules[0]" />)
    expect(html).toMatch(/^Policy rule 1 /)
    expect(html).toContain('unnamed, policy.rules[0] in mcp_config.json')
  })

  it('shows a named rule by its name', () => {
    expect(renderToStaticMarkup(<PolicyRule rule="ask-sum" />)).toBe('<code>ask-sum</code>')
  })
})
