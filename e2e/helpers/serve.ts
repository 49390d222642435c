/**
 * Starts a real `mcpproxy serve` (the built CLI) on a free 127.0.0.1 port with a temp data dir:
 * server-everything as a trusted upstream, a second server-everything left in quarantine for
 * the review flow, the poisoned and rug-pull fixtures from test/fixtures, a deny rule and an ask
 * rule. Builds nothing: the test command builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

export const API_KEY = 'e2e-web-key-0123456789abcdef'
export const CLI = resolve('out/cli/mcpproxy.js')
const EVERYTHING = resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js')
const POISONED = resolve('test/fixtures/poisoned-server.mjs')
const RUGPULL = resolve('test/fixtures/rugpull-server.mjs')

export interface ServedCore {
  base: string
  dataDir: string
  /** the web UI with the key, as the tray opens it */
  uiUrl: string
  mcpUrl: string
  /** REST with the key */
  rest(path: string, init?: RequestInit): Promise<Response>
  /** what the core printed so far (stdout and stderr), for failure messages */
  log(): string
  /** POST a JSON Lines body to /activity/import on a fresh connection; returns status and body */
  importLines(body: string): Promise<{ status: number; body: string }>
  /** GET a REST route and return its `data` */
  /** a REST call with the key; its `data` (a POST when init says so) */
  restData<T>(path: string, init?: { method: string; body: string }): Promise<T>
  stop(): Promise<void>
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.once('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))))
    })
  })
}

async function waitFor(url: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mcpproxy serve exited with ${child.exitCode}:\n${log()}`)
    try {
      const res = await fetch(url, { headers: { 'X-API-Key': API_KEY } })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`mcpproxy serve did not answer ${url} within ${timeoutMs} ms:\n${log()}`)
}

/** Upstreams connect after the HTTP server is up: wait until they list their tools. */
async function waitForServers(base: string, names: string[], log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/api/v1/servers`, { headers: { 'X-API-Key': API_KEY } })
    last = await res.text()
    const servers = (JSON.parse(last) as { data: { servers: Array<{ name: string; state: string; tool_count: number }> } }).data.servers
    if (names.every((n) => servers.some((s) => s.name === n && s.state === 'ready' && s.tool_count > 0))) return
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`upstreams ${names.join(', ')} not ready within ${timeoutMs} ms: ${last}\n${log()}`)
}

export async function startServe(): Promise<ServedCore> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`)
  const dataDir = mkdtempSync(join(tmpdir(), 'mcpproxy-e2e-web-'))
  const port = await freePort()
  const listen = `127.0.0.1:${port}`
  writeFileSync(
    join(dataDir, 'mcp_config.json'),
    JSON.stringify(
      {
        listen,
        api_key: API_KEY,
        tool_exposure: 'direct',
        approval_timeout_s: 600,
        mcpServers: {
          everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], quarantined: false },
          newcomer: { command: process.execPath, args: [EVERYTHING, 'stdio'], quarantined: true },
          poisoned: { command: process.execPath, args: [POISONED], quarantined: false },
          rugpull: { command: process.execPath, args: [RUGPULL], quarantined: false },
        },
        policy: {
          rules: [
            { server: 'everything', tool: 'get-env', action: 'deny', reason: 'environment holds secrets', name: 'no-env' },
            { server: 'everything', tool: 'get-sum', action: 'ask', reason: 'sums need a human', name: 'ask-sum' },
          ],
        },
      },
      null,
      2,
    ),
  )
  let output = ''
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'serve', '--listen', listen], {
    env: { ...process.env, MCPPROXY_API_KEY: API_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const base = `http://${listen}`
  await waitFor(`${base}/api/v1/status`, child, () => output, 30_000)
  await waitForServers(base, ['everything', 'newcomer', 'rugpull'], () => output, 30_000)

  return {
    base,
    dataDir,
    uiUrl: `${base}/ui/?apikey=${API_KEY}`,
    mcpUrl: `${base}/mcp`,
    log: () => output + (child.exitCode !== null ? `\n[exited with ${child.exitCode}]` : ''),
    rest: (path, init) => fetch(`${base}${path}`, { ...init, headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json', ...init?.headers } }),
    importLines(body: string): Promise<{ status: number; body: string }> {
      // not fetch: its pooled keep-alive socket may be closed by the server while the caller was
      // busy building a large body, and the upload then fails with EPIPE
      return new Promise((resolvePost, reject) => {
        const req = request(
          `${base}/api/v1/activity/import`,
          { method: 'POST', agent: false, headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/x-ndjson', 'Content-Length': Buffer.byteLength(body) } },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (d: string) => (text += d))
            res.on('end', () => resolvePost({ status: res.statusCode ?? 0, body: text }))
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    },
    async restData<T>(path: string, init?: { method: string; body: string }): Promise<T> {
      const headers: Record<string, string> = { 'X-API-Key': API_KEY, ...(init ? { 'Content-Type': 'application/json' } : {}) }
      const res = await fetch(`${base}${path}`, { ...init, headers })
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { data: T }).data
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** An MCP client connected to the core's /mcp endpoint with the API key, as an agent would be. */
export async function connectClient(core: ServedCore, name = 'e2e-agent'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL(core.mcpUrl), { requestInit: { headers: { 'X-API-Key': API_KEY } } })
  await client.connect(transport)
  return client
}
