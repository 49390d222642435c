import { describe, expect, expectTypeOf, it } from 'vitest'
import type { ActivityPage, ActivityRecord } from './activity'
import { IPC_CHANNELS, IPC_EVENT_NAMES, type IpcChannel, type IpcEventMap, type IpcEventName, type IpcRequest, type IpcResponse, type PreloadApi } from './ipc'
import type { ApprovalInfo } from './servers'

describe('IPC contract', () => {
  it('lists every invoke channel exactly once', () => {
    // a channel added to the map but not to the list (or the reverse) fails to compile here
    expectTypeOf<(typeof IPC_CHANNELS)[number]>().toEqualTypeOf<IpcChannel>()
    expect(new Set(IPC_CHANNELS).size).toBe(IPC_CHANNELS.length)
  })

  it('lists every event exactly once', () => {
    expectTypeOf<(typeof IPC_EVENT_NAMES)[number]>().toEqualTypeOf<IpcEventName>()
    expect(new Set(IPC_EVENT_NAMES).size).toBe(IPC_EVENT_NAMES.length)
  })

  it('types requests and responses per channel', () => {
    expectTypeOf<IpcResponse<'activity.list'>>().toEqualTypeOf<ActivityPage>()
    expectTypeOf<IpcResponse<'activity.get'>>().toEqualTypeOf<ActivityRecord>()
    expectTypeOf<IpcRequest<'activity.get'>>().toEqualTypeOf<{ id: string }>()
    expectTypeOf<IpcRequest<'approvals.decide'>>().toEqualTypeOf<{ id: string; decision: 'approve' | 'deny' }>()
    expectTypeOf<IpcResponse<'approvals.decide'>>().toEqualTypeOf<ApprovalInfo>()
  })

  it('gives the preload API the channel types', () => {
    const api = {} as PreloadApi
    expectTypeOf(api.invoke<'activity.list'>).returns.toEqualTypeOf<Promise<ActivityPage>>()
    expectTypeOf(api.on<'core.events'>).parameter(1).toEqualTypeOf<(payload: IpcEventMap['core.events']) => void>()
  })

  it('uses dotted feature.action channel names', () => {
    for (const c of IPC_CHANNELS) expect(c).toMatch(/^[a-z]+\.[a-zA-Z]+$/)
  })
})
