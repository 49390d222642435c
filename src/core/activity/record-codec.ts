/**
 * The one mapping between an ActivityRecord and its rows (activity + activity_body), and the
 * canonical form the hash chain covers. Writer, queries, export and verify all use it.
 */
import * as crypto from 'node:crypto'
import { createHash } from 'node:crypto'
import type { ActivityRecord } from '../../shared/activity'

/** Record fields kept in the `meta` JSON column (the rest have columns of their own). */
const META_KEYS = [
  'client',
  'intent',
  'flags',
  'detection_types',
  'pii_detected',
  'risk_score',
  'policy',
  'entities',
  'metadata',
  'request_bytes',
  'response_bytes',
  'request_tokens',
  'response_tokens',
  'response_truncated',
  'trace_id',
  'span_id',
] as const satisfies ReadonlyArray<keyof ActivityRecord>

/** Every record field the rows keep (columns, meta, bodies); any other field is not stored. */
export const STORED_KEYS: ReadonlySet<string> = new Set([
  'id', 'type', 'timestamp', 'status', 'session_id', 'request_id', 'server_name', 'tool_name', 'error', 'duration_ms',
  'arguments', 'response', ...META_KEYS,
])

export interface ActivityRow {
  rid?: number
  id: string
  seq: number | null
  ts: number
  type: string
  status: string
  server_name: string | null
  tool_name: string | null
  session_id: string | null
  request_id: string | null
  intent_type: string | null
  sensitive: number
  duration_ms: number | null
  error: string | null
  meta: string
  prev_hash: string | null
  hash: string | null
}

export interface BodyRow {
  arguments: string | null
  response: string | null
}

const nil = <T>(v: T | undefined): T | null => (v === undefined ? null : v)

export function toRows(r: ActivityRecord, seq: number | null): { row: ActivityRow; body: BodyRow } {
  const meta: Record<string, unknown> = {}
  for (const k of META_KEYS) if (r[k] !== undefined) meta[k] = r[k]
  return {
    row: {
      id: r.id,
      seq,
      ts: Date.parse(r.timestamp),
      type: r.type,
      status: r.status,
      server_name: nil(r.server_name),
      tool_name: nil(r.tool_name),
      session_id: nil(r.session_id),
      request_id: nil(r.request_id),
      intent_type: nil(r.intent?.operation_type),
      sensitive: (r.detection_types?.length ?? 0) + (r.pii_detected?.length ?? 0) > 0 ? 1 : 0,
      duration_ms: nil(r.duration_ms),
      error: nil(r.error),
      meta: JSON.stringify(meta),
      prev_hash: nil(r.prev_hash),
      hash: nil(r.hash),
    },
    body: {
      arguments: r.arguments === undefined ? null : JSON.stringify(r.arguments),
      response: r.response === undefined ? null : JSON.stringify(r.response),
    },
  }
}

/** Rebuilds a record from its row; with no body row the record has no arguments/response. */
export function fromRows(row: ActivityRow, body?: BodyRow | null): ActivityRecord {
  const r: Record<string, unknown> = {
    id: row.id,
    type: row.type,
    timestamp: new Date(row.ts).toISOString(),
    status: row.status,
  }
  if (row.session_id !== null) r.session_id = row.session_id
  if (row.request_id !== null) r.request_id = row.request_id
  if (row.server_name !== null) r.server_name = row.server_name
  if (row.tool_name !== null) r.tool_name = row.tool_name
  if (row.error !== null) r.error = row.error
  if (row.duration_ms !== null) r.duration_ms = row.duration_ms
  Object.assign(r, JSON.parse(row.meta) as Record<string, unknown>)
  if (body) {
    if (body.arguments !== null) r.arguments = JSON.parse(body.arguments)
    if (body.response !== null) r.response = JSON.parse(body.response)
  }
  if (row.prev_hash !== null) r.prev_hash = row.prev_hash
  if (row.hash !== null) r.hash = row.hash
  return r as ActivityRecord
}

/**
 * JSON with object keys sorted at every level and undefined members dropped. It runs for every
 * record written and every record verified, so its output must never change: plain JSON data
 * (the usual case) is handed to JSON.stringify with its keys put in order, which gives the same
 * text as the general walk, several times faster.
 */
