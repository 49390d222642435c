// Shared pieces of the whole-core scenario tests: upstream commands, an MCP client over /mcp,
// bounded waits and activity look-ups.
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { ActivityFilter, ActivityRecord } from '../../src/shared/activity'
import type { Core } from '../../src/core/core-types'

const require = createRequire(import.meta.url)
const pkgMain = (pkg: string): string => join(dirname(require.resolve(`${pkg}/package.json`)), 'dist/index.js')

export const EVERYTHING = pkgMain('@modelcontextprotocol/server-everything')
export const MEMORY = pkgMain('@modelcontextprotocol/server-memory')
export const FILESYSTEM = pkgMain('@modelcontextprotocol/server-filesystem')
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')

/** A stdio server entry running `node <script> ...args`. */
export function nodeServer(script: string, args: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [script, ...args], ...extra }
}

export const fixture = (name: string): string => join(FIXTURES, `${name}.mjs`)

/** Polls `predicate` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(predicate: () => T | undefined | false | null, what: string, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface McpSession {
  client: Client
  transport: StreamableHTTPClientTransport
  close(): Promise<void>
}

/** An SDK client connected to the core's /mcp with its API key. */
export async function connectClient(core: Core, name = 'scenario-client', version = '4.5.6'): Promise<McpSession> {
  const client = new Client({ name, version })
  const transport = new StreamableHTTPClientTransport(new URL(`http://${core.listenAddress}/mcp`), {
    requestInit: { headers: { 'X-API-Key': core.apiKey } },
  })
  await client.connect(transport, { timeout: 15_000 })
  return { client, transport, close: () => client.close().catch(() => undefined) }
}

export interface CallArgs {
  server: string
  tool: string
  arguments?: Record<string, unknown>
  intent?: Record<string, unknown>
}

/** call_tool through the proxy, with a bounded client-side timeout. */
export function callTool(client: Client, call: CallArgs, meta?: Record<string, unknown>, timeoutMs = 20_000): Promise<CallToolResult> {
  return client.callTool(
    { name: 'call_tool', arguments: { ...call } as Record<string, unknown>, ...(meta ? { _meta: meta } : {}) },
    undefined,
    { timeout: timeoutMs },
  ) as Promise<CallToolResult>
}

export function textOf(result: unknown): string {
  const content = (result as CallToolResult).content ?? []
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('')
}

/** Full records matching the filter, newest first, once everything queued is on disk. */
export async function records(core: Core, filter: ActivityFilter, limit = 100): Promise<ActivityRecord[]> {
  // the call recorder completes a record on setImmediate after answering
  await new Promise((r) => setImmediate(r))
  await core.activity.flush()
  return core.activity.list(filter, { limit, offset: 0 }).activities.map((r) => core.activity.get(r.id)!)
}

/** Waits until a record matching the filter and predicate is on disk. */
export async function waitForRecord(
  core: Core,
  filter: ActivityFilter,
  predicate: (r: ActivityRecord) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<ActivityRecord> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const hit = (await records(core, filter)).find(predicate)
    if (hit) return hit
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for record: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The config file as it is on disk (the product keeps it current: quarantine flags, api_key). */
export function readConfigFile(core: Core): Record<string, unknown> {
  return JSON.parse(readFileSync(core.paths.config, 'utf8')) as Record<string, unknown>
}

/** Applies top-level keys over the file on disk through the config service (validated, written, live). */
export async function patchConfig(core: Core, patch: Record<string, unknown>): Promise<void> {
  await core.config.apply({ ...readConfigFile(core), ...patch }, 'test')
}

/** true while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Pids of this process's direct children (Linux /proc). */
export function childPids(parent = process.pid): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // the command name may hold spaces and parentheses: fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[1]) === parent && fields[0] !== 'Z') pids.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return pids
}
