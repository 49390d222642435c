import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { isJSONRPCRequest, type JSONRPCMessage, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js'
import type { ClientInfo } from '../../shared/activity'
import { createAggregatedServer, requestDispatcher, type ProxyContext } from './aggregated-server'
import { isJsonRpcMessage, isPlainRequest, lineSplitter, MAX_LINE_BYTES } from './json-lines'
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
  const transport = new StdioLineTransport(input, output)
  const closed = new Promise<void>((resolve) => {
    const previous = server.onclose
    server.onclose = () => {
      previous?.()
      resolve()
    }
  })
  await server.connect(transport)
  // what the client sent wrong was answered (-32700, -32600); the log says so too
  server.onerror = (err) => ctx.logger.warn('stdio: a message from the client was refused', { error: err.message })
  // the same dispatch as the HTTP front end: plain tools/call straight to the handler
  transport.dispatchRequest = requestDispatcher(server)
  const end = (): void => void server.close()
  input.once('end', end)
  input.once('close', end)
  // a client that went away while we were answering (EPIPE) ends the session too
  output.once('error', end)
  await closed
}

/**
 * The server side of MCP over a pair of streams, lighter than the SDK's StdioServerTransport:
 * well-formed requests go straight to `dispatchRequest` (no zod passes over every message), and
 * the answers finished in one turn of the event loop leave in one write (one wake-up of the
 * client, not one per answer), ahead of the work deferred to setImmediate. Anything else takes
 * `onmessage` and the SDK's own classification. A line that is not JSON is answered with -32700
 * and a message that is not JSON-RPC with -32600 (both also reported through onerror).
 */
export class StdioLineTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  /** set by the caller to the server's request dispatch */
  dispatchRequest?: (request: JSONRPCRequest) => void
  private out: string[] = []
  private flushing: Promise<void> | null = null
  private closed = false
  private readonly split = lineSplitter((line) => this.receive(line), MAX_LINE_BYTES)

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {}

  private readonly ondata = (chunk: Buffer): void => {
    try {
      this.split(chunk)
    } catch (err) {
      this.onerror?.(err as Error)
      void this.close()
    }
  }

  private readonly oninputerror = (err: Error): void => this.onerror?.(err)

  private receive(line: Buffer): void {
    let message: unknown
    try {
      message = JSON.parse(line.toString('utf8'))
    } catch (err) {
      this.refuse(null, -32700, `Parse error: ${(err as Error).message}`)
      return
    }
    if (this.dispatchRequest && isPlainRequest(message)) return this.dispatchRequest(message)
    // the SDK drops what it cannot classify without a word: answer it, so the client never waits
    const m = message as { id?: unknown; method?: unknown }
    const id = m && typeof m === 'object' && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : null
    if (Array.isArray(message)) return this.refuse(null, -32600, 'Invalid Request: batches are not taken over stdio; send one message per line')
    if (!isJsonRpcMessage(message)) {
      // a response is never answered (JSON-RPC), however odd: reported only
      if (m && typeof m === 'object' && m.method === undefined && ('result' in m || 'error' in m)) return void this.onerror?.(new Error('a response that matches no request'))
      return this.refuse(id, -32600, 'Invalid Request: expected a JSON-RPC 2.0 message')
    }
    if (typeof m.method === 'string' && id !== null && !isJSONRPCRequest(message)) {
      return this.refuse(id, -32600, `Invalid Request: request ${String(id)} is not a valid JSON-RPC 2.0 request`)
    }
    this.onmessage?.(message as JSONRPCMessage)
  }

  /** Answers a message that cannot be served with a JSON-RPC error, and reports it. */
  private refuse(id: string | number | null, code: number, text: string): void {
    void this.send({ jsonrpc: '2.0', id, error: { code, message: text } } as unknown as JSONRPCMessage)
    this.onerror?.(new Error(text))
  }

  async start(): Promise<void> {
    this.input.on('data', this.ondata)
    this.input.on('error', this.oninputerror)
    // an input paused until now (a bridged session held while the core started) flows from here
    this.input.resume()
  }

  // answers finished after close are still written, as the SDK's transport does (a client may
  // end its input and keep reading)
  send(message: JSONRPCMessage): Promise<void> {
    this.out.push(JSON.stringify(message) + '\n')
    // after this turn's promise chains (the answers finished together), before any setImmediate
    // work such as the recording of the calls just answered
    this.flushing ??= new Promise<void>((resolve) => process.nextTick(() => this.flush(resolve)))
    return this.flushing
  }

  private flush(done: () => void): void {
    this.flushing = null
    const text = this.out.length === 1 ? this.out[0]! : this.out.join('')
    this.out = []
    try {
      if (this.output.write(text)) done()
      else this.output.once('drain', done)
    } catch (err) {
      this.onerror?.(err as Error)
      done()
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.input.off('data', this.ondata)
    this.input.off('error', this.oninputerror)
    if (this.input.listenerCount('data') === 0) this.input.pause()
    this.onclose?.()
  }
}
