/**
 * A small Server-Sent Events reader for `/events`: parses the stream, remembers the last id and
 * reconnects with Last-Event-ID so nothing is missed across a dropped connection.
 */
import type { ApiClient, Query } from './api-client'

export interface SseEvent {
  id?: string
  event: string
  data: string
}

/** Incremental parser: feed text chunks, get complete events. */
export function createSseParser(onEvent: (e: SseEvent) => void): (chunk: string) => void {
  let buffer = ''
  let id: string | undefined
  let event = ''
  let data: string[] = []
  const dispatch = (): void => {
    if (data.length) onEvent({ id, event: event || 'message', data: data.join('\n') })
    event = ''
    data = []
  }
  return (chunk) => {
    buffer += chunk
    let nl: number
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1))
      if (line === '') {
        dispatch()
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') data.push(value)
      else if (field === 'event') event = value
      else if (field === 'id' && !value.includes('\0')) id = value
    }
  }
}

/**
 * Waits `ms`, cut short when the signal aborts. Removes its abort listener when the time is up:
 * a poll loop waits on the same signal again and again, and left behind they pile up (and warn).
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const t = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

export interface FollowOptions {
  query?: Query
  signal: AbortSignal
  onEvent: (e: SseEvent) => void
  /** told when the stream drops and when it is back */
  onStatus?: (status: 'connected' | 'reconnecting', detail?: string) => void
  maxDelayMs?: number
}

/** Follows `/events` until the signal aborts, reconnecting with backoff and Last-Event-ID. */
export async function followEvents(client: ApiClient, options: FollowOptions): Promise<void> {
  let lastId: string | undefined
  let delay = 250
  const maxDelay = options.maxDelayMs ?? 5000
  while (!options.signal.aborted) {
    try {
      const res = await client.open('GET', '/events', {
        root: true,
        query: options.query,
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
      })
      if (options.signal.aborted) {
        res.destroy()
        return
      }
      const onAbort = (): void => void res.destroy()
      options.signal.addEventListener('abort', onAbort, { once: true })
      res.on('error', () => {})
      options.onStatus?.('connected')
      delay = 250
      const parse = createSseParser((e) => {
        if (e.id) lastId = e.id
        options.onEvent(e)
      })
      res.setEncoding('utf8')
      try {
        for await (const chunk of res) {
          parse(chunk as string)
          if (options.signal.aborted) break
        }
      } finally {
        options.signal.removeEventListener('abort', onAbort)
      }
      if (options.signal.aborted) return
      options.onStatus?.('reconnecting', 'the event stream ended')
    } catch (err) {
      if (options.signal.aborted) return
      options.onStatus?.('reconnecting', (err as Error).message)
    }
    await pause(delay, options.signal)
    delay = Math.min(delay * 2, maxDelay)
  }
}
