import { afterEach, describe, expect, it } from 'vitest'
import { tempStore } from '../../../test/proxy-helpers'
import { verifyChain } from './chain'
import { closeOrphans, INTERRUPTED_APPROVAL_REASON, INTERRUPTED_ERROR, pendingOlderThan } from './orphans'

const limits = { callTimeoutMs: 120_000, approvalTimeoutS: 300 }

describe('closeOrphans', () => {
  let store: ReturnType<typeof tempStore> | undefined
  afterEach(async () => store?.close())

  it('completes pending records older than both timeouts as interrupted, and leaves younger ones and finished ones alone', async () => {
    store = tempStore()
    const { writer, db } = store
    const now = Date.now()
    const old = new Date(now - pendingOlderThan(limits) - 1000).toISOString()
    const young = new Date(now - pendingOlderThan(limits) + 10_000).toISOString()
    const lostCall = writer.record({ type: 'tool_call', status: 'pending', timestamp: old, server_name: 's', tool_name: 'slow', arguments: { a: 1 } })
    const lostAsk = writer.record({ type: 'policy_decision', status: 'pending', timestamp: old, server_name: 's', tool_name: 'rm', policy: { decision: 'ask', rule: 'ask-rm', reason: 'a person looks' } })
    const running = writer.record({ type: 'tool_call', status: 'pending', timestamp: young, server_name: 's', tool_name: 'slow' })
    const done = writer.record({ type: 'tool_call', status: 'success', timestamp: old, server_name: 's', tool_name: 'fast' })
    await writer.flush()

    expect(closeOrphans(db, writer, limits, now)).toBe(2)
    const calls = await store.records('tool_call')
    const byId = (id: string) => calls.find((r) => r.id === id)
    expect(byId(lostCall)).toMatchObject({ status: 'error', error: INTERRUPTED_ERROR, arguments: { a: 1 } })
    expect(byId(running)).toMatchObject({ status: 'pending' })
    expect(byId(done)).toMatchObject({ status: 'success' })
    expect((await store.records('policy_decision'))[0]).toMatchObject({ id: lostAsk, status: 'blocked', policy: { decision: 'denied', rule: 'ask-rm', reason: INTERRUPTED_APPROVAL_REASON } })
    // they joined the chain as any completion does; a second sweep finds nothing
    expect(verifyChain(db)).toMatchObject({ ok: true, checked: 3 })
    expect(closeOrphans(db, writer, limits, now)).toBe(0)
  })
})
