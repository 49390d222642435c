/**
 * Reads our JSON Lines export back (migration, restore). Each line is validated on its own: a bad
 * line is reported with its number and the rest still import. Records join this database's hash
 * chain (their old prev_hash/hash are replaced); an id already present is skipped, so importing
 * the same file twice imports nothing the second time.
 */
import { decodeTime, isValid as isUlid } from 'ulid'
import { ActivityRecordSchema, type ActivityRecord, type ImportResultInfo } from '../../shared/activity'
import type { Db } from '../store/db'
import { appendRecordsBulk } from './bulk-append'

/** Records appended per IMMEDIATE transaction. */
export const IMPORT_CHUNK = 5000
/** At most this many line errors are kept in the result (the rest are counted in `read` only). */
export const MAX_IMPORT_ERRORS = 1000
/** Page cache while importing (KiB, as a negative cache_size): index inserts need more than the default 2 MB. */
const IMPORT_CACHE_KIB = 65_536

function parseLine(text: string): ActivityRecord | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return `not JSON: ${(err as Error).message}`
  }
  const parsed = ActivityRecordSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    return `${issue.path.length ? issue.path.join('.') : 'record'}: ${issue.message}`
  }
  const r = parsed.data
  if (!isUlid(r.id)) return `id: ${JSON.stringify(r.id)} is not a ULID`
  const ms = Date.parse(r.timestamp)
  if (Number.isNaN(ms)) return `timestamp: ${JSON.stringify(r.timestamp)} is not a valid time`
  if (decodeTime(r.id) !== ms) return `id: the time of ${r.id} (${new Date(decodeTime(r.id)).toISOString()}) differs from timestamp ${r.timestamp}`
  const { prev_hash: _p, hash: _h, ...record } = r
  return record as ActivityRecord
}

/**
 * Imports JSON Lines. Each item of `lines` holds one or more whole lines; blank lines are ignored.
 * `onProgress` gets the number of lines read after each appended chunk.
 */
export async function importActivity(
  db: Db,
  lines: AsyncIterable<string> | Iterable<string>,
  onProgress?: (read: number) => void,
): Promise<ImportResultInfo> {
  const result: ImportResultInfo = { read: 0, imported: 0, skipped_existing: 0, errors: [] }
  let lineNo = 0
  let chunk: ActivityRecord[] = []
  const previousCache = db.pragma('cache_size', { simple: true }) as number
  const flush = (): void => {
    if (chunk.length === 0) return
    const r = appendRecordsBulk(db, chunk, { skipExisting: true })
    result.imported += r.inserted.length
    result.skipped_existing += r.skipped
    chunk = []
    onProgress?.(result.read)
  }
  try {
    if (previousCache > -IMPORT_CACHE_KIB && previousCache < IMPORT_CACHE_KIB / 4) db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`)
    for await (const item of lines) {
      for (const text of item.replace(/\r?\n$/, '').split(/\r?\n/)) {
        lineNo++
        if (text.trim() === '') continue
        result.read++
        const parsed = parseLine(text)
        if (typeof parsed === 'string') {
          if (result.errors.length < MAX_IMPORT_ERRORS) result.errors.push({ line: lineNo, error: parsed })
          continue
        }
        chunk.push(parsed)
        if (chunk.length >= IMPORT_CHUNK) flush()
      }
    }
    flush()
  } finally {
    db.pragma(`cache_size = ${previousCache}`)
  }
  return result
}
