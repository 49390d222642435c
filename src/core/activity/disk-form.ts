/**
 * A record in the form it may take on disk: measured (sizes, token estimates, entities), its
 * response cut to the size limit, and redacted (security/redact.ts). The writer applies it to
 * every record it writes and import to every line it reads, so a secret reaches the database by
 * neither path.
 */
import type { ActivityRecord } from '../../shared/activity'
import { extractEntities } from '../security/entities'
import { redactRecordFields } from '../security/redact'
import { estimateTokens } from '../security/tokens'
import type { ActivitySettings } from './types'

export type RedactFn = (record: ActivityRecord, options: { redactPii: boolean }) => ActivityRecord

export type DiskFormSettings = Pick<ActivitySettings, 'maxResponseSize' | 'metadataOnly' | 'redactPii'>

/**
 * Characters kept beyond the size limit before redaction: more than any secret is long, so one
 * cut there lies past the preview's end (serialized text is never shorter than its strings).
 */
const PRETRIM_MARGIN = 64 * 1024

/** A copy of a JSON value holding about `budget.left` characters of content, cut in document order. */
function pretrim(value: unknown, budget: { left: number }): unknown {
  if (typeof value === 'string') {
    const v = value.length > budget.left ? value.slice(0, Math.max(0, budget.left)) : value
    budget.left -= v.length + 2
    return v
  }
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (const v of value) {
      if (budget.left <= 0) break
      out.push(pretrim(v, budget))
    }
    return out
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (budget.left <= 0) break
      budget.left -= k.length + 4
      out[k] = pretrim(v, budget)
    }
    return out
  }
  budget.left -= 8
  return value
}

/** Cuts a UTF-8 string to at most maxBytes without splitting a character. */
function cutUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8')
  if (buf.length <= maxBytes) return text
  let end = maxBytes
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--
  return buf.subarray(0, end).toString('utf8')
}

/**
 * What a recorder may leave to the writer (which runs off the call path): a tool call's (or a
 * relayed message's) request size in bytes of its JSON, its token estimate, and the entities its
 * arguments touch, such as the URI of a resources/read (the response's size and tokens are
 * measured where it is truncated). Values given are kept.
 */
export function measureRequest(r: ActivityRecord): ActivityRecord {
  if ((r.type !== 'tool_call' && r.type !== 'mcp_message') || r.arguments === undefined) return r
  const out = { ...r }
  out.request_bytes ??= Buffer.byteLength(JSON.stringify(r.arguments) ?? 'null', 'utf8')
  out.request_tokens ??= estimateTokens(out.request_bytes)
  if (r.entities === undefined) {
    const found = extractEntities(r.arguments)
    if (found.length) out.entities = found
  }
  return out
}


export interface DiskFormHooks {
  /** defaults to the security module's redactRecordFields */
  redact?: RedactFn
  /** told when redaction threw (the record is then kept without its bodies and error text) */
  onRedactionFailed?: (id: string, err: Error) => void
  /**
   * fill in the sizes, token estimates and entities a record lacks (default true; import keeps
   * records as they were exported, measuring only the size of a response it cuts)
   */
  measure?: boolean
}

function safeRedact(r: ActivityRecord, settings: DiskFormSettings, hooks: DiskFormHooks): ActivityRecord {
  try {
    return (hooks.redact ?? redactRecordFields)(r, { redactPii: settings.redactPii })
  } catch (err) {
    // never store what could not be scanned: keep the record, drop its bodies and error text
    hooks.onRedactionFailed?.(r.id, err as Error)
    const { arguments: _a, response: _r, ...rest } = r
    return {
      ...rest,
      error: r.error === undefined ? undefined : '[REDACTED:redaction_failed]',
      flags: [...(r.flags ?? []), 'redaction_failed'],
    }
  }
}

export function toDiskForm(r: ActivityRecord, settings: DiskFormSettings, hooks: DiskFormHooks = {}): ActivityRecord {
  const measure = hooks.measure ?? true
  let out = measure ? measureRequest(r) : r
  let truncated = false
  // a preview cut before (an imported record) is cut again as the text it is, not re-serialized
  const preview = out.response_truncated === true && typeof out.response === 'string'
  if (out.response !== undefined) {
    const bytes = preview ? Buffer.byteLength(out.response as string, 'utf8') : Buffer.byteLength(JSON.stringify(out.response) ?? 'null', 'utf8')
    if (measure && (out.response_bytes === undefined || out.response_tokens === undefined)) {
      const responseBytes = out.response_bytes ?? bytes
      out = { ...out, response_bytes: responseBytes, response_tokens: out.response_tokens ?? (out.type === 'tool_call' ? estimateTokens(responseBytes) : undefined) }
    }
    if (settings.metadataOnly) {
      const { response: _r, ...rest } = out
      out = rest
    } else if (bytes > settings.maxResponseSize) {
      // only what can reach the preview is scanned: a 50 MB response costs no more than a small one
      // (a response cut here keeps its original size, measured or not)
      truncated = true
      out = { ...out, response_bytes: out.response_bytes ?? bytes, response: pretrim(out.response, { left: settings.maxResponseSize + PRETRIM_MARGIN }) }
    }
  }
  if (settings.metadataOnly && out.arguments !== undefined) {
    const { arguments: _a, ...rest } = out
    out = rest
  }
  out = safeRedact(out, settings, hooks)
  if (truncated && out.response !== undefined) {
    // cut after redaction, so a secret straddling the cut was masked whole
    const text = preview && typeof out.response === 'string' ? out.response : (JSON.stringify(out.response) ?? 'null')
    out = { ...out, response: cutUtf8(text, settings.maxResponseSize), response_truncated: true }
  }
  return out
}
