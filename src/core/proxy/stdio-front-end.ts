import { Agent, request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Readable, Writable } from 'node:stream'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { ClientInfo } from '../../shared/activity'
import { createAggregatedServer, type ProxyContext } from './aggregated-server'
import { processExe } from './peer-process'
import type { CallerContext } from './types'

/**
 * Serves the aggregated server over a pair of streams (this process's stdin/stdout for
 * `mcpproxy stdio`). The client is the parent process unless told otherwise. Resolves when the
 * input ends or the transport closes.
 */
export async function serveStdio(ctx: ProxyContext, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, client?: ClientInfo): Promise<void> {
  const pid = client?.pid ?? process.ppid
  const known: ClientInfo = { ...client, pid, exe: client?.exe ?? (await processExe(pid)) }
  const session = ctx.sessions.open('stdio', known)
  const caller: CallerContext = { sessionId: session.info.id, transport: 'stdio', client: known }
  const server = createAggregatedServer(ctx, session, caller)
  const transport = new StdioServerTransport(input as Readable, output as Writable)
  const closed = new Promise<void>((resolve) => {
    const previous = server.onclose
    server.onclose = () => {
      previous?.()
      resolve()
    }
  })
  await server.connect(transport)
  const end = (): void => void server.close()
  input.once('end', end)
  input.once('close', end)
  // a client that went away while we were answering (EPIPE) ends the session too
  output.once('error', end)
  await closed
}

/** Splits a byte stream into lines (without the newline), across chunk boundaries. */
export function onLines(input: NodeJS.ReadableStream, onLine: (line: Buffer) => void): void {
  let pending: Buffer[] = []
  input.on('data', (chunk: Buffer) => {
    let start = 0
    let nl = chunk.indexOf(10)
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl)
      const line = pending.length ? Buffer.concat([...pending, piece]) : piece
      pending = []
      if (line.length > 0 && !(line.length === 1 && line[0] === 13)) onLine(line)
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
  })
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => resolve(Buffer.concat(chunks)))
    res.on('error', reject)
  })
}

/** Writes each SSE `data:` payload of a stream as one line. */
function relaySse(res: IncomingMessage, write: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let buffer = ''
    res.setEncoding('utf8')
    res.on('data', (text: string) => {
      buffer += text
      let sep = buffer.indexOf('\n\n')
      while (sep !== -1) {
        const event = buffer.slice(0, sep)
        buffer = buffer.slice(sep + 2)
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n')
        if (data) write(data)
        sep = buffer.indexOf('\n\n')
      }
    })
    res.on('end', () => resolve())
    res.on('error', () => resolve())
    res.on('close', () => resolve())
  })
}

function idOf(line: Buffer): string | number | null {
  try {
    const m = JSON.parse(line.toString('utf8')) as { id?: string | number; method?: string }
    return m.id ?? null
  } catch {
    return null
  }
}

/**
 * Bridges an MCP stdio client to a running core's `/mcp` (streamable HTTP): each line goes as
 * one POST body unchanged, each JSON answer or SSE event comes back as one line. Server
 * notifications arrive over the session's GET stream. Resolves when the input ends and every
 * answer is written; the session is then deleted.
 */
export async function bridgeStdioToHttp(url: string, apiKey: string | undefined, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  const target = new URL(url)
  const secure = target.protocol === 'https:'
  const send = secure ? httpsRequest : httpRequest
  const agent = secure ? undefined : new Agent({ keepAlive: true, maxSockets: 64 })
  let sessionId: string | undefined
  let streamOpen = false
  const inflight = new Set<Promise<void>>()
  const write = (line: string | Buffer): void => {
    output.write(line)
    output.write('\n')
  }

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...(apiKey ? { 'x-api-key': apiKey } : {}),
    ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    ...extra,
  })

  const call = (method: string, body?: Buffer, extra?: Record<string, string>): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const req = send(target, { method, agent, headers: headers({ ...extra, ...(body ? { 'content-length': String(body.length) } : {}) }) }, resolve)
      req.on('error', reject)
      req.end(body)
    })

  const openStream = (): void => {
    if (streamOpen || !sessionId) return
    streamOpen = true
    call('GET', undefined, { accept: 'text/event-stream' })
      .then((res) => (res.statusCode === 200 ? relaySse(res, write) : readAll(res).then(() => undefined)))
      .catch(() => undefined)
  }

  const forward = async (line: Buffer): Promise<void> => {
    try {
      const res = await call('POST', line, { 'content-type': 'application/json', accept: 'application/json, text/event-stream' })
      const sid = res.headers['mcp-session-id']
      if (typeof sid === 'string' && sid !== sessionId) {
        sessionId = sid
        setImmediate(openStream)
      }
      const type = String(res.headers['content-type'] ?? '')
      if (type.startsWith('text/event-stream')) return await relaySse(res, write)
      const body = await readAll(res)
      if (body.length === 0) return
      if (type.startsWith('application/json')) return write(body)
      const id = idOf(line)
      if (id !== null) write(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: `mcpproxy core answered HTTP ${res.statusCode}: ${body.toString('utf8').slice(0, 500)}` } }))
    } catch (err) {
      const id = idOf(line)
      if (id !== null) write(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: `cannot reach the mcpproxy core at ${url}: ${(err as Error).message}` } }))
    }
  }

  await new Promise<void>((resolve) => {
    onLines(input, (line) => {
      const p = forward(line)
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
    })
    input.once('end', resolve)
    input.once('close', resolve)
  })
  await Promise.all(inflight)
  if (sessionId) await call('DELETE').then(readAll, () => undefined).catch(() => undefined)
  agent?.destroy()
}
