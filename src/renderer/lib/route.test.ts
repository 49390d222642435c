import { describe, expect, it } from 'vitest'
import { parseHash, routeHref } from './route'

describe('hash routes', () => {
  it('parses view, param and query', () => {
    const r = parseHash('#/activity?server=everything&status=error')
    expect(r.view).toBe('activity')
    expect(r.query.get('server')).toBe('everything')
    const review = parseHash('#/review/my%20server')
    expect(review).toMatchObject({ view: 'review', param: 'my server' })
  })
  it('falls back to the dashboard for unknown or empty hashes', () => {
    expect(parseHash('').view).toBe('dashboard')
    expect(parseHash('#/nope').view).toBe('dashboard')
  })
  it('builds hrefs that parse back', () => {
    const href = routeHref('activity', undefined, new URLSearchParams('session=s1'))
    expect(href).toBe('#/activity?session=s1')
    expect(parseHash(href).query.get('session')).toBe('s1')
  })
})
