import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { keyMatches, presentedKey } from './auth'
import { createHostGuard } from './host-origin'

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage

describe('keyMatches', () => {
  it('accepts only the exact key', () => {
    expect(keyMatches('abc', 'abc')).toBe(true)
    expect(keyMatches('abd', 'abc')).toBe(false)
    expect(keyMatches('abcd', 'abc')).toBe(false)
    expect(keyMatches('', 'abc')).toBe(false)
    expect(keyMatches(undefined, 'abc')).toBe(false)
  })
  it('never matches when no key is configured', () => {
    expect(keyMatches('', '')).toBe(false)
  })
})

describe('presentedKey', () => {
  it('reads X-API-Key, then a Bearer token, then ?apikey=', () => {
    expect(presentedKey(req({ 'x-api-key': 'h', authorization: 'Bearer b' }), { apikey: 'q' })).toBe('h')
    expect(presentedKey(req({ authorization: 'bearer  b ' }), { apikey: 'q' })).toBe('b')
    expect(presentedKey(req({ authorization: 'Basic Zm9v' }), { apikey: 'q' })).toBe('q')
    expect(presentedKey(req({}), { apikey: ['a', 'b'] })).toBeUndefined()
    expect(presentedKey(req({}), undefined)).toBeUndefined()
  })
})

describe('createHostGuard', () => {
  const g = createHostGuard(8080)
  it('allows loopback names with the port', () => {
    for (const h of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST:8080', '[::1]:8080']) expect(g.hostAllowed(h), h).toBe(true)
  })
  it('refuses other names, other ports and a missing Host', () => {
    for (const h of ['evil.com', 'evil.com:8080', '127.0.0.1:8081', '127.0.0.1', 'localhost.evil.com:8080', undefined]) expect(g.hostAllowed(h), String(h)).toBe(false)
  })
  it('allows an absent or same-origin Origin only', () => {
    expect(g.originAllowed(undefined)).toBe(true)
    expect(g.originAllowed('http://127.0.0.1:8080')).toBe(true)
    expect(g.originAllowed('http://evil.com')).toBe(false)
    expect(g.originAllowed('https://127.0.0.1:8080')).toBe(false)
    expect(g.originAllowed('null')).toBe(false)
  })
})
