// End-to-end scenarios of the whole core as a user runs it: createCore() on a temp data dir whose
// mcp_config.json names real npm MCP servers and misbehaving fixtures, an SDK client on /mcp, and
// the activity log read back after each scenario. One core is shared; scenarios that need other
// settings apply them live through the config service, as a user editing settings would.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createActivityStore } from '../src/core/activity/store'
import { createCore, type Core } from '../src/core/index'
import type { ActivityRecord } from '../src/shared/activity'
import {
  alive,
  callTool,
  childPids,
  connectClient,
  EVERYTHING,
  FILESYSTEM,
  fixture,
  MEMORY,
  nodeServer,
  patchConfig,
  readConfigFile,
  records,
  textOf,
  waitFor,
  waitForRecord,
  type McpSession,
} from './helpers/core-scenario-helpers'

const GITHUB_TOKEN = `ghp_${'A1b2C3d4E5'.repeat(3)}f6G7h8`

let dataDir: string
let filesDir: string
let core: Core
let main: McpSession
const extraSessions: McpSession[] = []
let restarted: Core | undefined

const initialServers = (): Record<string, unknown> => ({
  everything: nodeServer(EVERYTHING, ['stdio'], { quarantined: false }),
  memory: nodeServer(MEMORY, [], { quarantined: false, env: { MEMORY_FILE_PATH: join(dataDir, 'memory.jsonl') } }),
  filesystem: nodeServer(FILESYSTEM, [filesDir], { quarantined: false }),
  // no `quarantined` key: a new server the user has not reviewed yet
  newcomer: nodeServer(MEMORY, [], { env: { MEMORY_FILE_PATH: join(dataDir, 'newcomer.jsonl') } }),
  crash: nodeServer(fixture('crash-server'), [], { quarantined: false }),
  hang: nodeServer(fixture('hang-server'), [], { quarantined: false }),
  garbage: nodeServer(fixture('garbage-server'), [], { quarantined: false }),
  rugpull: nodeServer(fixture('rugpull-server'), [], { quarantined: false }),
  poisoned: nodeServer(fixture('poisoned-server'), [], { quarantined: false }),
})

const DEFAULT_CALL_TIMEOUT_MS = 20_000

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'core-scenarios-'))
  filesDir = join(dataDir, 'files')
  mkdirSync(filesDir)
  writeFileSync(join(filesDir, 'notes.txt'), 'hello from the filesystem server\n')
  writeFileSync(
    join(dataDir, 'mcp_config.json'),
    JSON.stringify({
      listen: '127.0.0.1:0',
      call_timeout_ms: DEFAULT_CALL_TIMEOUT_MS,
      approval_timeout_s: 30,
      mcpServers: initialServers(),
      policy: {
        rules: [
          { server: 'everything', tool: 'get-env', action: 'deny', reason: 'the environment holds secrets' },
          { server: 'everything', tool: 'get-sum', action: 'ask', reason: 'sums need a human' },
        ],
      },
    }),
  )
  core = await createCore({ dataDir, http: true, listen: '127.0.0.1:0', watchConfig: true })
  await core.start()
  const expected = ['everything', 'memory', 'filesystem', 'newcomer', 'crash', 'hang', 'garbage', 'rugpull', 'poisoned']
  await waitFor(
    () => expected.every((n) => core.upstreams.get(n)?.connected),
    `all upstreams connected (${core.upstreams
      .list()
      .map((s) => `${s.name}:${s.state}`)
      .join(', ')})`,
    45_000,
  )
  main = await connectClient(core)
}, 90_000)

afterAll(async () => {
  for (const s of [main, ...extraSessions]) await s?.close()
  await core?.stop()
  await restarted?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}, 30_000)

const one = (list: ActivityRecord[], what: string): ActivityRecord => {
  expect(list.length, what).toBeGreaterThan(0)
  return list[0]!
}

