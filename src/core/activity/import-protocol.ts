/** Messages between importActivity and its worker thread (import-worker.ts). */
import type { ChainHead, PreparedRecord } from './append'
import type { DiskFormSettings } from './disk-form'
import type { ParsedItems } from './import-parse'

/** Input items, numbered from 1 in the order they are posted. */
export interface ImportWorkerRequest {
  n: number
  items: string[]
  /** the chain head as last seen: the worker links records after it ahead of their insert */
  head?: ChainHead
  /** with the first request: the store's size limit and redaction settings */
  disk?: DiskFormSettings
}

export interface ImportWorkerReply {
  n: number
  /** what parseItems gave, its records either as they are or packed (then `records` is empty) */
  parsed: ParsedItems
  packed?: string
}

/**
 * Prepared records travel packed into one string: a structured clone of a record object cost the
 * receiving thread more (15 us) than inserting it. Each record is PACKED_FIELDS values joined by
 * SEP: a bit mask of its null values, then the row, the body and the full-text (canonical is not
 * sent: the insert rebuilds it in the rare case it must link a record again).
 */
const SEP = '\u0000'
const PACKED_FIELDS = 20

/** The records packed, or null when a value holds the separator (then they travel as they are). */
export function packRecords(records: readonly PreparedRecord[]): string | null {
  const parts: string[] = []
  for (const { row: r, body: b, fts } of records) {
    const values = [r.id, r.seq, r.ts, r.type, r.status, r.server_name, r.tool_name, r.session_id, r.request_id, r.intent_type,
      r.sensitive, r.duration_ms, r.error, r.meta, r.prev_hash, r.hash, b.arguments, b.response, fts]
    const at = parts.push('') - 1
    let nulls = 0
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!
      if (v === null) {
        nulls |= 1 << i
        parts.push('')
      } else if (typeof v === 'number') {
        parts.push(String(v))
      } else {
        if (v.includes(SEP)) return null
        parts.push(v)
      }
    }
    parts[at] = String(nulls)
  }
  return parts.join(SEP)
}

export function unpackRecords(packed: string): PreparedRecord[] {
  if (packed === '') return []
  const f = packed.split(SEP)
  const out: PreparedRecord[] = []
  for (let i = 0; i < f.length; i += PACKED_FIELDS) {
    const nulls = Number(f[i])
    const text = (k: number): string | null => (nulls & (1 << k) ? null : f[i + 1 + k]!)
    const num = (k: number): number | null => (nulls & (1 << k) ? null : Number(f[i + 1 + k]))
    out.push({
      row: {
        id: f[i + 1]!,
        seq: num(1),
        ts: Number(f[i + 3]),
        type: f[i + 4]!,
        status: f[i + 5]!,
        server_name: text(5),
        tool_name: text(6),
        session_id: text(7),
        request_id: text(8),
        intent_type: text(9),
        sensitive: Number(f[i + 11]),
        duration_ms: num(11),
        error: text(12),
        meta: f[i + 14]!,
        prev_hash: text(14),
        hash: text(15),
      },
      body: { arguments: text(16), response: text(17) },
      canonical: '',
      fts: f[i + 19]!,
    })
  }
  return out
}
