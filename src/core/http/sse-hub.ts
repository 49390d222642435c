/**
 * Server-sent events for `/events`. Every event gets a monotonic id and stays in a ring for
 * replay (Last-Event-ID). Each client has a bounded send buffer: one that stops reading is
 * dropped when its buffer overflows, so it never slows recording or the other clients. A client
 * attached with an `authorized` check is asked before each event and heartbeat: one whose key no
 * longer opens the API (the key was rotated) gets a `revoked` event and its stream ends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../logger'

export interface SseHubOptions {
  /** events kept for replay */
  ringSize?: number
  /** heartbeat comment interval */
  heartbeatMs?: number
  /** bytes a client may have queued (ours plus its socket's) before it is dropped */
  maxBufferedBytes?: number
  /** `retry:` hint sent to new clients */
  retryMs?: number
  logger: Logger
}

export interface SseClientFilter {
  /** event names or prefixes (`activity.`, `activity`, `servers.changed`) */
  types?: string[]
  /** only events about this server */
  server?: string
}

export interface SseHubStats {
  clients: number
  published: number
  dropped_clients: number
  /** streams ended because their key stopped being valid */
  revoked_clients: number
  last_event_id: number
  ring_size: number
}

export interface SseHub {
  publish(name: string, payload: object): number
  /** takes over a response and streams events to it until the client goes away */
  attach(req: IncomingMessage, res: ServerResponse, filter: SseClientFilter, lastEventId?: string, authorized?: () => boolean): void
  stats(): SseHubStats
  close(): void
}

interface RingEntry {
  id: number
  name: string
  server?: string
  payload: object
  /** the event as sent, made when first needed (most events are never sent: no client is watching) */
  chunk?: string
}

const chunkOf = (e: RingEntry): string => (e.chunk ??= `id: ${e.id}\nevent: ${e.name}\ndata: ${JSON.stringify(e.payload)}\n\n`)

interface Client {
  res: ServerResponse
  filter: SseClientFilter
  authorized?: () => boolean
}

export function createSseHub(options: SseHubOptions): SseHub {
  const ringSize = options.ringSize ?? 10_000
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024
  const logger = options.logger
  // Seeded from the clock so ids keep rising across restarts: a Last-Event-ID from an earlier
  // process is always older than this ring and gets a `reset`, never a wrong replay.
  let lastId = Date.now() * 1000
  const ring: RingEntry[] = []
  let ringStart = 0
  const clients = new Set<Client>()
  let published = 0
  let dropped = 0
  let revoked = 0

  const ringLength = (): number => ring.length - ringStart
  const pushRing = (e: RingEntry): void => {
    ring.push(e)
    if (ringLength() > ringSize) ringStart++
    // compact now and then instead of shifting on every event
    if (ringStart > ringSize) {
      ring.splice(0, ringStart)
      ringStart = 0
    }
  }

  const drop = (c: Client, why: string): void => {
    if (!clients.delete(c)) return
    dropped++
    logger.warn('sse client dropped', { reason: why })
    c.res.destroy()
  }

  /** false (and the stream ended) when the client's key no longer opens the API */
  const stillAuthorized = (c: Client): boolean => {
    if (!c.authorized || c.authorized()) return true
    if (clients.delete(c)) {
      revoked++
      logger.info('sse client revoked: its API key is no longer valid')
      if (!c.res.destroyed && !c.res.writableEnded) c.res.end(`event: revoked\ndata: ${JSON.stringify({ reason: 'the API key changed; reconnect with the new key' })}\n\n`)
    }
    return false
  }

  const send = (c: Client, chunk: string): void => {
    if (c.res.destroyed || c.res.writableEnded) {
      clients.delete(c)
      return
    }
    c.res.write(chunk)
    if (c.res.writableLength > maxBuffered) drop(c, 'send buffer overflow (client not reading)')
  }

  const heartbeat = setInterval(() => {
    for (const c of clients) if (stillAuthorized(c)) send(c, ': ping\n\n')
  }, options.heartbeatMs ?? 15_000)
  heartbeat.unref()

  return {
    publish(name, payload) {
      const id = ++lastId
      const server = serverOf(payload)
      const entry: RingEntry = { id, name, server, payload }
      pushRing(entry)
      published++
      for (const c of clients) if (stillAuthorized(c) && matches(c.filter, entry)) send(c, chunkOf(entry))
      return id
    },

    attach(req, res, filter, lastEventId, authorized) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      })
      res.socket?.setNoDelay(true)
      const client: Client = { res, filter, authorized }
      let head = `retry: ${options.retryMs ?? 3000}\n: connected\n\n`
      if (lastEventId !== undefined && lastEventId !== '') {
        const after = Number(lastEventId)
        const firstAvailable = ringLength() > 0 ? ring[ringStart]!.id : lastId + 1
        if (!Number.isSafeInteger(after) || after < firstAvailable - 1 || after > lastId) {
          head += `id: ${lastId}\nevent: reset\ndata: ${JSON.stringify({ reason: 'events missed; refetch', last_event_id: lastId })}\n\n`
        } else {
          for (let i = ringStart; i < ring.length; i++) {
            const e = ring[i]!
            if (e.id > after && matches(filter, e)) head += chunkOf(e)
          }
        }
      }
      clients.add(client)
      send(client, head)
      const gone = (): void => {
        clients.delete(client)
      }
      req.on('close', gone)
      res.on('close', gone)
      res.on('error', gone)
    },

    stats: () => ({ clients: clients.size, published, dropped_clients: dropped, revoked_clients: revoked, last_event_id: lastId, ring_size: ringLength() }),

    close() {
      clearInterval(heartbeat)
      for (const c of clients) c.res.end()
      clients.clear()
    },
  }
}

function serverOf(payload: object): string | undefined {
  const p = payload as { server?: unknown; server_name?: unknown }
  if (typeof p.server === 'string') return p.server
  if (typeof p.server_name === 'string') return p.server_name
  return undefined
}

function matches(filter: SseClientFilter, e: RingEntry): boolean {
  if (filter.server !== undefined && e.server !== filter.server) return false
  if (filter.types && filter.types.length > 0) {
    return filter.types.some((t) => e.name === t || e.name.startsWith(t.endsWith('.') ? t : `${t}.`))
  }
  return true
}
