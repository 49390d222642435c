import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { CheckboxDropdown, dropdownSummary } from './checkbox-dropdown'

describe('checkbox dropdown', () => {
  it('says what is selected while closed', () => {
    expect(dropdownSummary([])).toBe('Any')
    expect(dropdownSummary(['blocked'])).toBe('blocked')
    expect(dropdownSummary(['blocked', 'error'])).toBe('2 selected')
  })

  it('starts closed: a labelled button with aria-expanded, no checkboxes yet', () => {
    const html = renderToStaticMarkup(<CheckboxDropdown label="Status" values={['success', 'error']} selected={['error']} onChange={() => undefined} />)
    expect(html).toContain('aria-expanded="false"')
    expect(html).toMatch(/<button[^>]*aria-labelledby="[^"]*-label [^"]*-button"/)
    expect(html).toContain('>error<')
    expect(html).not.toContain('type="checkbox"')
  })
})
