import { describe, expect, it, vi } from 'vitest'
import type { Api, ConnectionState } from '../api/api'
import { connectionLabel, createAppStore } from './app-store'

describe('the connection pill', () => {
  it('tells a first connect, a core gone away and a refused key apart', () => {
    expect(connectionLabel('connecting', false)).toBe('connecting…')
    expect(connectionLabel('open', true)).toBe('live')
    expect(connectionLabel('connecting', true)).toBe('core unreachable, reconnecting…')
    expect(connectionLabel('closed', true)).toBe('offline')
    expect(connectionLabel('closed', false, 'missing or wrong API key (UNAUTHORIZED)')).toBe('wrong API key')
  })

  it('remembers that the stream was open once', async () => {
    let report: ((s: ConnectionState) => void) | undefined
    const api = {
      onNavigate: () => () => undefined,
      subscribe: (_t: unknown, _e: unknown, onConnection: (s: ConnectionState) => void) => ((report = onConnection), () => undefined),
      info: vi.fn(async () => ({ version: '0.1.0' })),
    } as unknown as Api
    const store = createAppStore(api, [])
    await store.getState().started()
    report!('connecting')
    expect(store.getState().wasOpen).toBe(false)
    report!('open')
    report!('connecting')
    expect(store.getState()).toMatchObject({ connection: 'connecting', wasOpen: true })
  })
})
