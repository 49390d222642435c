/**
 * The CPU-heavy half of import: JSON Lines text to records prepared for the chain (parse,
 * validate, prepareRecord). Pure, so it runs on the import worker thread or, without one, inline.
 */
import { decodeTime, isValid as isUlid } from 'ulid'
import {
  ACTIVITY_STATUSES,
  ACTIVITY_TYPES,
  ActivityRecordSchema,
  DATA_SENSITIVITIES,
  OPERATION_TYPES,
  PolicyDecisionSchema,
  type ActivityRecord,
} from '../../shared/activity'
import { prepareRecordDirect, type PreparedRecord } from './append'
import { toDiskForm, type DiskFormSettings } from './disk-form'

/** What one group of input items gave. */
export interface ParsedItems {
  /** lines seen, blank ones included (line numbers go on from here) */
  lines: number
  /** non-blank lines */
  read: number
  records: PreparedRecord[]
  errors: Array<{ line: number; error: string }>
}

const INVALID = Symbol('invalid')
type Check = (v: unknown) => unknown

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const string: Check = (v) => (typeof v === 'string' ? v : INVALID)
const number: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : INVALID)
const int: Check = (v) => (Number.isSafeInteger(v) ? v : INVALID)
const boolean: Check = (v) => (typeof v === 'boolean' ? v : INVALID)
const any: Check = (v) => v
const oneOf = (values: readonly string[]): Check => {
  const set = new Set(values)
  return (v) => (typeof v === 'string' && set.has(v) ? v : INVALID)
}
const strings: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : INVALID)
const plainObject: Check = (v) => (isObject(v) ? v : INVALID)

/**
 * An object of the given fields without any other member, its keys in sorted order (as the hash
 * chain's canonical form has them: nothing to reorder there); INVALID when a field is missing
 * (unless optional) or fails its check.
 */
function objectOf(fields: Record<string, Check>, required: readonly string[] = []): Check {
  const entries = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1))
  return (v) => {
    if (!isObject(v)) return INVALID
    const out: Record<string, unknown> = {}
    for (const [key, check] of entries) {
      const value = v[key]
      if (value === undefined) {
        if (required.includes(key)) return INVALID
        continue
      }
      const checked = check(value)
      if (checked === INVALID) return INVALID
      out[key] = checked
    }
    return out
  }
}

/**
 * ActivityRecordSchema, checked by hand: zod costs several microseconds a record, most of an
 * import's validation. It gives the record zod would give (unknown members dropped) or INVALID,
 * and then zod itself names the problem (import-parse.test.ts holds the two to the same answers).
 */
export const RECORD_CHECKS: Record<keyof ActivityRecord, Check> = {
  id: string,
  type: oneOf(ACTIVITY_TYPES),
  timestamp: string,
  session_id: string,
  request_id: string,
  server_name: string,
  tool_name: string,
  arguments: any,
  response: any,
  response_truncated: boolean,
  request_bytes: int,
  response_bytes: int,
  request_tokens: int,
  response_tokens: int,
  status: oneOf(ACTIVITY_STATUSES),
  error: string,
  duration_ms: number,
  client: objectOf({ name: string, version: string, pid: int, exe: string }),
  trace_id: string,
  span_id: string,
  intent: objectOf({
    operation_type: oneOf(OPERATION_TYPES),
    data_sensitivity: oneOf(DATA_SENSITIVITIES),
    reversible: boolean,
    reason: (v) => (typeof v === 'string' && v.length <= 2000 ? v : INVALID),
  }),
  flags: strings,
  detection_types: strings,
  pii_detected: strings,
  risk_score: number,
  policy: objectOf({ decision: oneOf(PolicyDecisionSchema.shape.decision.options), rule: string, reason: string }, ['decision']),
  entities: strings,
  metadata: plainObject,
  prev_hash: string,
  hash: string,
}

export const checkRecord = objectOf(RECORD_CHECKS, ['id', 'type', 'timestamp', 'status'])

function parseLine(text: string): ActivityRecord | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return `not JSON: ${(err as Error).message}`
  }
  let r = checkRecord(value) as ActivityRecord | typeof INVALID
  if (r === INVALID) {
    const parsed = ActivityRecordSchema.safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      return `${issue.path.length ? issue.path.join('.') : 'record'}: ${issue.message}`
    }
    r = parsed.data as ActivityRecord
  }
  if (!isUlid(r.id)) return `id: ${JSON.stringify(r.id)} is not a ULID`
  const ms = Date.parse(r.timestamp)
  if (Number.isNaN(ms)) return `timestamp: ${JSON.stringify(r.timestamp)} is not a valid time`
  if (decodeTime(r.id) !== ms) return `id: the time of ${r.id} (${new Date(decodeTime(r.id)).toISOString()}) differs from timestamp ${r.timestamp}`
  return r as ActivityRecord
}

const LINE_END = /\r?\n/

/**
 * Parses input items (each one or more whole lines; blank lines are skipped), numbering lines
 * from `lineBefore + 1`, and puts each record in the form it may take on disk (`disk`: the
 * store's size limit and redaction settings). A bad line becomes an error naming its number;
 * the rest go on.
 */
export function parseItems(items: readonly string[], lineBefore: number, disk: DiskFormSettings): ParsedItems {
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
        // measured, cut and redacted as the writer does: an export from elsewhere may hold secrets
        // (a record redaction fails on is kept without bodies, flagged redaction_failed)
        out.records.push(prepareRecordDirect(toDiskForm(parsed, disk, { measure: false })).prepared)
      } catch (err) {
        out.errors.push({ line: lineBefore + out.lines, error: (err as Error).message })
      }
    }
  }
  return out
}
