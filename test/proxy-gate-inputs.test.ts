// What the gates are given through /mcp besides call_tool's arguments: an intent in the request's
// _meta (the only way to declare one with tool_exposure: direct), and policy rules selecting the
// tools of the sensitive_tools list.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { ActivityRecord } from '../src/shared/activity'
import { startHarness, textOf, type Harness } from './proxy-helpers'

describe('gate inputs', () => {
  let h: Harness
  let client: Client
  beforeAll(async () => {
    h = await startHarness()
    client = await h.connectHttp('intent-agent')
  })
  afterAll(async () => h.close())
  afterEach(async () => h.setConfig({}))

  const callRecord = async (message: string): Promise<ActivityRecord> =>
    (await h.records('tool_call')).find((r) => (r.arguments as { message?: string }).message === message)!
  const direct = (message: string, meta?: Record<string, unknown>) =>
    client.callTool({ name: 'everything__echo', arguments: { message }, ...(meta ? { _meta: meta } : {}) })

  it('direct exposure with intent required: _meta.intent lets the call through, no intent blocks it', async () => {
    await h.setConfig({ tool_exposure: 'direct', intent_declaration: { required: true } })
    const blocked = await direct('direct-none')
    expect(blocked.isError).toBe(true)
    expect(textOf(blocked)).toMatch(/^Blocked by mcpproxy \(intent\): intent declaration required: .*_meta\.intent/)
    expect(await callRecord('direct-none')).toMatchObject({ status: 'blocked', policy: { decision: 'deny', rule: 'intent' } })

    const passed = await direct('direct-meta', { intent: { operation_type: 'read', reason: 'echo it back' } })
    expect(textOf(passed)).toBe('Echo: direct-meta')
    expect(await callRecord('direct-meta')).toMatchObject({ status: 'success', intent: { operation_type: 'read', reason: 'echo it back' } })
  })

  it('direct exposure: a _meta.intent that contradicts the tool is blocked, a malformed one is refused', async () => {
    await h.setConfig({ tool_exposure: 'direct', write_tools: ['everything:echo'] })
    expect(textOf(await direct('direct-contradiction', { intent: { operation_type: 'read' } }))).toMatch(
      /^Blocked by mcpproxy \(intent\): intent contradicts the tool: declared read, but the tool is write/,
    )
    const bad = await direct('direct-bad', { intent: { operation_type: 'delete' } })
    expect(bad.isError).toBe(true)
    expect(textOf(bad)).toMatch(/^invalid _meta\.intent: operation_type: /)
    const notObject = await direct('direct-string', { intent: 'read' })
    expect(textOf(notObject)).toMatch(/^invalid _meta\.intent: _meta\.intent: /)
  })

  it("call_tool takes _meta.intent when it has no intent argument; the argument wins when both are given", async () => {
    await h.setConfig({ intent_declaration: { required: true } })
    const call = (message: string, extra: { intent?: Record<string, unknown>; meta?: Record<string, unknown> }) =>
      client.callTool({
        name: 'call_tool',
        arguments: { server: 'everything', tool: 'echo', arguments: { message }, ...(extra.intent ? { intent: extra.intent } : {}) },
        ...(extra.meta ? { _meta: extra.meta } : {}),
      })
    expect(textOf(await call('meta-only', { meta: { intent: { operation_type: 'read' } } }))).toBe('Echo: meta-only')
    const both = await call('both', { intent: { reason: 'no type' }, meta: { intent: { operation_type: 'read' } } })
    expect(textOf(both)).toMatch(/^Blocked by mcpproxy \(intent\): intent declaration required: intent\.operation_type is missing/)
  })

  it('a rule with sensitive: true matches the tools of sensitive_tools and no others', async () => {
    const rules = [{ sensitive: true, action: 'deny' as const, reason: 'sensitive tools are off today', name: 'no-sensitive' }]
    await h.setConfig({ sensitive_tools: ['everything:echo'], policy: { rules } })
    const call = (message: string) => client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message } } })
    expect(textOf(await call('sensitive'))).toBe('Blocked by mcpproxy (policy): sensitive tools are off today')
    expect(await callRecord('sensitive')).toMatchObject({ status: 'blocked', flags: ['sensitive'], policy: { rule: 'no-sensitive' } })

    await h.setConfig({ sensitive_tools: ['everything:other'], policy: { rules } })
    expect(textOf(await call('not-sensitive'))).toBe('Echo: not-sensitive')
  })
})
