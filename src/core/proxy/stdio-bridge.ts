/**
 * `mcpproxy stdio` as a bridge to the data dir's core: the client's lines go to a stdio session
 * of the core over the data dir's socket (`GET /mcp/stdio` upgraded to `mcpproxy-stdio`) byte for
 * byte, and the core's lines come back the same way, so every client of every `mcpproxy stdio`
 * shares one core, one set of upstream processes and one approval queue.
 *
 * The bridge reads each line only for what a lost core needs: the client's `initialize` (to
 * introduce the client again to the next core), the requests in flight (answered with an error
 * when their core goes away: not sent again, since a tool call may already have run) and the
 * core's own requests to the client (whose late answers must not reach the next core).
 */
import { request as httpRequest } from 'node:http'
import type { Duplex, Writable } from 'node:stream'
import type { Logger } from '../logger'
import { lineSplitter, MAX_LINE_BYTES } from './json-lines'

export const STDIO_UPGRADE_PATH = '/mcp/stdio'
export const STDIO_UPGRADE_PROTOCOL = 'mcpproxy-stdio'
/** the bridged client's process id and executable (the bridge's parent), trusted on the socket only */
export const CLIENT_PID_HEADER = 'x-mcpproxy-client-pid'
export const CLIENT_EXE_HEADER = 'x-mcpproxy-client-exe'

/** how long a bridge keeps trying to reach a core after its core went away */
export const RECONNECT_FOR_MS = 30_000
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 2_000

/** the core to its bridges: it is stopping; send nothing more, end the session once answered */
export const STDIO_DRAINING_METHOD = 'notifications/mcpproxy/draining'

export const CORE_GONE_MESSAGE = 'the mcpproxy core went away before answering; the request was not sent again (a tool call may have run): send it again'

/** code of the error openCoreStdio rejects with when the core is stopping (it refuses new sessions then) */
export const CORE_STOPPING = 'CORE_STOPPING'

/**
 * Opens a stdio session on the core behind `socketPath`; rejects when no core answers (the
 * socket's ENOENT or ECONNREFUSED) or it refuses (code CORE_STOPPING while it stops).
 */
export function openCoreStdio(socketPath: string, client: { pid: number; exe?: string }): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      socketPath,
      path: STDIO_UPGRADE_PATH,
      method: 'GET',
      headers: { connection: 'Upgrade', upgrade: STDIO_UPGRADE_PROTOCOL, [CLIENT_PID_HEADER]: String(client.pid), ...(client.exe ? { [CLIENT_EXE_HEADER]: client.exe } : {}) },
    })
    req.once('upgrade', (_res, socket, head) => {
      if (head.length) socket.unshift(head)
      resolve(socket)
    })
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const err: NodeJS.ErrnoException = new Error(`the core refused a stdio session: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').trim().slice(0, 300)}`)
        if (res.statusCode === 503) err.code = CORE_STOPPING
        reject(err)
      })
    })
    req.once('error', reject)
    req.end()
  })
}

type Id = string | number
interface Message {
  id?: unknown
  method?: unknown
}

const isId = (v: unknown): v is Id => typeof v === 'string' || typeof v === 'number'
const cancelledId = (m: Message): unknown => ((m as { params?: { requestId?: unknown } }).params ?? {}).requestId
const keyOf = (id: Id): string => (typeof id === 'number' ? `n${id}` : `s${id}`)

function parse(line: Buffer): Message | undefined {
  try {
    const m = JSON.parse(line.toString('utf8')) as unknown
    return m && typeof m === 'object' && !Array.isArray(m) ? (m as Message) : undefined
  } catch {
    return undefined
  }
}

/** The lines of one chunk leave in one write (writev) of `to`, not one system call each. */
function batched(to: NodeJS.WritableStream | null, fn: () => void): void {
  const w = to as Writable | null
  w?.cork()
  try {
    fn()
  } finally {
    w?.uncork()
  }
}

export interface StdioBridgeOptions {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** the first core's session, already open */
  first: Duplex
  /** a session on a core again after the last one went away (attempt counts from 1); rejects while there is none */
  reconnect: (attempt: number) => Promise<Duplex>
  logger: Logger
  /** how long to keep trying after a core went away (RECONNECT_FOR_MS) */
  reconnectForMs?: number
}

/**
 * Relays until the client's input ends and every request it sent is answered (resolves 0), or
 * until no core could be reached for reconnectForMs after one went away (resolves 1; every
 * request then waiting was answered with an error naming why).
 */
