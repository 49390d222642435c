import { describe, expect, it, vi } from 'vitest'
import type { CoreEvent } from './api'
import { ApiError } from './api'
import { IPC_CHANNELS, IPC_EVENT, IpcApi, type PreloadBridge } from './ipc-api'

function bridge(answer: (channel: string, payload: unknown) => unknown): PreloadBridge & { emit(payload: unknown): void } {
  const listeners = new Set<(p: unknown) => void>()
  return {
    invoke: vi.fn(async (channel: string, payload?: unknown) => answer(channel, payload)),
    on: (event, cb) => {
      expect(event).toBe(IPC_EVENT)
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
    emit: (p) => listeners.forEach((l) => l(p)),
  }
}

describe('IpcApi', () => {
  it('sends each call on its channel with the payload', async () => {
    const b = bridge((channel) => (channel === IPC_CHANNELS.countActivity ? 7 : []))
    const api = new IpcApi(b)
    expect(await api.countActivity({ server: 'gh' })).toBe(7)
    await api.listActivity({ filter: { status: ['error'] }, limit: 100, offset: 200 })
    await api.decideApproval('a1', 'deny')
    expect(b.invoke).toHaveBeenCalledWith('activity:count', { filter: { server: 'gh' } })
    expect(b.invoke).toHaveBeenCalledWith('activity:list', { filter: { status: ['error'] }, limit: 100, offset: 200 })
    expect(b.invoke).toHaveBeenCalledWith('approvals:decide', { id: 'a1', decision: 'deny' })
  })

  it('turns a rejected invoke into an ApiError keeping the core code', async () => {
    const api = new IpcApi(
      bridge(() => {
        throw Object.assign(new Error('server "x" not found'), { code: 'NOT_FOUND' })
      }),
    )
    const err = await api.servers().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ message: 'server "x" not found', code: 'NOT_FOUND' })
  })

  it('delivers only the subscribed events and stops after unsubscribe', () => {
    const b = bridge(() => undefined)
    const seen: CoreEvent[] = []
    const off = new IpcApi(b).subscribe(['servers.changed'], (e) => seen.push(e))
    b.emit({ name: 'servers.changed', data: { reason: 'added', timestamp: 't' } })
    b.emit({ name: 'tools.indexed', data: { total: 1, timestamp: 't' } })
    b.emit('garbage')
    off()
    b.emit({ name: 'servers.changed', data: { reason: 'again', timestamp: 't' } })
    expect(seen).toEqual([{ name: 'servers.changed', data: { reason: 'added', timestamp: 't' } }])
  })

  it('exports through IPC as a blob with the right file name', async () => {
    const b = bridge((channel, payload) => (channel === IPC_CHANNELS.exportActivity ? `{"kind":"${(payload as { kind: string }).kind}"}\n` : undefined))
    const dl = new IpcApi(b).exportDownload({ server: 'gh' }, 'json')
    expect(dl.kind).toBe('blob')
    expect(dl.filename).toBe('mcpproxy-activity.jsonl')
    if (dl.kind === 'blob') expect(await (await dl.load()).text()).toBe('{"kind":"json"}\n')
  })
})
