/**
 * One-use tokens for the web UI's download links. A link the browser follows cannot send the
 * API key in a header, and a key in its URL would stay in the browser's history and downloads
 * list: the UI asks for a token (with the key, in a header) just before it follows the link, and
 * the token opens that one download within DOWNLOAD_TOKEN_TTL_MS, once.
 */
import { randomBytes } from 'node:crypto'

/** The query parameter a download link carries its token in. */
export const DOWNLOAD_TOKEN_PARAM = 'download_token'
export const DOWNLOAD_TOKEN_TTL_MS = 60_000
/** Tokens issued and not used yet, at most (the oldest go first). */
const MAX_TOKENS = 100

/** A route's Fastify `config` that lets a download token open it instead of the key. */
export interface RouteDownloadConfig {
  downloadToken?: boolean
}

export interface DownloadTokens {
  issue(): { token: string; expires_in_s: number }
  /** True once for a token issued and not yet used or expired; it is used up then. */
  take(token: unknown): boolean
}

export function createDownloadTokens(now: () => number = Date.now): DownloadTokens {
  const tokens = new Map<string, number>()
  return {
    issue() {
      const t = now()
      for (const [token, expires] of tokens) if (expires <= t) tokens.delete(token)
      if (tokens.size >= MAX_TOKENS) tokens.delete(tokens.keys().next().value!)
      const token = randomBytes(24).toString('base64url')
      tokens.set(token, t + DOWNLOAD_TOKEN_TTL_MS)
      return { token, expires_in_s: DOWNLOAD_TOKEN_TTL_MS / 1000 }
    },
    take(token) {
      if (typeof token !== 'string') return false
      const expires = tokens.get(token)
      if (expires === undefined) return false
      tokens.delete(token)
      return expires > now()
    },
  }
}
