/** API key check for /api/v1, /events and /mcp: header, bearer token or `?apikey=`, in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

// the expected key's digest, made once per key (every request on /mcp is checked)
let expectedDigest: { key: string; digest: Buffer } | undefined

/** Compares equal-length digests so neither the length nor the content of the key leaks through timing. */
export function keyMatches(candidate: string | undefined, expected: string): boolean {
  if (!expected) return false
  if (expectedDigest?.key !== expected) expectedDigest = { key: expected, digest: digest(expected) }
  return timingSafeEqual(digest(candidate ?? ''), expectedDigest.digest) && candidate !== undefined
}

/** The key a request presents, in order: X-API-Key, Authorization: Bearer, ?apikey=. */
export function presentedKey(req: IncomingMessage, query: unknown): string | undefined {
  const header = req.headers['x-api-key']
  if (typeof header === 'string' && header) return header
  const auth = req.headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim())
    if (m) return m[1]
  }
  if (query && typeof query === 'object') {
    const q = (query as Record<string, unknown>).apikey
    if (typeof q === 'string' && q) return q
  }
  return undefined
}