export function canonicalJson(value: unknown): string {
  const ordered = orderedForStringify(value)
  return ordered === NOT_PLAIN ? canonicalWalk(value) : JSON.stringify(ordered)
}

const NOT_PLAIN = Symbol('not plain JSON data')

/**
 * canonicalJson(value) when `value` is plain JSON data (see orderedForStringify), which a JSON
 * round trip gives back unchanged; undefined otherwise.
 */
export function canonicalJsonIfPlain(value: unknown): string | undefined {
  const ordered = orderedForStringify(value)
  return ordered === NOT_PLAIN ? undefined : JSON.stringify(ordered)
}

/**
 * `value`, or a copy of it with every object's keys in sorted order, when JSON.stringify of that
 * is canonicalJson(value); NOT_PLAIN when only the general walk gives it: anything but strings,
 * numbers, booleans, null, arrays without holes or undefined, and objects of Object.prototype (or
 * none), or keys a copy cannot hold in sorted order (`__proto__`; integer-like keys, which objects
 * enumerate first).
 */
function orderedForStringify(value: unknown): unknown {
  if (value === null) return value
  const kind = typeof value
  if (kind === 'string' || kind === 'number' || kind === 'boolean') return value
  if (kind !== 'object') return NOT_PLAIN
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      if (v === undefined) return NOT_PLAIN
      const o = orderedForStringify(v)
      if (o === NOT_PLAIN) return NOT_PLAIN
      if (copy) copy.push(o)
      else if (o !== v) (copy = value.slice(0, i)).push(o)
    }
    return copy ?? value
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
  let copy: Record<string, unknown> | undefined
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) {
      keys.sort()
      if (!copyable(keys)) return NOT_PLAIN
      copy = {}
      break
    }
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    const v = obj[k]
    if (v === undefined) continue
    const o = orderedForStringify(v)
    if (o === NOT_PLAIN) return NOT_PLAIN
    if (!copy) {
      if (o === v) continue
      if (!copyable(keys)) return NOT_PLAIN
      copy = {}
      for (let j = 0; j < i; j++) if (obj[keys[j]!] !== undefined) copy[keys[j]!] = obj[keys[j]!]
    }
    copy[k] = o
  }
  return copy ?? value
}

/** Whether a new object given these keys in this order enumerates them in this order. */
function copyable(keys: readonly string[]): boolean {
  for (const k of keys) {
    const c = k.charCodeAt(0)
    if (k === '__proto__' || (c >= 48 && c <= 57)) return false
  }
  return true
}

/** canonicalJson for any value: one recursive walk (keys already in order are not re-sorted). */
function canonicalWalk(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i) out += ','
      if (!(i in value)) continue // a hole: nothing, as Array.prototype.join gives
      const v: unknown = value[i]
      out += v === undefined ? 'null' : canonicalWalk(v)
    }
    return out + ']'
  }
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) {
      keys.sort()
      break
    }
  }
  let out = '{'
  let first = true
  for (const k of keys) {
    const v = obj[k]
    if (v === undefined) continue
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalWalk(v)
    first = false
  }
  return out + '}'
}

export const GENESIS_HASH = '0'.repeat(64)

/** hash = sha256(prev_hash + "\n" + canonical record without prev_hash/hash). */
export function chainHash(prevHash: string, record: ActivityRecord): string {
  const content = record.prev_hash === undefined && record.hash === undefined ? record : withoutChainFields(record)
  return linkHash(prevHash, canonicalJson(content))
}

/** chainHash from the canonical text of the record (canonicalJson without prev_hash/hash), computed earlier. */
export function linkHash(prevHash: string, canonical: string): string {
  const text = prevHash + '\n' + canonical
  // the one-shot digest (Node >= 20.12) is cheaper than a Hash object for one small input; same bytes
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex')
}

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash

function withoutChainFields(record: ActivityRecord): ActivityRecord {
  const { prev_hash: _p, hash: _h, ...content } = record
  return content as ActivityRecord
}
