/**
 * Query parameters a route does not declare are refused with a 400 naming them, never ignored:
 * a typo'd filter (`?servr=x`, `?operation_type=` for `intent_type`) would otherwise list, export
 * or delete every record. `apikey` is accepted everywhere: links and EventSource present the key
 * that way, and the auth hook reads it before this check; so is `download_token`, which only the
 * download routes honour (download-tokens.ts).
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import { z } from 'zod'
import { CoreError } from '../errors'
import { DOWNLOAD_TOKEN_PARAM } from './download-tokens'

/** Taken by every route besides its declared parameters. */
export const API_KEY_PARAM = 'apikey'

/** The names a route's querystring schema declares (none when it has no schema). */
export function declaredQueryKeys(schema: unknown): string[] | undefined {
  if (schema === undefined) return []
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined
}

/** `servr: unknown parameter (this route takes server, tool, ...)`, or undefined when every key is declared. */
export function unknownQueryProblem(query: unknown, declared: readonly string[]): string | undefined {
  if (!query || typeof query !== 'object') return undefined
  const unknown = Object.keys(query).filter((k) => k !== API_KEY_PARAM && k !== DOWNLOAD_TOKEN_PARAM && !declared.includes(k))
  if (unknown.length === 0) return undefined
  const takes = declared.length ? `this route takes ${declared.join(', ')}` : 'this route takes no query parameters'
  return `${unknown.join(', ')}: unknown parameter${unknown.length > 1 ? 's' : ''} (${takes})`
}

/** Adds the check to every route registered in `scope` (and its children) from now on. */
export function refuseUnknownQueryKeys(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route: RouteOptions) => {
    const declared = declaredQueryKeys(route.schema?.querystring)
    if (!declared) return // not an object schema: its own validation decides
    const check = async (req: FastifyRequest): Promise<void> => {
      const problem = unknownQueryProblem(req.query, declared)
      if (problem) throw new CoreError('INVALID_PARAMETER', problem)
    }
    const existing = route.preValidation
    route.preValidation = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), check]
  })
}
