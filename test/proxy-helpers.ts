// Shared setup for the proxy front-end tests: real server-everything behind the real upstream
// manager, a real SQLite activity log in a temp dir, /mcp on 127.0.0.1.
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { PassThrough } from 'node:stream'
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import type { ActivityRecord } from '../src/shared/activity'
import { createActivityQueries } from '../src/core/activity/query'
import { DEFAULT_ACTIVITY_SETTINGS } from '../src/core/activity/types'
import { createActivityWriter, type ActivityWriter } from '../src/core/activity/writer'
import { writeConfigFile } from '../src/core/config/load'
import { ConfigSchema, type ConfigInput } from '../src/core/config/schema'
import { createConfigStore, type ConfigStore } from '../src/core/config/store'
import { EventBus } from '../src/core/events/bus'
import { silentLogger } from '../src/core/logger'
import { createProxyServices, type ProxyServices } from '../src/core/proxy/mcp-front-end'
import { createUpstreamManager } from '../src/core/proxy/upstream-manager'
import { openDb, type Db } from '../src/core/store/db'

const require = createRequire(import.meta.url)
export const EVERYTHING = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js')

/** A real SQLite activity log in a temp dir, for tests that need only a recorder. */
export function tempStore(): { db: Db; writer: ActivityWriter; records(type: ActivityRecord['type']): Promise<ActivityRecord[]>; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-store-'))
  const db = openDb(join(dir, 'activity.db'))
  const writer = createActivityWriter(db, DEFAULT_ACTIVITY_SETTINGS, silentLogger)
  const queries = createActivityQueries(db)
  return {
    db,
    writer,
    async records(type) {
      await writer.flush()
      return queries.list({ type: [type] }, { limit: 100, offset: 0 }).activities.map((r) => queries.get(r.id)!)
    },
    async close() {
      await writer.close()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface Harness {
  dir: string
  bus: EventBus
  db: Db
  writer: ActivityWriter
  upstreams: ReturnType<typeof createUpstreamManager>
  services: ProxyServices
  config: ConfigStore
  url: string
  http: HttpServer
  /** replaces the config's non-server keys (servers stay) */
  setConfig(patch: ConfigInput): Promise<void>
  /** full records of a type, newest first, once everything queued is on disk */
  records(type: ActivityRecord['type']): Promise<ActivityRecord[]>
  record(id: string): Promise<ActivityRecord | null>
  connectHttp(name?: string): Promise<Client>
  close(): Promise<void>
}

/** A core-like stack on a temp dir: config file, SQLite activity log, the real upstream manager, /mcp on 127.0.0.1. */
export async function startHarness(configInput: ConfigInput = {}, extraServers: Record<string, unknown> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-'))
  const configFile = join(dir, 'mcp_config.json')
  const servers = { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], quarantined: false }, ...extraServers }
  const raw = { ...configInput, mcpServers: servers } as Record<string, unknown>
  writeConfigFile(configFile, raw)
  const bus = new EventBus()
  const config = createConfigStore(configFile, { config: ConfigSchema.parse(raw), raw }, bus, silentLogger)
  const db = openDb(join(dir, 'activity.db'))
  const writer = createActivityWriter(db, DEFAULT_ACTIVITY_SETTINGS, silentLogger)
  const queries = createActivityQueries(db)
  const upstreams = createUpstreamManager({ config, recorder: writer, bus, db, logger: silentLogger })
  await upstreams.start()
  await upstreams.ready(20_000)
  const services = createProxyServices({ upstreams, config: () => config.current(), recorder: writer, bus, logger: silentLogger, db })
  const http = createServer((req, res) => void services.mcp.handleHttp(req, res))
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`
  const clients: Client[] = []
  const settle = async (): Promise<void> => {
    await new Promise((r) => setImmediate(r))
    await writer.flush()
  }
  return {
    dir,
    bus,
    db,
    writer,
    upstreams,
    services,
    config,
    url,
    http,
    async setConfig(patch) {
      await config.replace({ ...patch, mcpServers: config.raw().mcpServers })
    },
    async records(type) {
      await settle()
      const rows = queries.list({ type: [type] }, { limit: 100, offset: 0 }).activities
      return rows.map((r) => queries.get(r.id)!)
    },
    async record(id) {
      await settle()
      return queries.get(id)
    },
    async connectHttp(name = 'test-client') {
      const client = new Client({ name, version: '1.2.3' })
      await client.connect(new StreamableHTTPClientTransport(new URL(url)))
      clients.push(client)
      return client
    },
    async close() {
      for (const c of clients) await c.close().catch(() => undefined)
      await services.mcp.close()
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
      await upstreams.stop()
      config.close()
      await writer.close()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function textOf(result: unknown): string {
  const content = (result as CallToolResult).content ?? []
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('')
}

/** A client transport over a pair of in-process streams (what a spawning client would hold). */
export function streamTransport(toServer: PassThrough, fromServer: PassThrough): Transport {
  const buffer = new ReadBuffer()
  const t: Transport = {
    async start() {
      fromServer.on('data', (chunk: Buffer) => {
        buffer.append(chunk)
        for (let m = buffer.readMessage(); m; m = buffer.readMessage()) t.onmessage?.(m)
      })
    },
    async send(message: JSONRPCMessage) {
      toServer.write(serializeMessage(message))
    },
    async close() {
      toServer.end()
      t.onclose?.()
    },
  }
  return t
}
