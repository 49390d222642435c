import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { basename } from 'node:path'
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js'
import type { ClientInfo } from '../../shared/activity'
import type { ActivityRecorder } from '../activity/types'
import { isoTime } from '../activity/writer'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import { extractEntities } from '../security/entities'
import { classifyTool } from '../security/policy'
import { estimateTokens } from '../security/tokens'
import { traceFrom } from './call-recorder'
import { processExe } from './peer-process'
import { createSessionRegistry } from './sessions'
import { onLines } from './json-lines'

export interface WrapOptions {
  command: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
  sensitiveTools: string[]
  writeTools: string[]
  recorder: ActivityRecorder
  logger: Logger
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  /** the child's stderr goes here (default: this process's stderr) */
  stderr?: NodeJS.WritableStream
  /** the server name on records (default: the name the server gives in initialize) */
  serverName?: string
  /** persists the session (`session` table) when given */
  db?: Db
}

interface Line {
  bytes: Buffer
  at: number
}

interface Inflight {
  recordId: string
  startedAt: number
  tool: string
}

type Rpc = { id?: string | number | null; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message?: string } }

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/**
 * A transparent stdio proxy for one MCP server: bytes pass unchanged in both directions, and a
 * copy of each line is parsed afterwards (batched on setImmediate) to record the session and
 * every tools/call with its answer. Resolves with the child's exit code once it has exited and
 * the records are flushed; client EOF closes the child's stdin.
 */
export async function runWrap(options: WrapOptions): Promise<number> {
  const { recorder, logger } = options
  const sessionId = randomUUID()
  const parentPid = process.ppid
  // replaced, never changed in place: the records of a session share one object (cloned once per batch to the writer)
  let client: ClientInfo = { pid: parentPid }
  const sessions = options.db ? createSessionRegistry({ db: options.db, logger }) : undefined
  const session = sessions?.open('wrap', client, sessionId)
  void processExe(parentPid).then((exe) => {
    if (!exe) return
    client = { ...client, exe }
    session?.setClient({ exe })
  })
  let serverName = options.serverName ?? basename(options.command)
  const named = options.serverName !== undefined
  const annotations = new Map<string, ToolAnnotations | undefined>()
  const calls = new Map<string, Inflight>()
  const listRequests = new Set<string>()
  let initializeId: string | undefined

  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stderr.pipe((options.stderr ?? process.stderr) as NodeJS.WritableStream, { end: false })

  // relay first: the same buffers go through, recording sees a copy later
  options.stdin.pipe(child.stdin)
  child.stdout.pipe(options.stdout as NodeJS.WritableStream, { end: false })
  child.stdin.on('error', (err) => logger.debug('child stdin closed', { error: err.message }))

  const queue: Array<{ line: Line; fromClient: boolean }> = []
  let scheduled = false
  const enqueue = (fromClient: boolean) => (bytes: Buffer) => {
    queue.push({ line: { bytes, at: performance.now() }, fromClient })
    if (!scheduled) {
      scheduled = true
      setImmediate(drain)
    }
  }
  onLines(options.stdin, enqueue(true))
  onLines(child.stdout, enqueue(false))

  const key = (id: string | number): string => `${typeof id}:${id}`

  const parse = (bytes: Buffer): Rpc | Rpc[] | undefined => {
    try {
      return JSON.parse(bytes.toString('utf8')) as Rpc | Rpc[]
    } catch {
      return undefined
    }
  }

  const fromClient = (m: Rpc, line: Line): void => {
    if (m.id === undefined || m.id === null || typeof m.method !== 'string') return
    if (m.method === 'initialize') {
      initializeId = key(m.id)
      const info = m.params?.clientInfo as { name?: string; version?: string } | undefined
      if (info) {
        client = { ...client, name: info.name, version: info.version }
        session?.setClient({ name: info.name, version: info.version })
      }
      return
    }
    if (m.method === 'tools/list') {
      listRequests.add(key(m.id))
      return
    }
    if (m.method !== 'tools/call') return
    const tool = String(m.params?.name ?? '')
    const args = (m.params?.arguments ?? {}) as Record<string, unknown>
    const trace = traceFrom(m.params?._meta as Record<string, unknown> | undefined)
    const text = JSON.stringify(args)
    const { flags } = classifyTool(serverName, tool, annotations.get(tool), { sensitive_tools: options.sensitiveTools, write_tools: options.writeTools })
    const recordId = recorder.record({
      type: 'tool_call',
      status: 'pending',
      timestamp: isoTime(Math.floor(performance.timeOrigin + line.at)),
      server_name: serverName,
      tool_name: tool,
      session_id: sessionId,
      request_id: String(m.id),
      arguments: args,
      request_bytes: Buffer.byteLength(text),
      request_tokens: estimateTokens(text),
      client,
      flags: flags.length ? flags : undefined,
      entities: extractEntities(args),
      trace_id: trace.traceId,
      span_id: trace.spanId,
      metadata: { transport: 'wrap' },
    })
    calls.set(key(m.id), { recordId, startedAt: line.at, tool })
    session?.countCall()
  }

  const fromServer = (m: Rpc, line: Line): void => {
    if (m.id === undefined || m.id === null || m.method !== undefined) return
    const k = key(m.id)
    if (k === initializeId) {
      const info = m.result?.serverInfo as { name?: string } | undefined
      if (!named && info?.name) serverName = info.name
      return
    }
    if (listRequests.delete(k)) {
      const tools = (m.result?.tools ?? []) as Array<{ name: string; annotations?: ToolAnnotations }>
      for (const t of tools) annotations.set(t.name, t.annotations)
      return
    }
    const call = calls.get(k)
    if (!call) return
    calls.delete(k)
    const isError = m.error !== undefined || m.result?.isError === true
    recorder.complete(call.recordId, {
      status: isError ? 'error' : 'success',
      duration_ms: Math.round((line.at - call.startedAt) * 1000) / 1000,
      response: m.error ?? m.result,
      response_bytes: line.bytes.length,
      response_tokens: estimateTokens(line.bytes.length),
      error: m.error ? (m.error.message ?? 'JSON-RPC error') : isError ? firstText(m.result) : undefined,
    })
  }

  function drain(): void {
    scheduled = false
    const batch = queue.splice(0, queue.length)
    for (const { line, fromClient: c } of batch) {
      const parsed = parse(line.bytes)
      if (parsed === undefined) {
        logger.warn(c ? 'client sent a line that is not JSON' : 'server wrote a line that is not JSON', { bytes: line.bytes.length })
        continue
      }
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (m && typeof m === 'object') (c ? fromClient : fromServer)(m, line)
      }
    }
  }

  const code = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      logger.error('cannot start the wrapped server', { command: options.command, error: err.message })
      resolve(127)
    })
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + (SIGNALS[signal] ?? 1) : 1)))
  })
  options.stdin.unpipe(child.stdin)
  drain()
  for (const call of calls.values()) {
    recorder.complete(call.recordId, {
      status: 'error',
      duration_ms: Math.round((performance.now() - call.startedAt) * 1000) / 1000,
      error: `the server exited (code ${code}) before answering`,
    })
  }
  calls.clear()
  session?.end()
  sessions?.close()
  await recorder.flush()
  return code
}

function firstText(result: Record<string, unknown> | undefined): string {
  const content = result?.content as Array<{ type?: string; text?: string }> | undefined
  return content?.find((c) => c.type === 'text')?.text?.slice(0, 2000) ?? 'tool returned isError'
}
