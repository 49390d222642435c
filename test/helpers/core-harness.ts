/**
 * Builds a Core for the HTTP tests from the real parts that exist (config store and service,
 * sessions, approvals, tool search, the SQLite activity store) and small fakes for
 * the upstream manager and the MCP front end. When createCore() lands, `createTestCore` can
 * become a call to it; the tests only use the Core contract.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { get as httpGet, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import type { AddServerInput, ServerInfo, StatusInfo } from '../../src/shared/servers'
import { createActivityStore } from '../../src/core/activity/store'
import { loadConfig, dataDirPaths, writeConfigFile } from '../../src/core/config/load'
import { createConfigService } from '../../src/core/config/service'
import { createConfigStore } from '../../src/core/config/store'
import type { Core } from '../../src/core/core-types'
import { CoreError } from '../../src/core/errors'
import { EventBus } from '../../src/core/events/bus'
import { silentLogger } from '../../src/core/logger'
import { createApprovalRegistry } from '../../src/core/proxy/approvals'
import { createSessionRegistry } from '../../src/core/proxy/sessions'
import { createToolSearch } from '../../src/core/proxy/tool-search'
import type { McpFrontEnd, UpstreamManager, UpstreamTool } from '../../src/core/proxy/types'
import { createHttpServer, type HttpServerHandle, type HttpServerOptions } from '../../src/core/http/server'

export const TEST_API_KEY = 'test-key-0123456789abcdef'

interface FakeServer {
  info: ServerInfo
  tools: UpstreamTool[]
}

function serverInfo(name: string, p: Partial<ServerInfo> = {}): ServerInfo {
  const enabled = p.enabled ?? true
  const quarantined = p.quarantined ?? false
  return {
    name,
    protocol: 'stdio',
    enabled,
    connected: enabled && !quarantined,
    quarantined,
    state: enabled && !quarantined ? 'ready' : 'stopped',
    tool_count: 0,
    changed_tools: [],
    rejected_tools: [],
    findings: [],
    health: {
      level: enabled && !quarantined ? 'healthy' : 'degraded',
      admin_state: quarantined ? 'quarantined' : enabled ? 'enabled' : 'disabled',
      summary: quarantined ? 'Quarantined' : enabled ? 'Connected' : 'Disabled',
      action: quarantined ? 'approve' : enabled ? '' : 'enable',
    },
    ...p,
  }
}

/** An in-memory upstream manager: the same contract, no processes. */
export function createFakeUpstreams(bus: EventBus): UpstreamManager & { servers: Map<string, FakeServer> } {
  const servers = new Map<string, FakeServer>()
  const tool = (server: string, name: string, description: string): UpstreamTool => ({
    server,
    tool: { name, description, inputSchema: { type: 'object', properties: {} } } as Tool,
    hash: `h-${name}`,
    pinState: 'approved',
  })
  servers.set('everything', { info: serverInfo('everything', { tool_count: 2 }), tools: [tool('everything', 'echo', 'Echoes back the input'), tool('everything', 'get-sum', 'Adds two numbers')] })
  servers.set('files', { info: serverInfo('files', { enabled: false, tool_count: 1 }), tools: [tool('files', 'read_file', 'Read a file from disk')] })
  const need = (name: string): FakeServer => {
    const s = servers.get(name)
    if (!s) throw new CoreError('NOT_FOUND', `server "${name}" not found`)
    return s
  }
  const changed = (server: string, reason: string): void => bus.emit('servers.changed', { server, reason, timestamp: new Date().toISOString() })
  const set = (name: string, p: Partial<ServerInfo>, reason: string): void => {
    const s = need(name)
    s.info = serverInfo(name, { tool_count: s.info.tool_count, enabled: p.enabled ?? s.info.enabled, quarantined: p.quarantined ?? s.info.quarantined })
    changed(name, reason)
  }
  return {
    servers,
    start: async () => {},
    stop: async () => {},
    list: () => [...servers.values()].map((s) => s.info),
    get: (name) => servers.get(name)?.info,
    quarantined: (name) => servers.get(name)?.info.quarantined,
    add: async (input: AddServerInput) => {
      if (servers.has(input.name)) throw new CoreError('CONFLICT', `server "${input.name}" already exists`)
      const info = serverInfo(input.name, { quarantined: input.quarantined !== false, command: input.command, url: input.url })
      servers.set(input.name, { info, tools: [] })
      changed(input.name, 'added')
      return info
    },
    remove: async (name) => {
      need(name)
      servers.delete(name)
      changed(name, 'removed')
    },
    enable: async (name) => set(name, { enabled: true }, 'enabled'),
    disable: async (name) => set(name, { enabled: false }, 'disabled'),
    restart: async (name) => set(name, {}, 'restarted'),
    setQuarantined: async (name, quarantined) => set(name, { quarantined }, quarantined ? 'quarantined' : 'unquarantined'),
    approveTools: async (name, tools) => need(name).tools.filter((t) => !tools || tools.includes(t.tool.name)).map((t) => t.tool.name),
    rejectToolChanges: async (name, tools) => {
      need(name)
      return tools
    },
    pendingToolChanges: () => [],
    tools: (name) => (name ? need(name).tools : [...servers.values()].flatMap((s) => s.tools)),
    logs: (name, lines = 200) => {
      need(name)
      return Array.from({ length: Math.min(lines, 3) }, (_, i) => `line ${i + 1}`)
    },
    callTool: async () => ({ content: [] }),
    listPrompts: () => [],
    getPrompt: async () => ({ messages: [] }),
    listResources: () => [],
    listResourceTemplates: () => [],
    readResource: async () => ({ contents: [] }),
    applyConfig: async () => {},
  }
}

