import { describe, expect, it, vi } from 'vitest'
import type { PreloadApi } from '../../shared/ipc'
import type { CoreEvent } from './api'
import { ApiError } from './api'
import { IpcApi } from './ipc-api'

type Bridge = PreloadApi & { emit(event: string, payload: unknown): void; invoke: ReturnType<typeof vi.fn> }

function bridge(answer: (channel: string, payload: unknown) => unknown): Bridge {
  const listeners = new Map<string, Set<(p: unknown) => void>>()
  return {
    invoke: vi.fn(async (channel: string, payload?: unknown) => answer(channel, payload)),
    on: ((event: string, cb: (p: unknown) => void) => {
      if (!listeners.has(event)) listeners.set(event, new Set())
      listeners.get(event)!.add(cb)
      return () => listeners.get(event)!.delete(cb)
    }) as PreloadApi['on'],
    emit: (event, p) => listeners.get(event)?.forEach((l) => l(p)),
  } as Bridge
}

describe('IpcApi against the shared IPC contract', () => {
  it('sends each call on its channel with the contract payload and unwraps the answer', async () => {
    const b = bridge((channel) =>
      channel === 'activity.count' ? { total: 7 } : channel === 'servers.logs' ? { lines: ['a'] } : channel === 'servers.approveTools' ? { approved: ['t'] } : [],
    )
    const api = new IpcApi(b)
    expect(await api.countActivity({ server: 'gh' })).toBe(7)
    expect(await api.serverLogs('gh')).toEqual(['a'])
    expect(await api.approveTools('gh', ['t'])).toEqual(['t'])
    await api.listActivity({ filter: { status: ['error'] }, limit: 100, offset: 200 })
    await api.serverAction('gh', 'restart')
    await api.decideApproval('a1', 'deny')
    expect(b.invoke).toHaveBeenCalledWith('activity.count', { server: 'gh' })
    expect(b.invoke).toHaveBeenCalledWith('activity.list', { status: ['error'], limit: 100, offset: 200 })
    expect(b.invoke).toHaveBeenCalledWith('servers.restart', { name: 'gh' })
    expect(b.invoke).toHaveBeenCalledWith('approvals.decide', { id: 'a1', decision: 'deny' })
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

  it('unpacks event batches, keeps only subscribed names, stops after unsubscribe', () => {
    const b = bridge(() => undefined)
    const seen: CoreEvent[] = []
    const off = new IpcApi(b).subscribe(['servers.changed'], (e) => seen.push(e))
    b.emit('core.events', [
      { name: 'servers.changed', payload: { reason: 'added', timestamp: 't' } },
      { name: 'tools.indexed', payload: { total: 1, timestamp: 't' } },
    ])
    b.emit('core.events', 'garbage')
    off()
    b.emit('core.events', [{ name: 'servers.changed', payload: { reason: 'again', timestamp: 't' } }])
    expect(seen).toEqual([{ name: 'servers.changed', data: { reason: 'added', timestamp: 't' } }])
  })

  it('exports through the save dialog of the main process', async () => {
    const b = bridge((channel) => (channel === 'activity.exportToFile' ? { path: '/home/u/a.jsonl', rows: 3 } : undefined))
    const dl = new IpcApi(b).exportDownload({ server: 'gh' }, 'report')
    expect(dl.kind).toBe('save')
    if (dl.kind === 'save') expect(await dl.save()).toBe('/home/u/a.jsonl')
    expect(b.invoke).toHaveBeenCalledWith('activity.exportToFile', { filter: { server: 'gh' }, format: 'html' })
  })
})
