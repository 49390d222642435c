/**
 * The one REST client of the CLI: talks to a running core over its Unix socket (no key needed)
 * or over TCP with the API key, and turns the `{error, code}` envelope into a CliError.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { CliError } from './errors'

export interface CoreEndpoint {
  /** `socket`: the data dir's Unix socket; `tcp`: the listen address */
  kind: 'socket' | 'tcp'
  /** host:port for tcp; shown in messages for both */
  address: string
  socketPath?: string
  apiKey?: string
}

export type QueryValue = string | number | boolean | string[] | undefined | null
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** raw request body (e.g. an import file), sent as is */
  stream?: Readable
  contentType?: string
  headers?: Record<string, string>
  timeoutMs?: number
  signal?: AbortSignal
  /** the path is not under /api/v1 (e.g. /events) */
  root?: boolean
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) {
      if (value.length) params.set(key, value.join(','))
    } else params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** Unwraps `{success: true, data}`; other bodies are returned as they are. */
export function unwrap<T>(body: unknown): T {
  if (body && typeof body === 'object' && 'success' in body && 'data' in body) return (body as { data: T }).data
  return body as T
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export class ApiClient {
  constructor(readonly endpoint: CoreEndpoint) {}

  /** A request whose response is returned unread (streams: export, report, events). Errors are thrown. */
  async open(method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const ep = this.endpoint
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
    if (ep.kind === 'tcp') {
      headers.host = ep.address
      if (ep.apiKey) headers['x-api-key'] = ep.apiKey
    }
    let payload: string | undefined
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body)
      headers['content-type'] = 'application/json'
    } else if (options.stream) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream'
    }
    const fullPath = `${options.root ? '' : '/api/v1'}${path}${buildQuery(options.query)}`
    const [host, port] = splitHostPort(ep.address)
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        {
          method,
          path: fullPath,
          headers,
          signal: options.signal,
          ...(ep.kind === 'socket' ? { socketPath: ep.socketPath } : { host, port }),
        },
        resolve,
      )
      req.on('error', (err) =>
        reject(err instanceof CliError || (err as Error).name === 'AbortError' ? err : new CliError(`cannot reach the mcpproxy core at ${describeEndpoint(ep)}: ${(err as Error).message}`, { code: 'UNREACHABLE' })),
      )
      if (options.timeoutMs) {
        req.setTimeout(options.timeoutMs, () => req.destroy(new CliError(`the mcpproxy core at ${describeEndpoint(ep)} did not answer within ${options.timeoutMs} ms`, { code: 'TIMEOUT' })))
      }
      if (options.stream) options.stream.pipe(req)
      else req.end(payload)
    })
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readBody(res)
      throw errorFromResponse(res.statusCode ?? 500, text, `${method} ${path}`)
    }
    return res
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, options)
    const text = await readBody(res)
    if (!text) return undefined as T
    const type = String(res.headers['content-type'] ?? '')
    if (!type.includes('json')) return text as T
    try {
      return unwrap<T>(JSON.parse(text))
    } catch {
      throw new CliError(`the core answered ${method} ${path} with invalid JSON`, { code: 'BAD_RESPONSE' })
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query })
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body: body ?? {} })
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { query })
  }
}

export function errorFromResponse(status: number, text: string, what: string): CliError {
  let message = text.trim() || `HTTP ${status}`
  let code: string | undefined
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown; message?: unknown }
    if (typeof body.error === 'string') message = body.error
    else if (typeof body.message === 'string') message = body.message
    if (typeof body.code === 'string') code = body.code
  } catch {
    // a non-JSON error body is shown as it came
  }
  if (status === 401) message = `the core rejected the API key (${message}); check api_key in the config or MCPPROXY_API_KEY`
  if (status === 404 && !code) message = `${what}: ${message}`
  return new CliError(message, { code, status })
}

export function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[|\]$/g, '')
  return [host || '127.0.0.1', Number(address.slice(i + 1))]
}

export function describeEndpoint(ep: CoreEndpoint): string {
  return ep.kind === 'socket' ? `${ep.socketPath}` : `http://${ep.address}`
}
