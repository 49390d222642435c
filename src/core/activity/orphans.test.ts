import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { bundleFixture } from '../../../test/fixtures/bundle-fixture'
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

describe('closeOrphans, by the process that wrote them', () => {
  let store: ReturnType<typeof tempStore> | undefined
  const children: ChildProcess[] = []
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL')
    await store?.close()
  })

  it('completes at once the pending records of a process that is gone, never those of a live one', async () => {
    store = tempStore()
    const { writer, db } = store
    const file = db.name
    const fixture = await bundleFixture('test/fixtures/crash-writer.ts', 'orphans-pending-writer')
    // another process writes a call still running, and is killed
    const child = spawn(process.execPath, [fixture, 'pending', file], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(child)
    const lostId = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        const m = /^P (\S+)/m.exec(String(d))
        if (m) resolve(m[1]!)
      })
      child.on('exit', (code) => reject(new Error(`pending writer exited with ${code}`)))
    })
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    // this process writes one too: it runs, so its record stays pending
    const mine = writer.record({ type: 'tool_call', status: 'pending', server_name: 's', tool_name: 'slow' })
    await writer.flush()
    // a pid that runs, but since another start than the one registered: the OS reused it
    const sleeper = spawn('sleep', ['30'])
    children.push(sleeper)
    const reused = writer.record({ type: 'tool_call', status: 'pending', server_name: 's', tool_name: 'reused' })
    await writer.flush()
    db.prepare('INSERT INTO activity_writer (id, pid, started, opened_at) VALUES (1, ?, ?, ?)').run(sleeper.pid, '1', new Date().toISOString())
    db.prepare('UPDATE activity_pending_writer SET writer = 1 WHERE rid = (SELECT rid FROM activity WHERE id = ?)').run(reused)

    // well within both timeouts
    expect(closeOrphans(db, writer, limits, Date.now())).toBe(2)
    const calls = await store.records('tool_call')
    const byId = (id: string) => calls.find((r) => r.id === id)
    expect(byId(lostId)).toMatchObject({ status: 'error', error: INTERRUPTED_ERROR, server_name: 'slow', arguments: { forever: true } })
    expect(byId(reused)).toMatchObject({ status: 'error', error: INTERRUPTED_ERROR })
    expect(byId(mine)).toMatchObject({ status: 'pending' })
    expect(verifyChain(db)).toMatchObject({ ok: true, pending: 1 })
    // once their records are completed, the next sweep forgets the gone writers; this process stays registered for its own
    expect(closeOrphans(db, writer, limits, Date.now())).toBe(0)
    expect(db.prepare('SELECT pid FROM activity_writer').pluck().all()).toEqual([process.pid])
  })
})
