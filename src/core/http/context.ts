import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Core } from '../core-types'
import type { DownloadTokens } from './download-tokens'
import type { SseHub } from './sse-hub'
import { viaSocket } from './unix-socket'

/** A Fastify instance whose routes take zod schemas. */
export type ZodApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>

/** What the route modules need besides the core. */
export interface HttpContext {
  core: Core
  hub: SseHub
  /** `127.0.0.1:8080`, known once listening */
  address(): string
  socketPath: string | null
  /** one-use tokens that open a download link without the API key in its URL */
  downloads: DownloadTokens
}

/**
 * Who a REST change is attributed to in the activity log: the web UI (a browser's request carries
 * an Origin, which the Host/Origin check let through as our own), the CLI (it talks over the data
 * dir's socket), or any other client of the API. All of them hold the API key or the socket: the
 * label says which way in, not who the person is.
 */
export function actorOf(req: FastifyRequest): string {
  if (typeof req.headers.origin === 'string') return 'web-ui'
  return viaSocket(req.raw) ? 'cli' : 'api'
}

export const ServerNameParams = z.object({ name: z.string().min(1).max(64).describe('server name') })
export const IdParams = z.object({ id: z.string().min(1).max(200) })

/** The envelope of seed-shaped answers: `{ "success": true, "data": ... }`. */
export function ok<T>(data: T): { success: true; data: T } {
  return { success: true, data }
}
