// Prompts, resources and resource templates through /mcp, with server-everything behind the real
// upstream manager: templated URIs reach the upstream, and a quarantined server's prompts and
// resources are neither listed nor served (refusals recorded like a blocked tool call).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { McpError, PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import type { PolicyDecisionEvent } from '../src/shared/events'
import { startHarness, type Harness } from './proxy-helpers'

const TEXT_TEMPLATE = 'demo://resource/dynamic/text/{resourceId}'

async function rejection(p: Promise<unknown>): Promise<McpError> {
  try {
    await p
  } catch (err) {
    return err as McpError
  }
  throw new Error('expected a rejection')
}

describe('prompts, resources and resource templates', () => {
  let h: Harness
  let client: Client
  const events: PolicyDecisionEvent[] = []
  const changes = { prompts: 0, resources: 0 }
  beforeAll(async () => {
    h = await startHarness()
    client = await h.connectHttp('resource-reader')
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => void changes.prompts++)
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void changes.resources++)
    h.bus.on('activity.policy_decision', (e) => events.push(e))
  })
  afterAll(async () => h.close())
  afterEach(async () => {
    events.length = 0
    if (h.upstreams.get('everything')!.quarantined) await h.upstreams.setQuarantined('everything', false)
  })

  it("lists the upstream's resource templates and reads a URI only a template names", async () => {
    const { resourceTemplates } = await client.listResourceTemplates()
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(TEXT_TEMPLATE)
    const { resources } = await client.listResources()
    const uri = 'demo://resource/dynamic/text/7'
    expect(resources.map((r) => r.uri)).not.toContain(uri)

    const read = await client.readResource({ uri })
    expect(read.contents).toHaveLength(1)
    expect(read.contents[0]).toMatchObject({ uri, mimeType: 'text/plain' })
    expect((read.contents[0] as { text: string }).text).toMatch(/^Resource 7: /)
  })

  it('lets the upstream refuse a templated URI it has no resource for, and names URIs nobody serves', async () => {
    // matches the template, so the upstream decides (its id must be a positive integer)
    const refused = await rejection(client.readResource({ uri: 'demo://resource/dynamic/text/zero' }))
    expect(refused.message).toMatch(/Unknown resource: demo:\/\/resource\/dynamic\/text\/zero/)
    const unknown = await rejection(client.readResource({ uri: 'demo://nowhere/1' }))
    expect(unknown).toBeInstanceOf(McpError)
    expect(unknown.message).toMatch(/unknown resource 'demo:\/\/nowhere\/1': no upstream lists it or has a template matching it/)
  })

  it('records each prompts/get and resources/read an upstream answers as an mcp_message, its errors too, and none a gate refused', async () => {
    const before = (await h.records('mcp_message')).length
    const uri = 'demo://resource/dynamic/text/11'
    await client.readResource({ uri })
    await client.getPrompt({ name: 'everything__simple-prompt' })
    await rejection(client.readResource({ uri: 'demo://resource/dynamic/text/zero' }))
    await h.upstreams.setQuarantined('everything', true)
    await rejection(client.readResource({ uri: 'demo://resource/dynamic/text/12' }))
    const all = await h.records('mcp_message')
    // newest first
    const added = all.slice(0, all.length - before).reverse()
    expect(added.map((r) => [r.metadata?.method, r.status])).toEqual([
      ['resources/read', 'success'],
      ['prompts/get', 'success'],
      ['resources/read', 'error'],
    ])
    expect(added[0]).toMatchObject({
      server_name: 'everything',
      client: { name: 'resource-reader' },
      arguments: { uri },
      response: { contents: [{ uri }] },
      metadata: { transport: 'http', direction: 'client_to_server', kind: 'request' },
    })
    expect(added[0]!.duration_ms).toBeGreaterThan(0)
    expect(added[1]).toMatchObject({ arguments: { name: 'everything__simple-prompt' }, response: { messages: [expect.anything()] } })
    expect(added[2]!.error).toMatch(/Unknown resource: demo:\/\/resource\/dynamic\/text\/zero/)
  })

  it("leaves a quarantined server's prompts, resources and templates out of the lists, and tells the client", async () => {
    const before = { ...changes }
    await h.upstreams.setQuarantined('everything', true)
    await vi.waitFor(() => expect(changes.prompts).toBeGreaterThan(before.prompts), { timeout: 10_000 })
    await vi.waitFor(() => expect(changes.resources).toBeGreaterThan(before.resources), { timeout: 10_000 })
    expect((await client.listPrompts()).prompts).toEqual([])
    expect((await client.listResources()).resources).toEqual([])
    expect((await client.listResourceTemplates()).resourceTemplates).toEqual([])
    // still connected: its catalogue is kept for review
    expect(h.upstreams.listPrompts().length).toBeGreaterThan(0)

    await h.upstreams.setQuarantined('everything', false)
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain('everything__simple-prompt')
    expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toContain(TEXT_TEMPLATE)
  })

  it('refuses prompts/get on a quarantined server and records it as a blocked policy decision', async () => {
    await h.upstreams.setQuarantined('everything', true)
    const err = await rejection(client.getPrompt({ name: 'everything__simple-prompt' }))
    expect(err).toBeInstanceOf(McpError)
    expect(err.code).toBe(-32600)
    expect(err.message).toMatch(/Blocked by mcpproxy \(quarantine\): server 'everything' is quarantined; review and approve it before its prompts can be used/)
    const recordId = (err.data as { record_id: string }).record_id
    expect(err.data).toMatchObject({ gate: 'quarantine', rule: 'quarantine' })
    expect(await h.record(recordId)).toMatchObject({
      type: 'policy_decision',
      status: 'blocked',
      server_name: 'everything',
      client: { name: 'resource-reader' },
      policy: { decision: 'deny', rule: 'quarantine' },
      metadata: { gate: 'quarantine', method: 'prompts/get', prompt: 'simple-prompt' },
    })
    expect(events).toEqual([expect.objectContaining({ id: recordId, server: 'everything', decision: 'blocked', rule: 'quarantine' })])
  })

  it('refuses resources/read of a listed and of a templated URI on a quarantined server, recording each', async () => {
    const listed = h.upstreams.listResources().find((r) => r.server === 'everything')!.resource.uri
    await h.upstreams.setQuarantined('everything', true)
    for (const uri of [listed, 'demo://resource/dynamic/text/3']) {
      const err = await rejection(client.readResource({ uri }))
      expect(err.code).toBe(-32600)
      expect(err.message).toMatch(/Blocked by mcpproxy \(quarantine\): server 'everything' is quarantined; review and approve it before its resources can be read/)
      expect(await h.record((err.data as { record_id: string }).record_id)).toMatchObject({
        type: 'policy_decision',
        status: 'blocked',
        server_name: 'everything',
        policy: { decision: 'deny', rule: 'quarantine' },
        metadata: { gate: 'quarantine', method: 'resources/read', uri },
      })
    }
    expect(events.map((e) => e.rule)).toEqual(['quarantine', 'quarantine'])

    await h.upstreams.setQuarantined('everything', false)
    expect((await client.readResource({ uri: listed })).contents[0]?.uri).toBe(listed)
  })
})
