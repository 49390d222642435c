/**
 * The CPU-heavy half of import: JSON Lines text to records prepared for the chain (parse,
 * validate, prepareRecord). Pure, so it runs on the import worker thread or, without one, inline.
 */
import { decodeTime, isValid as isUlid } from 'ulid'
import { ActivityRecordSchema, type ActivityRecord } from '../../shared/activity'
import { prepareJsonRecord, type PreparedRecord } from './append'

/** What one group of input items gave. */
export interface ParsedItems {
  /** lines seen, blank ones included (line numbers go on from here) */
  lines: number
  /** non-blank lines */
  read: number
  records: PreparedRecord[]
  errors: Array<{ line: number; error: string }>
}

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
  return r as ActivityRecord
}

const LINE_END = /\r?\n/

/**
 * Parses input items (each one or more whole lines; blank lines are skipped), numbering lines
 * from `lineBefore + 1`. A bad line becomes an error naming its number; the rest go on.
 */
export function parseItems(items: readonly string[], lineBefore: number): ParsedItems {
  const out: ParsedItems = { lines: 0, read: 0, records: [], errors: [] }
  for (const item of items) {
    const texts = item.indexOf('\n') < 0 ? [item] : item.replace(/\r?\n$/, '').split(LINE_END)
    for (const text of texts) {
      out.lines++
      if (text.trim() === '') continue
      out.read++
      const parsed = parseLine(text)
      if (typeof parsed === 'string') {
        out.errors.push({ line: lineBefore + out.lines, error: parsed })
        continue
      }
      try {
        out.records.push(prepareJsonRecord(parsed))
      } catch (err) {
        out.errors.push({ line: lineBefore + out.lines, error: (err as Error).message })
      }
    }
  }
  return out
}
