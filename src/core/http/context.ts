import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Core } from '../core-types'
import type { SseHub } from './sse-hub'

/** A Fastify instance whose routes take zod schemas. */
export type ZodApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>

/** What the route modules need besides the core. */
export interface HttpContext {
  core: Core
  hub: SseHub
  /** `127.0.0.1:8080`, known once listening */
  address(): string
  socketPath: string | null
}

/** Who REST changes are attributed to in the activity log. */
export const ACTOR = 'api'

export const ServerNameParams = z.object({ name: z.string().min(1).max(64).describe('server name') })
export const IdParams = z.object({ id: z.string().min(1).max(200) })

/** The envelope of seed-shaped answers: `{ "success": true, "data": ... }`. */
export function ok<T>(data: T): { success: true; data: T } {
  return { success: true, data }
}
