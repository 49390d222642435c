/**
 * Data entities a call touches, taken from its arguments: ids (`key=value` for keys ending in
 * id / _id / Id, and each element of an `..._ids` list), file paths and URLs. Kept on the record
 * and shown as the report's data access map.
 */

export const DEFAULT_ENTITY_LIMIT = 50
const MAX_ENTITY_LENGTH = 200
const MAX_DEPTH = 12

// `id`, `user_id`, `user-id`, `userId`, `userID`; plural lists like `user_ids`, `userIds`.
const ID_KEY = /^id$|[_-]id$|[a-z0-9]I[dD]$/
const IDS_KEY = /^ids$|[_-]ids$|[a-z0-9]I[dD]s$/
// Keys whose string value is a path even when relative.
const PATH_KEY = /(?:^|[_-])(?:path|file|filename|filepath|dir|directory|folder|source|destination)$|[a-z](?:Path|File|Dir)$/i
const URL_RE = /\b(?:https?|wss?|ftp|file|s3|gs):\/\/[^\s"'<>`]+/gi
const PATH_RE = /(?:^|[\s=:(,[])((?:~|\.{1,2})?\/[\w.@%+~-][^\s"'<>`,;)]*|[A-Za-z]:\\[^\s"'<>`,;)]+)/g

function clip(s: string): string {
  return s.length > MAX_ENTITY_LENGTH ? s.slice(0, MAX_ENTITY_LENGTH) : s
}

const trimPunct = (s: string): string => s.replace(/[.,;:!?]+$/, '')

/** Entities found in a call's arguments, in order of appearance, deduplicated, at most `limit`. */
export function extractEntities(args: unknown, limit: number = DEFAULT_ENTITY_LIMIT): string[] {
  const out = new Set<string>()
  const add = (s: string): void => {
    if (out.size < limit && s) out.add(clip(s))
  }

  const fromText = (text: string): void => {
    if (text.length < 2) return
    if (text.includes('://')) for (const m of text.matchAll(URL_RE)) add(trimPunct(m[0]))
    if (text.includes('/') || text.includes('\\')) {
      for (const m of text.matchAll(PATH_RE)) {
        const p = trimPunct(m[1]!)
        if (p.length > 1 && !p.startsWith('//')) add(p)
      }
    }
  }

  const walk = (value: unknown, key: string | undefined, depth: number): void => {
    if (out.size >= limit || depth > MAX_DEPTH) return
    if (typeof value === 'string') {
      if (key && ID_KEY.test(key) && value.length > 0) add(`${key}=${value}`)
      else if (key && PATH_KEY.test(key) && value.length > 0 && !value.includes('\n') && !value.includes('://')) add(value)
      else fromText(value)
      return
    }
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
      if (key && ID_KEY.test(key) && typeof value !== 'boolean') add(`${key}=${String(value)}`)
      return
    }
    if (Array.isArray(value)) {
      const idList = key !== undefined && IDS_KEY.test(key)
      for (const v of value) {
        if (idList && (typeof v === 'string' || typeof v === 'number')) add(`${key}=${String(v)}`)
        else walk(v, key, depth + 1)
      }
      return
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, k, depth + 1)
    }
  }

  walk(args, undefined, 0)
  return [...out]
}
