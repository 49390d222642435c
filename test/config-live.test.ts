// Edits of mcp_config.json while the core runs: a new API key works at once and the old one no
// longer does; every edit, taken or rejected, is a config_change record.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCore, type Core } from '../src/core/index'
import { openSse, type SseStream } from './helpers/core-harness'
import { records, waitFor, waitForRecord } from './helpers/core-scenario-helpers'

const OLD_KEY = 'old-key-old-key-old-key-1'
const NEW_KEY = 'new-key-new-key-new-key-2'
let dataDir: string
let core: Core
const savedEnvKey = process.env.MCPPROXY_API_KEY

beforeAll(async () => {
  delete process.env.MCPPROXY_API_KEY
  dataDir = mkdtempSync(join(tmpdir(), 'config-live-'))
  writeFileSync(join(dataDir, 'mcp_config.json'), JSON.stringify({ listen: '127.0.0.1:0', api_key: OLD_KEY, mcpServers: {} }))
  core = await createCore({ dataDir, http: true, listen: '127.0.0.1:0', watchConfig: true })
  await core.start()
}, 30_000)

afterAll(async () => {
  await core?.stop()
  rmSync(dataDir, { recursive: true, force: true })
  if (savedEnvKey !== undefined) process.env.MCPPROXY_API_KEY = savedEnvKey
})

const status = (key: string): Promise<number> => fetch(`http://${core.listenAddress}/api/v1/status`, { headers: { 'x-api-key': key } }).then((r) => r.status)
const mcpStatus = (key: string): Promise<number> =>
  fetch(`http://${core.listenAddress}/mcp`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  }).then((r) => r.status)

/** the file's text as the last edit the core took wrote it */
let lastGood = ''

describe('live edits of the config file', () => {
  it('a key changed in the file replaces the old one on REST and /mcp, and the edit is recorded by key name', async () => {
    expect(await status(OLD_KEY)).toBe(200)
    const events = (query: string, headers: Record<string, string> = {}): Promise<SseStream> => openSse(`http://${core.listenAddress}/events${query}`, headers)
    const oldByHeader = await events('', { 'x-api-key': OLD_KEY })
    const oldByQuery = await events(`?apikey=${OLD_KEY}`)
    const ended = (st: SseStream): Promise<void> => new Promise((r) => st.onEnd(r))
    const oldEnded = Promise.all([ended(oldByHeader), ended(oldByQuery)])
    const raw = JSON.parse(readFileSync(core.paths.config, 'utf8')) as Record<string, unknown>
    lastGood = JSON.stringify({ ...raw, api_key: NEW_KEY, call_timeout_ms: 5000 })
    writeFileSync(core.paths.config, lastGood)
    await waitFor(() => core.apiKey === NEW_KEY, 'the new key taken from the file', 10_000)
    expect(await status(NEW_KEY)).toBe(200)
    expect(await status(OLD_KEY)).toBe(401)
    expect(await mcpStatus(OLD_KEY)).toBe(401)
    expect(await mcpStatus(NEW_KEY)).toBe(200)
    // streams opened with the old key end with a `revoked` event, before they see anything after the change
    await oldEnded
    for (const st of [oldByHeader, oldByQuery]) {
      expect(st.messages.map((m) => m.event)).toEqual(['revoked'])
      expect(JSON.parse(st.messages[0]!.data)).toMatchObject({ reason: expect.stringContaining('API key changed') })
    }
    const fresh = await events('', { 'x-api-key': NEW_KEY })
    core.bus.emit('servers.changed', { server: 'x', reason: 'after rotation', timestamp: new Date().toISOString() })
    await fresh.until((m) => m.some((x) => x.event === 'servers.changed'), 'an event on the new key')
    fresh.close()
    const change = await waitForRecord(core, { type: ['config_change'] }, (r) => r.metadata?.action === 'config_reloaded', 'config_reloaded record')
    expect(change).toMatchObject({ status: 'success', metadata: { actor: 'file', changed: ['api_key', 'call_timeout_ms'] } })
    // names only: the key itself is nowhere in the record
    expect(JSON.stringify(change)).not.toContain(NEW_KEY)
  })

  it('a rejected edit is recorded as an error without quoting the file, and the running key stays', async () => {
    writeFileSync(core.paths.config, `{"api_key": sk-live-${'z'.repeat(30)}`)
    const rejected = await waitForRecord(core, { type: ['config_change'], status: ['error'] }, (r) => r.metadata?.action === 'config_rejected', 'config_rejected record')
    expect(rejected.error).toMatch(/not valid JSON/)
    expect(rejected.error).not.toContain('sk-live')
    expect(await status(NEW_KEY)).toBe(200)
    expect((await records(core, { type: ['config_change'] })).filter((r) => r.metadata?.action === 'config_reloaded')).toHaveLength(1)
  })

  it('the file fixed back to the running config after a rejected edit is recorded as restored (nothing reloads)', async () => {
    // (the file is still broken from the test before)
    writeFileSync(core.paths.config, lastGood)
    const restored = await waitForRecord(core, { type: ['config_change'] }, (r) => r.metadata?.action === 'config_restored', 'config_restored record')
    expect(restored).toMatchObject({ status: 'success', metadata: { actor: 'file', reason: expect.stringContaining('loads again') } })
    expect((await records(core, { type: ['config_change'] })).filter((r) => r.metadata?.action === 'config_reloaded')).toHaveLength(1)
    expect(await status(NEW_KEY)).toBe(200)
  })
})