export function runStdioBridge(options: StdioBridgeOptions): Promise<number> {
  const { input, output, logger } = options
  const reconnectForMs = options.reconnectForMs ?? RECONNECT_FOR_MS
  const NL = Buffer.from('\n')

  let core: Duplex | null = null
  /** client requests written to the current core and not answered yet, by id key */
  const pending = new Map<string, Id>()
  /** the core's requests to the client not answered yet; on a lost core they become stale */
  let serverRequests = new Set<string>()
  const stale = new Set<string>()
  /** the client's initialize line and whether a core answered it */
  let initialize: { line: Buffer; id: Id; answered: boolean } | null = null
  let initialized: Buffer | null = null
  /** client lines waiting for a core (while reconnecting or introducing the client again), with their request id */
  let queue: Array<{ line: Buffer; id?: Id }> = []
  /** input paused until the core's socket drains, output until the client's stdout does */
  let inputPaused = false
  let corePaused = false
  /** the core is stopping: lines wait for the next core, and the session ends once answered */
  let draining = false
  /** the id of the initialize sent again to a new core, whose answer the client must not see */
  let replayId: string | null = null
  let generation = 0
  let inputEnded = false
  let done = false
  let finish: (code: number) => void = () => {}

  const toClient = (line: Buffer | string): void => {
    // (two writes of one corked batch: no copy of the line)
    const flowing = typeof line === 'string' ? output.write(line + '\n') : (output.write(line), output.write(NL))
    // a client that reads slowly slows the core's side down, rather than filling memory
    const from = core
    if (!flowing && from && !corePaused) {
      corePaused = true
      from.pause()
      output.once('drain', () => {
        corePaused = false
        from.resume()
      })
    }
  }
  const errorTo = (id: Id, message: string): void => toClient(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message } }))

  /** `toOld`: a line for the core in hand even while it drains (an answer to its request, a cancellation of its call) */
  const toCore = (line: Buffer, id?: Id, toOld = false): void => {
    const to = core
    if (!to || replayId !== null || (draining && !toOld)) return void queue.push({ line, id })
    if (id !== undefined) pending.set(keyOf(id), id)
    to.write(line)
    if (!to.write(NL) && !inputPaused) {
      inputPaused = true
      input.pause()
      const resume = (): void => {
        to.off('drain', resume)
        to.off('close', resume)
        inputPaused = false
        input.resume()
      }
      to.on('drain', resume)
      to.on('close', resume)
    }
  }

  const maybeFinish = (): void => {
    if (done || !inputEnded || pending.size > 0 || queue.length > 0 || replayId !== null) return
    done = true
    const last = core
    core = null
    if (!last) return finish(0)
    // the core ends the session when its side of the socket ends
    const t = setTimeout(() => last.destroy(), 5_000)
    t.unref()
    last.once('close', () => {
      clearTimeout(t)
      finish(0)
    })
    last.end()
  }

  const fromClient = (line: Buffer): void => {
    const m = parse(line)
    if (m && typeof m.method === 'string') {
      if (isId(m.id)) {
        if (m.method === 'initialize') initialize = { line, id: m.id, answered: false }
        return toCore(line, m.id)
      }
      if (m.method === 'notifications/initialized') initialized = line
      if (m.method === 'notifications/cancelled') return cancelled(line, cancelledId(m))
    } else if (m && isId(m.id) && stale.delete(keyOf(m.id))) {
      // the client's answer to a request of a core that went away: the next core never asked
      logger.info('stdio bridge: dropped an answer to a request of the previous core', { id: m.id })
      return
    } else if (m && isId(m.id) && serverRequests.delete(keyOf(m.id))) {
      // the answer to the core in hand's request goes to it, draining or not
      return toCore(line, undefined, true)
    }
    toCore(line)
  }

  /**
   * The client cancelled a request: one the core in hand has is cancelled there, draining or not
   * (the next core never had it), and is no longer waited for (a cancelled request gets no answer).
   */
  const cancelled = (line: Buffer, id: unknown): void => {
    const key = isId(id) ? keyOf(id) : undefined
    if (key === undefined || !pending.has(key)) return toCore(line)
    toCore(line, undefined, true)
    pending.delete(key)
    if (draining) leaveIfAnswered()
    else maybeFinish()
  }

  const fromCore = (line: Buffer): void => {
    const m = parse(line)
    if (m && isId(m.id) && m.method === undefined) {
      const key = keyOf(m.id)
      if (replayId !== null && key === keyOf(replayId)) return introduced()
      pending.delete(key)
      if (initialize && key === keyOf(initialize.id)) initialize.answered = true
      toClient(line)
      if (draining) return leaveIfAnswered()
      return maybeFinish()
    }
    if (m && m.method === STDIO_DRAINING_METHOD && m.id === undefined) {
      draining = true
      logger.info('stdio bridge: the core is stopping; moving on once its calls in flight are answered', { in_flight: pending.size })
      return leaveIfAnswered()
    }
    if (m && typeof m.method === 'string' && isId(m.id)) serverRequests.add(keyOf(m.id))
    toClient(line)
  }

  /** draining: once every call the core took is answered, the session ends and the next core takes what waits */
  const leaveIfAnswered = (): void => {
    if (pending.size === 0 && replayId === null) core?.end()
  }

  /** the new core answered the initialize sent again: the client's queued lines follow */
  const introduced = (): void => {
    replayId = null
    if (initialized) core?.write(Buffer.concat([initialized, NL]))
    // the next core may know other tools (the app took over with its own config)
    toClient(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }))
    // (a core that began stopping while the client was introduced again: on to the next one)
    if (draining) return leaveIfAnswered()
    flushQueue()
  }

  const flushQueue = (): void => {
    const waiting = queue
    queue = []
    for (const { line, id } of waiting) toCore(line, id)
    maybeFinish()
  }

  const attach = (socket: Duplex): void => {
    core = socket
    const mine = generation
    // (the core's lines have no limit here: it answers what its client asked for)
    const split = lineSplitter(fromCore)
    socket.on('data', (chunk: Buffer) => batched(output, () => split(chunk)))
    socket.on('error', (err: Error) => logger.info('stdio bridge: core connection error', { error: err.message }))
    const onClose = (): void => {
      if (mine === generation && core === socket && !done) void lost()
    }
    // (a socket that closed before it was handed over has no close event to come)
    if (socket.destroyed) queueMicrotask(onClose)
    else socket.once('close', onClose)
  }

  const lost = async (): Promise<void> => {
    generation++
    core = null
    if (draining) logger.info('stdio bridge: left the stopping core; reconnecting')
    else logger.warn('stdio bridge: the core went away; reconnecting')
    draining = false
    for (const key of serverRequests) stale.add(key)
    serverRequests = new Set()
    const again: Array<{ line: Buffer; id?: Id }> = []
    // an initialize sent again and not answered yet is sent again to the next core
    replayId = null
    for (const [key, id] of pending) {
      // an unanswered initialize has no effect: the next core gets it as the client sent it
      if (initialize && !initialize.answered && key === keyOf(initialize.id)) again.push({ line: initialize.line, id })
      else errorTo(id, CORE_GONE_MESSAGE)
    }
    pending.clear()
    queue = [...again, ...queue]
    if (inputEnded && pending.size === 0 && queue.length === 0) {
      done = true
      return finish(0)
    }
    const deadline = Date.now() + reconnectForMs
    let lastError = ''
    for (let attempt = 1; ; attempt++) {
      try {
        const socket = await options.reconnect(attempt)
        if (done) {
          socket.destroy()
          return
        }
        attach(socket)
        break
      } catch (err) {
        lastError = (err as Error).message
        if (Date.now() >= deadline) return giveUp(lastError)
        await new Promise((r) => setTimeout(r, Math.min(RETRY_MIN_MS * 2 ** (attempt - 1), RETRY_MAX_MS)))
      }
    }
    logger.info('stdio bridge: reconnected to a core', { generation })
    if (initialize?.answered) {
      // introduce the client again under an id of our own; its answer (fromCore → introduced) is not passed on
      replayId = `mcpproxy-bridge-reinitialize-${generation}`
      const m = JSON.parse(initialize.line.toString('utf8')) as Record<string, unknown>
      core!.write(JSON.stringify({ ...m, id: replayId }) + '\n')
      return
    }
    flushQueue()
  }

  const giveUp = (reason: string): void => {
    done = true
    const text = `no mcpproxy core for this data dir: ${reason}`
    logger.error(`stdio bridge: ${text}; giving up`)
    for (const { id } of queue) if (id !== undefined) errorTo(id, text)
    queue = []
    pending.clear()
    finish(1)
  }

  const tooLong = (bytes: number): void => {
    if (done) return
    done = true
    logger.error(`stdio bridge: the client sent a message of more than ${MAX_LINE_BYTES} bytes (${bytes} so far); ending the session`)
    core?.destroy()
    core = null
    output.end()
    finish(1)
  }

  return new Promise<number>((resolve) => {
    finish = (code) => {
      input.removeAllListeners('data')
      resolve(code)
    }
    // a message over the limit ends the session, as the core's own stdio does: the client sees
    // its server close (every request it waits for fails at once), never a hang
    const onInput = lineSplitter(fromClient, MAX_LINE_BYTES, (bytes) => tooLong(bytes))
    attach(options.first)
    input.on('data', (chunk: Buffer) => batched(core, () => onInput(chunk)))
    const ended = (): void => {
      if (inputEnded) return
      inputEnded = true
      maybeFinish()
    }
    input.once('end', ended)
    input.once('close', ended)
  })
}
