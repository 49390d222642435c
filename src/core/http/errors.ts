/**
 * One error envelope for every HTTP answer: `{ "error": "...", "code": "..." }` with the right
 * status. Bad input is always a 4xx naming the parameter; a full disk is a 507 (DISK_FULL, saying
 * what was not written); only our own bugs become a 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { diskFullError, isCoreError, isDiskFull } from '../errors'
import type { Logger } from '../logger'

export interface ErrorBody {
  error: string
  code: string
}

interface ValidationIssue {
  keyword: string
  instancePath: string
  message: string
  params: Record<string, unknown>
}

/** `limit: must be <= 100` from a zod issue as the type provider reports it. */
export function describeValidationIssue(issue: ValidationIssue, context: string | undefined): string {
  let path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.')
  // a query parameter given as a list (status=a,b) is named, not its item (status, not status.0)
  if (context === 'querystring') path = path.replace(/(\.\d+)+$/, '')
  const name = path || (context === 'body' ? 'body' : context ?? 'request')
  return `${name}: ${issueMessage(issue)}`
}

function issueMessage(issue: ValidationIssue): string {
  const p = issue.params
  switch (issue.keyword) {
    case 'too_big':
      if (p.origin === 'number' || p.origin === 'int' || p.origin === 'bigint') return `must be ${p.inclusive === false ? '<' : '<='} ${String(p.maximum)}`
      if (p.origin === 'string') return `must be at most ${String(p.maximum)} characters`
      if (p.origin === 'array') return `must have at most ${String(p.maximum)} items`
      return issue.message
    case 'too_small':
      if (p.origin === 'number' || p.origin === 'int' || p.origin === 'bigint') return `must be ${p.inclusive === false ? '>' : '>='} ${String(p.minimum)}`
      if (p.origin === 'string') return Number(p.minimum) <= 1 ? 'must not be empty' : `must be at least ${String(p.minimum)} characters`
      if (p.origin === 'array') return `must have at least ${String(p.minimum)} items`
      return issue.message
    case 'invalid_value':
      return Array.isArray(p.values) ? `must be one of ${p.values.map(String).join(', ')}` : issue.message
    case 'invalid_type':
      return p.expected === 'int' ? 'must be an integer' : p.expected === 'number' ? 'must be a number' : `must be ${String(p.expected)}`
    case 'invalid_format':
      return issue.message.startsWith('must') ? issue.message : `must be a valid ${String(p.format ?? 'value')}`
    case 'unrecognized_keys':
      return `unknown key(s) ${Array.isArray(p.keys) ? p.keys.join(', ') : ''}`.trim()
    default:
      return issue.message
  }
}

export function sendError(reply: FastifyReply, status: number, code: string, error: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error, code } satisfies ErrorBody)
}

/** Fastify's own error codes for bad requests, mapped to ours. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'BAD_REQUEST' },
}

export function installErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation as unknown as ValidationIssue[]
      const first = issues[0]!
      return sendError(reply, 400, 'INVALID_PARAMETER', describeValidationIssue(first, err.validationContext))
    }
    if (err instanceof HttpError) return sendError(reply, err.status, err.code, err.message)
    if (isDiskFull(err) && !isCoreError(err)) {
      logger.error('request failed: the disk is full', { method: req.method, url: redactUrl(req.url), error: err.message })
      const full = diskFullError(err)
      return sendError(reply, full.status, full.code, full.message)
    }
    if (isCoreError(err)) {
      if (err.status >= 500) logger.error('request failed', { method: req.method, url: redactUrl(req.url), code: err.code, error: err.message })
      return sendError(reply, err.status, err.code, err.message)
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined
    if (mapped) return sendError(reply, mapped.status, mapped.code, err.message)
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, err.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', err.message)
    }
    logger.error('unhandled request error', { method: req.method, url: redactUrl(req.url), error: err.message, stack: err.stack })
    return sendError(reply, 500, 'INTERNAL', 'internal error')
  })
  // a path that exists with other methods is 405 with Allow, not 404
  const routes: Array<{ pattern: RegExp; method: string }> = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ pattern: routePattern(route.url), method: method.toUpperCase() })
  })
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))].sort()
    if (allowed.length && !allowed.includes(req.method)) {
      reply.header('allow', allowed.join(', '))
      return sendError(reply, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}`)
    }
    return sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${path}`)
  })
}

/** A route's URL as a pattern matching the paths it serves (`:param` one segment, `*` the rest). */
function routePattern(url: string): RegExp {
  const escaped = url.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp('^' + escaped.replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*') + '$')
}

/**
 * Keeps API keys out of logs: the value of every query parameter whose name, once decoded as the
 * query parser decodes it (`api%6Bey` is `apikey`), is apikey in any case.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const params = url
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=')
      const raw = eq < 0 ? p : p.slice(0, eq)
      let name = raw
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '))
      } catch {
        // a malformed escape: the name as it is
      }
      return name.toLowerCase() === 'apikey' ? `${raw}=***` : p
    })
  return url.slice(0, q + 1) + params.join('&')
}

/** An HTTP-only failure (e.g. 413) that has no CoreError code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}