/** Answers every /mcp request with the size of the parsed body it was handed. */
export const echoMcp: McpFrontEnd = {
  async handleHttp(req, res, parsedBody) {
    const bytes = parsedBody === undefined ? 0 : Buffer.byteLength(JSON.stringify(parsedBody))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, bytes }))
  },
  serveStdio: async () => {},
  close: async () => {},
}

export interface TestCore {
  core: Core
  dataDir: string
  upstreams: ReturnType<typeof createFakeUpstreams>
  approvals: ReturnType<typeof createApprovalRegistry>
  sessions: ReturnType<typeof createSessionRegistry>
  cleanup(): Promise<void>
}

export async function createTestCore(config: Record<string, unknown> = {}): Promise<TestCore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mcpproxy-http-'))
  const paths = dataDirPaths(dataDir)
  writeConfigFile(paths.config, { listen: '127.0.0.1:0', api_key: TEST_API_KEY, mcpServers: {}, ...config })
  const loaded = loadConfig(dataDir, {})
  const bus = new EventBus()
  const activity = createActivityStore({ file: paths.db, pollMs: 50, retention: false })
  const configStore = createConfigStore(paths.config, loaded, bus, silentLogger)
  const upstreams = createFakeUpstreams(bus)
  const tools = createToolSearch(upstreams, bus)
  const sessions = createSessionRegistry({ logger: silentLogger })
  const approvals = createApprovalRegistry(activity, bus)
  const started = Date.now()
  const core: Core = {
    paths,
    apiKey: loaded.apiKey,
    bus,
    logger: silentLogger,
    activity,
    upstreams,
    tools,
    sessions,
    approvals,
    mcp: echoMcp,
    config: createConfigService(configStore, activity),
    listenAddress: null,
    status(): StatusInfo {
      const list = upstreams.list()
      const s = activity.stats()
      return {
        status: 'running',
        version: '0.0.0-test',
        pid: process.pid,
        idle_exit_s: null,
        clients: { mcp_sessions: 0, event_viewers: 0 },
        uptime: Math.round((Date.now() - started) / 1000),
        listen: '127.0.0.1:0',
        mcp_url: '',
        web_ui_url: '',
        data_dir: dataDir,
        servers: { total: list.length, connected: list.filter((x) => x.connected).length, quarantined: list.filter((x) => x.quarantined).length, disabled: list.filter((x) => !x.enabled).length },
        tools: { total: upstreams.tools().length },
        approvals: { pending: approvals.list().length },
        activity: { queued: s.queued, written: s.written, dropped: s.dropped, dropped_by_type: s.dropped_by_type, db_bytes: 0 },
      }
    },
    start: async () => {},
    stop: async () => {},
  }
  return {
    core,
    dataDir,
    upstreams,
    approvals,
    sessions,
    async cleanup() {
      approvals.close()
      sessions.close()
      tools.close()
      configStore.close()
      await activity.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export interface TestServer extends TestCore {
  server: HttpServerHandle
  /** `http://127.0.0.1:port` */
  base: string
  key: string
  socketPath: string
  close(): Promise<void>
}

export async function startTestServer(options: Partial<HttpServerOptions> & { config?: Record<string, unknown> } = {}): Promise<TestServer> {
  const t = await createTestCore(options.config)
  const socketPath = t.core.paths.socket
  const server = await createHttpServer(t.core, { listen: '127.0.0.1:0', socketPath, ...options })
  return {
    ...t,
    server,
    base: `http://${server.address}`,
    key: t.core.apiKey,
    socketPath,
    async close() {
      await server.close()
      await t.cleanup()
    },
  }
}

export interface SseMessage {
  id?: string
  event: string
  data: string
}

export interface SseStream {
  status: number
  headers: import('node:http').IncomingHttpHeaders
  messages: SseMessage[]
  comments: string[]
  /** resolves once `predicate` holds for the messages received so far */
  until(predicate: (messages: SseMessage[]) => boolean, what?: string, timeoutMs?: number): Promise<SseMessage[]>
  /** called once the server ends or drops the stream */
  onEnd(listener: () => void): void
  close(): void
}

/** A small SSE reader over node:http, so tests see ids, names, comments and raw status. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const messages: SseMessage[] = []
      const comments: string[] = []
      const waiters = new Set<() => void>()
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let end: number
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end)
          buf = buf.slice(end + 2)
          const msg: SseMessage = { event: 'message', data: '' }
          const data: string[] = []
          let isMessage = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim())
            else if (line.startsWith('id: ')) msg.id = line.slice(4)
            else if (line.startsWith('event: ')) {
              msg.event = line.slice(7)
              isMessage = true
            } else if (line.startsWith('data: ')) {
              data.push(line.slice(6))
              isMessage = true
            }
          }
          msg.data = data.join('\n')
          if (isMessage) messages.push(msg)
        }
        for (const w of [...waiters]) w()
      })
      res.on('error', () => {})
      const ends: Array<() => void> = []
      let ended = false
      res.on('close', () => {
        ended = true
        ends.forEach((l) => l())
      })
      resolve({
        onEnd: (l) => (ended ? l() : void ends.push(l)),
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        comments,
        until(predicate, what = 'condition', timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            const check = (): void => {
              if (predicate(messages)) {
                waiters.delete(check)
                clearTimeout(timer)
                ok(messages)
              }
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`SSE: timed out waiting for ${what}; got ${messages.length} messages: ${messages.slice(-3).map((m) => m.event).join(', ')}`))
            }, timeoutMs)
            waiters.add(check)
            check()
          })
        },
        close: () => req.destroy(),
      })
    })
    req.on('error', reject)
  })
}

/** A raw HTTP request (fetch cannot set Host), optionally over a Unix socket. */
export function rawRequest(
  opts: { url?: string; socketPath?: string; path?: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = opts.url ? new URL(opts.url) : null
    const req = httpRequest(
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ...(opts.socketPath ? { socketPath: opts.socketPath, path: opts.path } : { host: u!.hostname, port: u!.port, path: `${u!.pathname}${u!.search}` }),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Response bodies in tests are checked by the assertions that read them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any
export const readJson = (res: Response): Promise<Json> => res.json() as Promise<Json>
