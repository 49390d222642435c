import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { PolicyDecisionEvent } from '../src/shared/events'
import { startHarness, textOf, type Harness } from './proxy-helpers'

const echo = (message: string, intent?: Record<string, unknown>) => ({
  name: 'call_tool',
  arguments: { server: 'everything', tool: 'echo', arguments: { message }, ...(intent ? { intent } : {}) },
})

describe('gates on call_tool', () => {
  let h: Harness
  let client: Client
  const events: PolicyDecisionEvent[] = []
  beforeAll(async () => {
    h = await startHarness({}, { weather: { command: process.execPath, args: [join(__dirname, 'fixtures/rugpull-server.mjs')], quarantined: false } })
    client = await h.connectHttp('gated-agent')
    h.bus.on('activity.policy_decision', (e) => events.push(e))
  })
  afterAll(async () => h.close())
  afterEach(async () => {
    await await h.setConfig({})
    events.length = 0
    if (h.upstreams.get('everything')!.quarantined) await h.upstreams.setQuarantined('everything', false)
  })

  /** the policy_decision and tool_call records of the call whose message is `message` */
  async function recordsOf(message: string) {
    const call = (await h.records('tool_call')).find((r) => (r.arguments as { message?: string }).message === message)!
    const decision = (await h.records('policy_decision')).find((r) => r.session_id === call.session_id && r.timestamp >= call.timestamp)!
    return { call, decision }
  }

  it('1 blocks a quarantined server with its reason and records it', async () => {
    await h.upstreams.setQuarantined('everything', true)
    const r = await client.callTool(echo('q'))
    expect(r.isError).toBe(true)
    expect(textOf(r)).toMatch(/Blocked by mcpproxy \(quarantine\): server 'everything' is quarantined/)
    const { call, decision } = await recordsOf('q')
    expect(call).toMatchObject({ status: 'blocked', policy: { decision: 'deny', rule: 'quarantine' } })
    expect(decision).toMatchObject({ status: 'blocked', server_name: 'everything', tool_name: 'echo', policy: { decision: 'deny', rule: 'quarantine' } })
    expect(events[0]).toMatchObject({ id: decision.id, decision: 'blocked', rule: 'quarantine' })
  })

  it('2 blocks a tool whose definition changed since approval (a rug pull), until re-approved', async () => {
    const weather = (city: string) => client.callTool({ name: 'call_tool', arguments: { server: 'weather', tool: 'get_weather', arguments: { city } } })
    expect(textOf(await weather('Oslo'))).toBe('Sunny in Oslo')
    await vi.waitFor(() => expect(h.upstreams.tools('weather').find((t) => t.tool.name === 'get_weather')!.pinState).toBe('changed'), { timeout: 10_000 })
    const r = await weather('Bergen')
    expect(r.isError).toBe(true)
    expect(textOf(r)).toMatch(/\(pinned_tool\): tool 'weather:get_weather' changed since it was approved/)
    const decision = (await h.records('policy_decision')).find((d) => d.server_name === 'weather')!
    expect(decision).toMatchObject({ status: 'blocked', tool_name: 'get_weather', policy: { decision: 'deny', rule: 'pinned_tool' } })
    await h.upstreams.approveTools('weather', ['get_weather'], 'tester')
    expect(textOf(await weather('Bergen'))).toBe('Sunny in Bergen')
  })

  it('4 denies by the first matching policy rule and lets an earlier allow win', async () => {
    await h.setConfig({ policy: { rules: [{ server: 'everything', tool: 'echo', action: 'deny', reason: 'no echoes here', name: 'no-echo' }] } })
    const r = await client.callTool(echo('deny'))
    expect(textOf(r)).toBe('Blocked by mcpproxy (policy): no echoes here')
    const { decision, call } = await recordsOf('deny')
    expect(decision.policy).toMatchObject({ decision: 'deny', rule: 'no-echo', reason: 'no echoes here' })
    expect(call.status).toBe('blocked')

    await h.setConfig({
      policy: {
        rules: [
          { server: 'everything', tool: 'echo', action: 'allow' },
          { server: '*', tool: '*', action: 'deny' },
        ],
      },
    })
    expect(textOf(await client.callTool(echo('allowed')))).toBe('Echo: allowed')
    // an unnamed rule without a reason is named by its place in the config
    await h.setConfig({ policy: { rules: [{ server: 'everything', action: 'deny' }] } })
    expect(textOf(await client.callTool(echo('unnamed')))).toBe('Blocked by mcpproxy (policy): denied by policy rule 1 (policy.rules[0] in mcp_config.json)')

    // a rule on the operation type matches through the write_tools list (echo is annotated read-only)
    await h.setConfig({ write_tools: ['everything:echo'], policy: { rules: [{ operation_type: 'write', action: 'deny', reason: 'no writes today' }] } })
    expect(textOf(await client.callTool(echo('listed-write')))).toBe('Blocked by mcpproxy (policy): no writes today')
    expect((await recordsOf('listed-write')).call.flags).toContain('write')
    await h.setConfig({ policy: { rules: [{ operation_type: 'write', action: 'deny' }] } })
    expect(textOf(await client.callTool(echo('read-only')))).toBe('Echo: read-only')
  })

  it('5 blocks a call without intent when intent is required, and one that contradicts the tool', async () => {
    await h.setConfig({ intent_declaration: { required: true } })
    const r = await client.callTool(echo('no-intent'))
    expect(textOf(r)).toMatch(/^Blocked by mcpproxy \(intent\): /)
    expect((await recordsOf('no-intent')).decision.policy).toMatchObject({ decision: 'deny', rule: 'intent' })
    expect(textOf(await client.callTool(echo('with-intent', { operation_type: 'read', reason: 'look' })))).toBe('Echo: with-intent')

    await h.setConfig({ write_tools: ['echo'] })
    const c = await client.callTool(echo('contradiction', { operation_type: 'read' }))
    expect(textOf(c)).toMatch(/^Blocked by mcpproxy \(intent\): /)
    expect((await recordsOf('contradiction')).call.flags).toBeDefined()
  })

  it('6 ask: an approved call goes through, seen with its arguments', async () => {
    await h.setConfig({ policy: { rules: [{ tool: 'echo', action: 'ask', reason: 'a person looks first', name: 'ask-echo' }] } })
    const requested = new Promise<string>((resolve) => {
      const off = h.bus.on('activity.approval_requested', (e) => {
        off()
        resolve(e.id)
      })
    })
    const call = client.callTool(echo('please'))
    const id = await requested
    const pending = h.services.approvals.list()
    expect(pending).toHaveLength(1)
    expect(pending[0]).toMatchObject({ id, server: 'everything', tool: 'echo', arguments: { message: 'please' }, rule: 'ask-echo' })
    expect(await h.record(id)).toMatchObject({ type: 'policy_decision', status: 'pending', policy: { decision: 'ask' } })
    h.services.approvals.decide(id, 'approve', 'tester')
    expect(textOf(await call)).toBe('Echo: please')
    expect(await h.record(id)).toMatchObject({ status: 'success', policy: { decision: 'approved' } })
    expect(() => h.services.approvals.decide(id, 'deny')).toThrow(/no pending approval/)
  })

  it('6 ask: a denied call is blocked and recorded as denied', async () => {
    await h.setConfig({ policy: { rules: [{ tool: 'echo', action: 'ask' }] } })
    const requested = new Promise<string>((resolve) => {
      const off = h.bus.on('activity.approval_requested', (e) => {
        off()
        resolve(e.id)
      })
    })
    const call = client.callTool(echo('nope'))
    h.services.approvals.decide(await requested, 'deny', 'tester')
    const r = await call
    expect(textOf(r)).toMatch(/\(approval\): a person denied this call/)
    const { call: rec, decision } = await recordsOf('nope')
    expect(decision).toMatchObject({ status: 'blocked', policy: { decision: 'denied' } })
    expect(rec).toMatchObject({ status: 'blocked', policy: { decision: 'denied' } })
  })

  it('6 ask: a caller that cancels while waiting withdraws its approval request', async () => {
    await h.setConfig({ policy: { rules: [{ tool: 'echo', action: 'ask' }] } })
    const requested = new Promise<string>((resolve) => {
      const off = h.bus.on('activity.approval_requested', (e) => {
        off()
        resolve(e.id)
      })
    })
    const abort = new AbortController()
    const call = client.callTool(echo('withdrawn'), undefined, { signal: abort.signal })
    const id = await requested
    abort.abort()
    await expect(call).rejects.toThrow()
    await vi.waitFor(() => expect(h.services.approvals.list()).toEqual([]))
    expect(await h.record(id)).toMatchObject({ status: 'blocked', policy: { decision: 'denied', reason: 'denied by caller (cancelled)' } })
    expect(() => h.services.approvals.decide(id, 'approve')).toThrow(/no pending approval/)
    // nobody denied it: the call's record says the caller cancelled
    await vi.waitFor(async () => expect((await recordsOf('withdrawn')).call).toMatchObject({ status: 'blocked', error: expect.stringContaining('the caller cancelled while this call waited for approval') }))
  })

  it('6 ask: a core stopping with the call still waiting tells the client it stopped, not that a person denied it', async () => {
    await h.setConfig({ policy: { rules: [{ tool: 'echo', action: 'ask', reason: 'looked at first' }] } })
    const requested = new Promise<string>((resolve) => {
      const off = h.bus.on('activity.approval_requested', (e) => {
        off()
        resolve(e.id)
      })
    })
    const call = client.callTool(echo('at shutdown'))
    await requested
    h.services.approvals.close()
    const r = await call
    expect(r.isError).toBe(true)
    expect(textOf(r)).toMatch(/\(approval\): mcpproxy stopped before anyone answered this approval \(looked at first\); the call was not made: send it again/)
    expect(textOf(r)).not.toMatch(/a person denied/)
    const { decision } = await recordsOf('at shutdown')
    expect(decision).toMatchObject({ status: 'blocked', policy: { decision: 'denied', reason: 'denied by shutdown' } })
  })

  it('6 ask: no answer within approval_timeout_s denies the call', async () => {
    await h.setConfig({ approval_timeout_s: 1, policy: { rules: [{ tool: 'echo', action: 'ask' }] } })
    const r = await client.callTool(echo('late'))
    expect(textOf(r)).toMatch(/no approval within 1s; the call was denied/)
    const { decision } = await recordsOf('late')
    expect(decision).toMatchObject({ status: 'blocked', policy: { decision: 'timeout' } })
    expect(h.services.approvals.list()).toEqual([])
  })
})
