/**
 * `/mcp` served on node:http ahead of fastify: the hot path of every agent's tool call. Fastify's
 * routing, hooks, content-type parsing and reply wrapping cost more per call than the MCP front
 * end itself; the checks they made are made here, in the same order and with the same answers:
 * Host and Origin (DNS rebinding), the API key unless `mcp_auth` is false (none on the Unix
 * socket), `application/json` bodies up to MCP_BODY_LIMIT. The fastify route stays registered
 * for the OpenAPI document.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Core } from '../core-types'
import type { Logger } from '../logger'
import { keyMatches, presentedKey } from './auth'
import { redactUrl } from './errors'
import type { HostGuard } from './host-origin'
import { viaSocket } from './unix-socket'
import { readBody } from '../proxy/http-front-end'

/** 1 MiB MCP messages plus JSON-RPC framing and escaping must pass. */
export const MCP_BODY_LIMIT = 4 * 1024 * 1024

export const MCP_PATH = '/mcp'

/** True for `/mcp` and `/mcp?...` (not `/mcp/`, as fastify's router would not match it either). */
export function isMcpUrl(url: string | undefined): boolean {
  return url !== undefined && url.startsWith(MCP_PATH) && (url.length === MCP_PATH.length || url.charCodeAt(MCP_PATH.length) === 63 /* ? */)
}

export interface McpRouteDeps {
  core: Pick<Core, 'apiKey' | 'config' | 'mcp'>
  /** the current guard (it learns the bound port after listen) */
  guard: () => HostGuard
  logger: Logger
  /** while the core is starting: settles once MCP requests are served (checked requests wait for it) */
  held?: () => Promise<void> | null
}

/** The `{ error, code }` envelope and security headers the REST errors carry. */
function sendError(res: ServerResponse, status: number, code: string, error: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({ error, code })
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  })
  res.end(body)
}

function queryKey(url: string): { apikey?: string } | undefined {
  const q = url.indexOf('?')
  if (q < 0) return undefined
  const keys = new URLSearchParams(url.slice(q + 1)).getAll('apikey')
  return keys.length === 1 ? { apikey: keys[0] } : undefined
}

const isJson = (type: string | undefined): boolean => {
  if (!type) return false
  const semi = type.indexOf(';')
  return (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase() === 'application/json'
}

/** The node:http handler for `/mcp` (see isMcpUrl); everything else goes to fastify. */
export function createMcpRoute(deps: McpRouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { core, logger } = deps

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!viaSocket(req)) {
      const guard = deps.guard()
      if (!guard.hostAllowed(req.headers.host)) return sendError(res, 403, 'FORBIDDEN', `host not allowed: ${String(req.headers.host ?? '(none)')}`)
      if (!guard.originAllowed(req.headers.origin)) return sendError(res, 403, 'FORBIDDEN', `origin not allowed: ${req.headers.origin}`)
      if (core.config.current().mcp_auth !== false && !keyMatches(presentedKey(req, queryKey(req.url!)), core.apiKey)) {
        return sendError(res, 401, 'UNAUTHORIZED', 'missing or wrong API key (X-API-Key header, Authorization: Bearer, or ?apikey=)')
      }
    }
    const held = deps.held?.()
    if (held) await held
    if (req.method !== 'POST') return core.mcp.handleHttp(req, res)
    if (!isJson(req.headers['content-type'])) {
      req.resume()
      return sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported Media Type: ${String(req.headers['content-type'] ?? '(none)')}; /mcp takes application/json`)
    }
    const raw = await readBody(req, MCP_BODY_LIMIT)
    if (raw === 'too_large') return sendError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body is too large (limit ${MCP_BODY_LIMIT} bytes)`)
    // bad JSON goes to the MCP front end raw, so the client gets a JSON-RPC parse error (-32700)
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      body = raw
    }
    return core.mcp.handleHttp(req, res, body)
  }

  return (req, res) => {
    serve(req, res).catch((err: Error) => {
      logger.error('mcp request failed', { url: redactUrl(req.url ?? ''), error: err.message })
      sendError(res, 500, 'INTERNAL', 'MCP request failed')
    })
  }
}