describe('core scenarios', () => {
  it('1. retrieve_tools finds echo; call_tool echo answers and the tool_call record holds the call', async () => {
    const found = await main.client.callTool({ name: 'retrieve_tools', arguments: { query: 'echo message back', limit: 20 } }, undefined, { timeout: 10_000 })
    const tools = (JSON.parse(textOf(found)) as { tools: Array<{ server: string; tool: string; inputSchema: unknown }> }).tools
    const echo = tools.find((t) => t.server === 'everything' && t.tool === 'echo')
    expect(echo, JSON.stringify(tools.map((t) => `${t.server}:${t.tool}`))).toBeDefined()
    expect(echo!.inputSchema).toMatchObject({ type: 'object' })
    // quarantined servers stay out of search results
    expect(tools.some((t) => t.server === 'newcomer' || t.server === 'poisoned')).toBe(false)

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const result = await callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: 'hi' } }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` })
    expect(result.isError).toBeFalsy()
    expect(textOf(result)).toBe('Echo: hi')

    const rec = one(await records(core, { type: ['tool_call'], server: 'everything', tool: 'echo', status: ['success'] }), 'echo tool_call')
    expect(rec.status).toBe('success')
    expect(rec.duration_ms).toBeGreaterThan(0)
    expect(rec.request_bytes).toBe(Buffer.byteLength(JSON.stringify({ message: 'hi' })))
    expect(rec.response_bytes).toBeGreaterThan(0)
    expect(rec.request_tokens).toBeGreaterThan(0)
    expect(rec.response_tokens).toBeGreaterThan(0)
    expect(rec.arguments).toEqual({ message: 'hi' })
    expect(JSON.stringify(rec.response)).toContain('Echo: hi')
    expect(rec.session_id).toBe(main.transport.sessionId)
    expect(rec.client).toMatchObject({ name: 'scenario-client', version: '4.5.6' })
    expect(rec.trace_id).toBe(traceId)
    expect(rec.span_id).toMatch(/^[0-9a-f]{16}$/)
    expect(rec.span_id).not.toBe('00f067aa0ba902b7')

    // without a traceparent the proxy starts its own trace
    await callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: 'no trace' } })
    const own = (await records(core, { type: ['tool_call'], tool: 'echo', q: 'no trace' }))[0]
    expect(own?.trace_id).toMatch(/^[0-9a-f]{32}$/)
    expect(own?.trace_id).not.toBe(traceId)

    // the session is known with its client
    const session = core.sessions.get(main.transport.sessionId!)
    expect(session?.client).toMatchObject({ name: 'scenario-client', version: '4.5.6' })
  })

  it('2. tool_exposure direct lists and calls <server>__<tool>, across the real npm servers', async () => {
    await patchConfig(core, { tool_exposure: 'direct' })
    try {
      const { tools } = await main.client.listTools(undefined, { timeout: 10_000 })
      const names = tools.map((t) => t.name)
      expect(names).toContain('everything__echo')
      expect(names).toContain('memory__read_graph')
      expect(names).toContain('filesystem__read_text_file')
      expect(names.some((n) => n.startsWith('newcomer__') || n.startsWith('poisoned__'))).toBe(false)
      expect(names).not.toContain('call_tool')

      const echo = await main.client.callTool({ name: 'everything__echo', arguments: { message: 'direct' } }, undefined, { timeout: 10_000 })
      expect(textOf(echo)).toBe('Echo: direct')
      const file = await main.client.callTool(
        { name: 'filesystem__read_text_file', arguments: { path: join(filesDir, 'notes.txt') } },
        undefined,
        { timeout: 10_000 },
      )
      expect(file.isError).toBeFalsy()
      expect(textOf(file)).toContain('hello from the filesystem server')
      const unknown = await main.client.callTool({ name: 'everything__nope', arguments: {} }, undefined, { timeout: 10_000 })
      expect(unknown.isError).toBe(true)
      expect(textOf(unknown)).toContain("unknown tool 'everything__nope'")

      const rec = one(await records(core, { type: ['tool_call'], server: 'filesystem', tool: 'read_text_file' }), 'filesystem record')
      expect(rec.status).toBe('success')
      expect(rec.entities).toContain(join(filesDir, 'notes.txt'))
    } finally {
      await patchConfig(core, { tool_exposure: 'retrieve_tools' })
    }
  })

  it('2b. prompts and resources of the upstreams are proxied', async () => {
    const { prompts } = await main.client.listPrompts(undefined, { timeout: 10_000 })
    expect(prompts.map((p) => p.name)).toContain('everything__simple-prompt')
    const prompt = await main.client.getPrompt({ name: 'everything__simple-prompt' }, { timeout: 10_000 })
    expect(prompt.messages.length).toBeGreaterThan(0)
    await expect(main.client.getPrompt({ name: 'everything__no-such-prompt' }, { timeout: 10_000 })).rejects.toThrow(/unknown prompt/)

    const { resources } = await main.client.listResources(undefined, { timeout: 10_000 })
    expect(resources.length).toBeGreaterThan(0)
    const read = await main.client.readResource({ uri: resources[0]!.uri }, { timeout: 10_000 })
    expect(read.contents[0]?.uri).toBe(resources[0]!.uri)
  })

  it('3. a server added without `quarantined` is blocked until approved', async () => {
    const info = core.upstreams.get('newcomer')!
    expect(info.quarantined).toBe(true)
    expect(info.health.admin_state).toBe('quarantined')

    const blocked = await callTool(main.client, { server: 'newcomer', tool: 'read_graph', arguments: {} })
    expect(blocked.isError).toBe(true)
    expect(textOf(blocked)).toMatch(/quarantined/)
    const decision = one(await records(core, { type: ['policy_decision'], server: 'newcomer' }), 'quarantine policy_decision')
    expect(decision.status).toBe('blocked')
    expect(decision.policy?.reason).toMatch(/quarantined/)
    const call = one(await records(core, { type: ['tool_call'], server: 'newcomer' }), 'blocked tool_call')
    expect(call.status).toBe('blocked')

    let listChanged = 0
    main.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged++
    })
    await core.upstreams.setQuarantined('newcomer', false)
    expect(core.upstreams.get('newcomer')?.quarantined).toBe(false)
    // connected clients hear that the set of callable tools changed
    await waitFor(() => listChanged > 0, 'notifications/tools/list_changed after approval', 5_000)
    const passed = await callTool(main.client, { server: 'newcomer', tool: 'read_graph', arguments: {} })
    expect(passed.isError, textOf(passed)).toBeFalsy()
    expect(JSON.parse(textOf(passed))).toMatchObject({ entities: [], relations: [] })
    const change = one(await records(core, { type: ['quarantine_change'], server: 'newcomer' }), 'quarantine_change')
    expect(change.metadata).toMatchObject({ quarantined: false })
    // the approval is kept in the user's config file
    expect((readConfigFile(core).mcpServers as Record<string, { quarantined?: boolean }>).newcomer?.quarantined).toBe(false)
  })

  it('4. crash-server dies mid-call: a quick error naming the exit, an error record, then a reconnect', async () => {
    const result = await callTool(main.client, { server: 'crash', tool: 'crash', arguments: {} })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/crash exited during the call/)
    expect(textOf(result)).toContain('simulated crash in the middle of a call')

    const rec = await waitForRecord(core, { type: ['tool_call'], server: 'crash', tool: 'crash' }, (r) => r.status !== 'pending', 'crash record completed')
    expect(rec.status).toBe('error')
    expect(rec.error).toBe(textOf(result))
    expect(rec.duration_ms).toBeLessThan(DEFAULT_CALL_TIMEOUT_MS)
    expect(core.upstreams.logs('crash').join('\n')).toContain('simulated crash in the middle of a call')

    // while it waits to reconnect (backoff), calls fail at once with the state, never wait
    const down = core.upstreams.get('crash')!
    expect(down.connected).toBe(false)
    expect(down.health.level).not.toBe('healthy')
    expect(down.last_error).toMatch(/exited/)
    const during = await callTool(main.client, { server: 'crash', tool: 'echo', arguments: { message: 'too soon' } })
    expect(during.isError).toBe(true)
    expect(textOf(during)).toMatch(/crash is not connected/)

    await waitFor(() => core.upstreams.get('crash')?.connected, 'crash-server reconnected', 20_000)
    const again = await callTool(main.client, { server: 'crash', tool: 'echo', arguments: { message: 'back' } })
    expect(textOf(again)).toBe('Echo: back')
    const serverChanges = await records(core, { type: ['server_change'], server: 'crash' })
    expect(serverChanges.length).toBeGreaterThan(0)
  })

  describe('with a short call_timeout_ms', () => {
    beforeAll(() => patchConfig(core, { call_timeout_ms: 1500 }))
    afterAll(() => patchConfig(core, { call_timeout_ms: DEFAULT_CALL_TIMEOUT_MS }))

    it('5. hang-server: the call times out with a clear error and a timeout record; other calls keep working', async () => {
      const result = await callTool(main.client, { server: 'hang', tool: 'hang', arguments: {} })
      expect(result.isError).toBe(true)
      expect(textOf(result)).toMatch(/within 1500 ms/)

      const rec = await waitForRecord(core, { type: ['tool_call'], server: 'hang', tool: 'hang' }, (r) => r.status !== 'pending', 'hang record completed')
      expect(rec.status).toBe('timeout')
      expect(rec.error).toMatch(/1500 ms/)
      expect(rec.duration_ms).toBeGreaterThanOrEqual(1400)

      const [same, other] = await Promise.all([
        callTool(main.client, { server: 'hang', tool: 'echo', arguments: { message: 'still here' } }),
        callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: 'others too' } }),
      ])
      expect(textOf(same)).toBe('Echo: still here')
      expect(textOf(other)).toBe('Echo: others too')
    })

    it('6. garbage-server: noise on stdout is skipped, echo answers; a garbage-only answer times out', async () => {
      const echo = await callTool(main.client, { server: 'garbage', tool: 'echo', arguments: { message: 'through the noise' } })
      expect(echo.isError).toBeFalsy()
      expect(textOf(echo)).toBe('Echo: through the noise')

      const garbage = await callTool(main.client, { server: 'garbage', tool: 'garbage', arguments: {} })
      expect(garbage.isError).toBe(true)
      expect(textOf(garbage)).toMatch(/within 1500 ms/)
      const rec = await waitForRecord(core, { type: ['tool_call'], server: 'garbage', tool: 'garbage' }, (r) => r.status !== 'pending', 'garbage record')
      expect(rec.status).toBe('timeout')
      // the server stays connected and usable
      expect(core.upstreams.get('garbage')?.connected).toBe(true)
      expect(textOf(await callTool(main.client, { server: 'garbage', tool: 'echo', arguments: { message: 'again' } }))).toBe('Echo: again')
    })
  })

  it('7. rugpull-server: a changed description blocks the tool, a tool_change keeps the diff, approveTools releases it', async () => {
    const first = await callTool(main.client, { server: 'rugpull', tool: 'get_weather', arguments: { city: 'Oslo' } })
    expect(textOf(first)).toBe('Sunny in Oslo')

    await waitFor(() => core.upstreams.get('rugpull')?.changed_tools.includes('get_weather'), 'get_weather marked changed', 10_000)
    const blocked = await callTool(main.client, { server: 'rugpull', tool: 'get_weather', arguments: { city: 'Oslo' } })
    expect(blocked.isError).toBe(true)
    expect(textOf(blocked)).toMatch(/get_weather/)
    expect(textOf(blocked)).toMatch(/changed/)
    const decision = one(await records(core, { type: ['policy_decision'], server: 'rugpull', tool: 'get_weather' }), 'rug pull policy_decision')
    expect(decision.status).toBe('blocked')
    expect(decision.policy?.reason).toMatch(/get_weather/)

    const change = one(
      (await records(core, { type: ['tool_change'], server: 'rugpull', tool: 'get_weather' })).filter((r) => r.metadata?.action === 'changed'),
      'tool_change changed',
    )
    expect(change.flags).toContain('rug_pull')
    const meta = change.metadata as { old_definition: { description: string }; new_definition: { description: string }; old_hash: string; new_hash: string }
    expect(meta.old_definition.description).toBe('Gets the weather for a city.')
    expect(meta.new_definition.description).toBe('Gets the weather for a city, with an optional context.')
    expect(meta.old_hash).not.toBe(meta.new_hash)

    // an untouched tool of the same server keeps working
    expect(textOf(await callTool(main.client, { server: 'rugpull', tool: 'ping', arguments: {} }))).toBe('pong')

    // the model is still shown the approved text, never the changed one before a person approves it
    const shown = async (): Promise<string | undefined> => {
      const found = await main.client.callTool({ name: 'retrieve_tools', arguments: { query: 'weather city', limit: 50 } })
      const tools = (JSON.parse(textOf(found)) as { tools: Array<{ name: string; description?: string }> }).tools
      return tools.find((t) => t.name === 'rugpull:get_weather')?.description
    }
    expect(await shown()).toBe('Gets the weather for a city.')
    // the people who review it see the tool as it is now, with the change
    const { data: review } = (await (await fetch(`http://${core.listenAddress}/api/v1/servers/rugpull/tools`, { headers: { 'x-api-key': core.apiKey } })).json()) as {
      data: { tools: Array<{ tool: string; description?: string; pin_state: string }>; changes: Array<{ tool: string }> }
    }
    expect(review.tools.find((t) => t.tool === 'get_weather')).toMatchObject({ description: 'Gets the weather for a city, with an optional context.', pin_state: 'changed' })
    expect(review.changes.map((c) => c.tool)).toContain('get_weather')
    await patchConfig(core, { tool_exposure: 'direct' })
    try {
      const { tools } = await main.client.listTools(undefined, { timeout: 10_000 })
      expect(tools.find((t) => t.name === 'rugpull__get_weather')?.description).toBe('Gets the weather for a city.')
    } finally {
      await patchConfig(core, { tool_exposure: 'retrieve_tools' })
    }

    expect(await core.upstreams.approveTools('rugpull', ['get_weather'])).toContain('get_weather')
    expect(await shown()).toBe('Gets the weather for a city, with an optional context.')
    const again = await callTool(main.client, { server: 'rugpull', tool: 'get_weather', arguments: { city: 'Bergen' } })
    expect(again.isError, textOf(again)).toBeFalsy()
    expect(textOf(again)).toBe('Sunny in Bergen')
  })

  it('8. poisoned-server is quarantined with findings and its calls are blocked', async () => {
    const info = core.upstreams.get('poisoned')!
    expect(info.quarantined).toBe(true)
    expect(info.findings.length).toBeGreaterThan(0)
    expect(info.findings.every((f) => f.tool === 'add')).toBe(true)
    const kinds = new Set(info.findings.map((f) => f.kind))
    expect(kinds.size).toBeGreaterThan(1)

    const blocked = await callTool(main.client, { server: 'poisoned', tool: 'add', arguments: { a: 1, b: 2 } })
    expect(blocked.isError).toBe(true)
    expect(textOf(blocked)).toMatch(/quarantined/)
    const echo = await callTool(main.client, { server: 'poisoned', tool: 'echo', arguments: { message: 'x' } })
    expect(echo.isError).toBe(true)

    const q = one(await records(core, { type: ['quarantine_change'], server: 'poisoned' }), 'poisoning quarantine_change')
    expect(q.flags).toContain('tool_poisoning')
    expect(q.metadata).toMatchObject({ quarantined: true })
    expect((await records(core, { type: ['policy_decision'], server: 'poisoned' })).length).toBe(2)
  })

  it('9. policy rules: deny blocks with the reason; ask waits for approve or deny; no answer denies; all recorded', async () => {
    const denied = await callTool(main.client, { server: 'everything', tool: 'get-env', arguments: {} })
    expect(denied.isError).toBe(true)
    expect(textOf(denied)).toContain('the environment holds secrets')
    const denyRec = one(await records(core, { type: ['policy_decision'], server: 'everything', tool: 'get-env' }), 'deny record')
    expect(denyRec.status).toBe('blocked')
    expect(denyRec.policy).toMatchObject({ decision: 'deny', reason: 'the environment holds secrets' })

    const pendingFor = async (a: number): Promise<string> =>
      (await waitFor(() => core.approvals.list().find((p) => (p.arguments as { a?: number }).a === a), `pending approval a=${a}`, 10_000)).id

    // ask → approve
    const approvedCall = callTool(main.client, { server: 'everything', tool: 'get-sum', arguments: { a: 2, b: 3 } })
    const approveId = await pendingFor(2)
    core.approvals.decide(approveId, 'approve', 'tester')
    const approved = await approvedCall
    expect(approved.isError, textOf(approved)).toBeFalsy()
    expect(textOf(approved)).toContain('5')

    // ask → deny
    const deniedCall = callTool(main.client, { server: 'everything', tool: 'get-sum', arguments: { a: 7, b: 1 } })
    const denyId = await pendingFor(7)
    core.approvals.decide(denyId, 'deny', 'tester')
    const personDenied = await deniedCall
    expect(personDenied.isError).toBe(true)
    expect(textOf(personDenied)).toMatch(/denied/)
    expect(() => core.approvals.decide(denyId, 'approve')).toThrow(/no pending approval/)

    // ask with nobody answering
    await patchConfig(core, { approval_timeout_s: 1 })
    try {
      const timedOut = await callTool(main.client, { server: 'everything', tool: 'get-sum', arguments: { a: 9, b: 9 } })
      expect(timedOut.isError).toBe(true)
      expect(textOf(timedOut)).toMatch(/no approval within 1s/)
      expect(core.approvals.list()).toHaveLength(0)
    } finally {
      await patchConfig(core, { approval_timeout_s: 30 })
    }

    const decisions = await records(core, { type: ['policy_decision'], server: 'everything', tool: 'get-sum' })
    const byId = new Map(decisions.map((d) => [d.id, d]))
    expect(byId.get(approveId)).toMatchObject({ status: 'success', policy: { decision: 'approved' } })
    expect(byId.get(denyId)).toMatchObject({ status: 'blocked', policy: { decision: 'denied' } })
    expect(decisions.some((d) => d.status === 'blocked' && d.policy?.decision === 'timeout')).toBe(true)
    const calls = await records(core, { type: ['tool_call'], server: 'everything', tool: 'get-sum' })
    expect(calls.map((c) => c.status).sort()).toEqual(['blocked', 'blocked', 'success'])
  })

  it('10. intent_declaration.required: no intent is blocked, a read intent on a destructive tool is blocked', async () => {
    await patchConfig(core, { intent_declaration: { required: true } })
    try {
      const noIntent = await callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: 'x' } })
      expect(noIntent.isError).toBe(true)
      expect(textOf(noIntent)).toMatch(/intent/)

      const withIntent = await callTool(main.client, {
        server: 'everything',
        tool: 'echo',
        arguments: { message: 'declared' },
        intent: { operation_type: 'read', data_sensitivity: 'public', reason: 'testing' },
      })
      expect(textOf(withIntent)).toBe('Echo: declared')

      // server-memory's delete_entities is annotated destructiveHint: true
      const contradiction = await callTool(main.client, {
        server: 'memory',
        tool: 'delete_entities',
        arguments: { entityNames: ['nobody'] },
        intent: { operation_type: 'read', reason: 'just looking' },
      })
      expect(contradiction.isError).toBe(true)
      expect(textOf(contradiction)).toMatch(/destructive/)

      const intentBlocks = await records(core, { type: ['policy_decision'], status: ['blocked'] })
      const memBlock = intentBlocks.find((r) => r.server_name === 'memory' && r.tool_name === 'delete_entities')
      expect(memBlock?.intent).toMatchObject({ operation_type: 'read' })
      expect(memBlock?.metadata).toMatchObject({ gate: 'intent' })
      expect(intentBlocks.some((r) => r.server_name === 'everything' && r.tool_name === 'echo' && r.metadata?.gate === 'intent')).toBe(true)
      const okRec = one(await records(core, { type: ['tool_call'], tool: 'echo', intent_type: 'read' }), 'intent on record')
      expect(okRec.intent).toMatchObject({ operation_type: 'read', reason: 'testing' })
    } finally {
      await patchConfig(core, { intent_declaration: { required: false } })
    }
  })

  it('11. a secret in arguments is masked on disk and named in detection_types; the chain verifies', async () => {
    const result = await callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: `token ${GITHUB_TOKEN}` } })
    expect(textOf(result)).toBe(`Echo: token ${GITHUB_TOKEN}`)
    const rec = one(await records(core, { type: ['tool_call'], tool: 'echo', sensitive: true }), 'sensitive record')
    expect(rec.detection_types).toContain('github_token')
    expect(JSON.stringify(rec)).not.toContain(GITHUB_TOKEN)
    expect(JSON.stringify(rec.arguments)).toContain('token ')
    const verify = await core.activity.verify()
    expect(verify.ok, JSON.stringify(verify)).toBe(true)
  })

  it('12. two clients calling at once never get each other\'s answers; 1 MiB round trips', async () => {
    const a = await connectClient(core, 'client-a', '1.0.0')
    const b = await connectClient(core, 'client-b', '2.0.0')
    extraSessions.push(a, b)
    const run = (s: McpSession, tag: string): Promise<string[]> =>
      Promise.all(Array.from({ length: 50 }, (_, i) => callTool(s.client, { server: 'everything', tool: 'echo', arguments: { message: `${tag}-${i}` } }, undefined, 60_000).then(textOf)))
    const [fromA, fromB] = await Promise.all([run(a, 'A'), run(b, 'B')])
    expect(fromA).toEqual(Array.from({ length: 50 }, (_, i) => `Echo: A-${i}`))
    expect(fromB).toEqual(Array.from({ length: 50 }, (_, i) => `Echo: B-${i}`))

    const recA = await records(core, { type: ['tool_call'], session_id: a.transport.sessionId! })
    expect(recA).toHaveLength(50)
    expect(recA.every((r) => r.client?.name === 'client-a' && (r.arguments as { message: string }).message.startsWith('A-'))).toBe(true)

    expect(core.sessions.get(b.transport.sessionId!)).toMatchObject({ transport: 'http', active: true, call_count: 50, client: { name: 'client-b', version: '2.0.0' } })

    const big = 'x'.repeat(1024 * 1024)
    const echoed = await callTool(a.client, { server: 'everything', tool: 'echo', arguments: { message: big } }, undefined, 60_000)
    expect(echoed.isError).toBeFalsy()
    expect(textOf(echoed)).toBe(`Echo: ${big}`)
    const bigRec = await waitForRecord(core, { type: ['tool_call'], session_id: a.transport.sessionId! }, (r) => (r.request_bytes ?? 0) > 1024 * 1024, '1 MiB record')
    expect(bigRec.status).toBe('success')
    expect(bigRec.response_bytes).toBeGreaterThan(1024 * 1024)
    expect(bigRec.response_truncated).toBe(true)

    const bId = b.transport.sessionId!
    await b.transport.terminateSession()
    await b.close()
    const ended = await waitFor(() => (core.sessions.get(bId)?.active === false ? core.sessions.get(bId) : undefined), 'session b ended', 5_000)
    expect(ended.ended_at).toBeDefined()
    expect(ended.call_count).toBe(50)
  })

  it('13. bad HTTP input: parse error 400 and the core keeps serving; no key 401; foreign Origin 403', async () => {
    const url = `http://${core.listenAddress}/mcp`
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': core.apiKey }
    const bad = await fetch(url, { method: 'POST', headers, body: '{"jsonrpc":"2.0","id":1,"method":' })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as { jsonrpc: string; error: { code: number; message: string } }
    expect(body.jsonrpc).toBe('2.0')
    expect(body.error.code).toBe(-32700)
    // JSON that is no request (a string, a number) is an invalid request, not a parse error
    for (const notRequest of ['"abc"', '123']) {
      const r = await fetch(url, { method: 'POST', headers, body: notRequest })
      expect(r.status).toBe(400)
      expect(((await r.json()) as { error: { code: number } }).error.code).toBe(-32600)
    }

    const noKey = await fetch(url, { method: 'POST', headers: { ...headers, 'x-api-key': '' }, body: '{}' })
    expect(noKey.status).toBe(401)
    const wrongKey = await fetch(url, { method: 'POST', headers: { ...headers, 'x-api-key': 'wrong-key-wrong-key' }, body: '{}' })
    expect(wrongKey.status).toBe(401)
    const origin = await fetch(url, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body: '{}' })
    expect(origin.status).toBe(403)

    expect(textOf(await callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: 'still serving' } }))).toBe('Echo: still serving')
  })

  it('14. live config edits: a new server appears quarantined; an invalid edit is reported and the running config stays', async () => {
    const reloads: Array<{ ok: boolean; error?: string }> = []
    const off = core.bus.on('config.reloaded', (e) => reloads.push(e as { ok: boolean; error?: string }))
    try {
      const raw = readConfigFile(core)
      const servers = { ...(raw.mcpServers as Record<string, unknown>), latecomer: nodeServer(EVERYTHING, ['stdio']) }
      writeFileSync(core.paths.config, JSON.stringify({ ...raw, mcpServers: servers }, null, 2))
      await waitFor(() => core.upstreams.get('latecomer'), 'latecomer added from the file', 10_000)
      expect(core.upstreams.get('latecomer')!.quarantined).toBe(true)
      await waitFor(() => core.upstreams.get('latecomer')?.connected, 'latecomer connected', 15_000)
      expect(reloads.some((r) => r.ok)).toBe(true)
      const changes = await records(core, { type: ['server_change'], server: 'latecomer' })
      const added = one(changes.filter((r) => r.metadata?.action === 'added'), 'latecomer added server_change')
      expect(added.metadata).toMatchObject({ quarantined: true })
      expect(changes.some((r) => r.metadata?.action === 'connected')).toBe(true)

      const before = core.config.current()
      const rejectedEdits = (): Array<{ ok: boolean; error?: string }> => reloads.filter((r) => !r.ok)
      writeFileSync(core.paths.config, JSON.stringify({ ...raw, mcpServers: servers, call_timeout_ms: 'soon' }))
      const [badValue] = await waitFor(() => (rejectedEdits().length >= 1 ? rejectedEdits() : undefined), 'config.reloaded ok=false (bad value)', 10_000)
      expect(badValue!.error).toMatch(/call_timeout_ms/)
      expect(core.config.current()).toEqual(before)

      writeFileSync(core.paths.config, '{"mcpServers": {')
      const [, badJson] = await waitFor(() => (rejectedEdits().length >= 2 ? rejectedEdits() : undefined), 'config.reloaded ok=false (bad JSON)', 10_000)
      expect(badJson!.error).toBeTruthy()
      expect(core.config.current()).toEqual(before)
      // the user's broken file is reported, never overwritten
      expect(readFileSync(core.paths.config, 'utf8')).toBe('{"mcpServers": {')
      expect(core.upstreams.get('latecomer')).toBeDefined()
      expect(textOf(await callTool(main.client, { server: 'everything', tool: 'echo', arguments: { message: 'unharmed' } }))).toBe('Echo: unharmed')
    } finally {
      off()
    }
  })

  it('15. stop() ends every upstream process and flushes system_stop to the database', async () => {
    const pidOf = (name: string): number => {
      const line = core.upstreams.logs(name, 500).reverse().find((l) => /started pid \d+/.test(l))
      expect(line, `${name} logged its pid`).toBeDefined()
      return Number(/started pid (\d+)/.exec(line!)![1])
    }
    const pids = [pidOf('hang'), pidOf('crash')]
    expect(pids.every(alive)).toBe(true)
    const children = childPids()
    // nine configured servers and the one added by scenario 14
    expect(children.length).toBeGreaterThanOrEqual(10)
    expect(children).toEqual(expect.arrayContaining(pids))

    // a call still waiting for a person when the core stops is denied, not left hanging
    const waiting = callTool(main.client, { server: 'everything', tool: 'get-sum', arguments: { a: 40, b: 2 } }).then(
      (r) => ({ error: textOf(r) }),
      (err: Error) => ({ error: err.message }),
    )
    const approvalId = (await waitFor(() => core.approvals.list()[0], 'approval pending at shutdown', 10_000)).id

    await core.stop()
    expect(pids.filter(alive)).toEqual([])
    expect(children.filter(alive)).toEqual([])
    expect((await waiting).error).toBeTruthy()
    for (const s of [main, ...extraSessions]) await s.close()
    extraSessions.length = 0

    const reopened = createActivityStore({ file: core.paths.db })
    try {
      const stops = reopened.list({ type: ['system_stop'] }, { limit: 5, offset: 0 })
      expect(stops.total).toBe(1)
      expect(reopened.list({ type: ['tool_call', 'policy_decision'], status: ['pending'] }, { limit: 5, offset: 0 }).total).toBe(0)
      expect(reopened.get(approvalId)).toMatchObject({ status: 'blocked', policy: { decision: 'denied' } })
      expect((await reopened.verify()).ok).toBe(true)
    } finally {
      await reopened.close()
    }
  })

  it('16. a restart on the same data dir: a broken config is refused untouched; pins, approvals and the chain carry over', async () => {
    const broken = readFileSync(core.paths.config, 'utf8')
    await expect(createCore({ dataDir, http: true, listen: '127.0.0.1:0', watchConfig: false })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    expect(readFileSync(core.paths.config, 'utf8')).toBe(broken)

    writeFileSync(
      core.paths.config,
      JSON.stringify({
        listen: '127.0.0.1:0',
        api_key: core.apiKey,
        mcpServers: {
          everything: nodeServer(EVERYTHING, ['stdio'], { quarantined: false }),
          rugpull: nodeServer(fixture('rugpull-server'), [], { quarantined: false }),
        },
      }),
    )
    restarted = await createCore({ dataDir, http: true, listen: '127.0.0.1:0', watchConfig: false })
    await restarted.start()
    await waitFor(() => restarted!.upstreams.get('everything')?.connected && restarted!.upstreams.get('rugpull')?.connected, 'upstreams after restart', 30_000)
    const session = await connectClient(restarted, 'after-restart', '1.0.0')
    extraSessions.push(session)

    expect(textOf(await callTool(session.client, { server: 'everything', tool: 'echo', arguments: { message: 'again' } }))).toBe('Echo: again')
    // the approved pin of get_weather is the changed definition; a fresh rugpull-server shows the
    // original one, which differs from what the user approved, so it stays blocked
    await waitFor(() => restarted!.upstreams.get('rugpull')?.changed_tools.includes('get_weather'), 'pin compared after restart', 10_000)
    const blocked = await callTool(session.client, { server: 'rugpull', tool: 'get_weather', arguments: { city: 'Oslo' } })
    expect(blocked.isError).toBe(true)
    expect(textOf(blocked)).toMatch(/get_weather/)
    expect(textOf(await callTool(session.client, { server: 'rugpull', tool: 'ping', arguments: {} }))).toBe('pong')

    await restarted.activity.flush()
    expect(restarted.activity.list({ type: ['system_start'] }, { limit: 5, offset: 0 }).total).toBe(2)
    expect(restarted.activity.list({ type: ['system_stop'] }, { limit: 5, offset: 0 }).total).toBe(1)
    expect((await restarted.activity.verify()).ok).toBe(true)
  })
})
