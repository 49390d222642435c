import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IpcMainInvokeEvent } from 'electron'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCore } from '../core/index'
import type { Core } from '../core/core-types'
import { silentLogger } from '../core/logger'
import { IPC_CHANNELS, type IpcEnvelope } from '../shared/ipc'
import { createIpcHandlers, registerIpcHandlers, type IpcMainLike } from './ipc-handlers'

type Listener = (event: IpcMainInvokeEvent, request: unknown) => Promise<unknown>

function fakeIpcMain(): IpcMainLike & { invoke(channel: string, request?: unknown, trusted?: boolean): Promise<IpcEnvelope<unknown>>; channels: Map<string, Listener> } {
  const channels = new Map<string, Listener>()
  return {
    channels,
    handle: (channel, listener) => void channels.set(channel, listener),
    removeHandler: (channel) => void channels.delete(channel),
    invoke: (channel, request, trusted = true) =>
      channels.get(channel)!({ trusted } as unknown as IpcMainInvokeEvent, request) as Promise<IpcEnvelope<unknown>>,
  }
}

describe('IPC handlers over a real core', () => {
  let dir: string
  let core: Core
  const ipc = fakeIpcMain()
  const exportToFile = vi.fn(async () => ({ path: '/tmp/x.csv', rows: 3 }))

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpproxy-ipc-'))
    writeFileSync(join(dir, 'mcp_config.json'), JSON.stringify({ api_key: 'ipc-test-key-0123456789', mcpServers: {} }))
    core = await createCore({ dataDir: dir, http: false, watchConfig: false, logger: silentLogger })
    await core.start()
    registerIpcHandlers(
      ipc,
      createIpcHandlers(core, {
        appInfo: () => ({ version: '0.0.0', mcp_url: 'http://127.0.0.1:8080/mcp', web_ui_url: '', data_dir: dir, platform: 'linux' }),
        isTrustedSender: (e) => (e as unknown as { trusted: boolean }).trusted,
        exportToFile,
        openExternal: async () => {},
        copyText: () => {},
      }),
      { isTrustedSender: (e) => (e as unknown as { trusted: boolean }).trusted },
    )
  })

  afterAll(async () => {
    await core.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('registers exactly the channels of the contract', () => {
    expect([...ipc.channels.keys()].sort()).toEqual([...IPC_CHANNELS].sort())
  })

  it('answers in the envelope', async () => {
    core.activity.record({ type: 'tool_call', status: 'success', server_name: 'everything', tool_name: 'echo', arguments: { message: 'hi' } })
    await core.activity.flush()
    const page = (await ipc.invoke('activity.list', { limit: 10 })) as IpcEnvelope<{ activities: Array<{ tool_name?: string }>; total: number }>
    expect('result' in page).toBe(true)
    if ('result' in page) expect(page.result.activities.some((a) => a.tool_name === 'echo')).toBe(true)
    const status = (await ipc.invoke('status.get')) as IpcEnvelope<{ status: string }>
    expect(status).toMatchObject({ result: { status: 'running' } })
  })

  it('turns bad input into an INVALID_PARAMETER error naming the field', async () => {
    expect(await ipc.invoke('activity.list', { limit: 500 })).toMatchObject({ error: { code: 'INVALID_PARAMETER', message: expect.stringContaining('limit') } })
    expect(await ipc.invoke('activity.summary', { period: '2y' })).toMatchObject({ error: { code: 'INVALID_PARAMETER', message: expect.stringContaining('period') } })
    expect(await ipc.invoke('activity.hourly', { hours: 0 })).toMatchObject({ error: { code: 'INVALID_PARAMETER', message: expect.stringContaining('hours') } })
  })

  it('maps core errors to their codes', async () => {
    expect(await ipc.invoke('activity.get', { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await ipc.invoke('servers.enable', { name: 'nope' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await ipc.invoke('approvals.decide', { id: 'missing', decision: 'approve' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
  })

  it('refuses untrusted senders before running the handler', async () => {
    exportToFile.mockClear()
    expect(await ipc.invoke('activity.exportToFile', { filter: {}, format: 'csv' }, false)).toEqual({
      error: { message: 'IPC from an untrusted sender was refused', code: 'FORBIDDEN' },
    })
    expect(exportToFile).not.toHaveBeenCalled()
    expect(await ipc.invoke('activity.exportToFile', { filter: { type: 'tool_call' }, format: 'csv' })).toEqual({ result: { path: '/tmp/x.csv', rows: 3 } })
    expect(exportToFile).toHaveBeenCalledWith({ filter: { type: ['tool_call'] }, format: 'csv' })
  })

  it('adds a server in quarantine', async () => {
    const added = (await ipc.invoke('servers.add', { name: 'newcomer', command: process.execPath, args: ['-e', 'setTimeout(()=>{},1e9)'] })) as IpcEnvelope<{ quarantined: boolean }>
    expect(added).toMatchObject({ result: { quarantined: true } })
  })
})
