/** Pure formatting of activity records and events for the terminal (RFC-003 layouts). */
import { relayedMessageLabel, type ActivityRecord, type ActivityStatus, type ActivitySummaryInfo, type ActivitySummaryRow, type IntentInfo, type VerifyResultInfo } from '../shared/activity'
import { formatClock, formatDateTime, formatDuration, formatListTime, paint, renderFields, renderTable } from './output'

const TYPE_LABEL: Record<string, string> = {
  policy_decision: 'policy',
  quarantine_change: 'quarantine',
  server_change: 'server',
  config_change: 'config',
  system_start: 'system',
  system_stop: 'system',
  mcp_message: 'message',
}

export function typeLabel(type: string): string {
  return TYPE_LABEL[type] ?? type
}

const INTENT_ICON: Record<string, string> = { destructive: '⚠️', read: '📖', write: '✏️' }

export function intentLabel(intent: IntentInfo | undefined): string {
  const op = intent?.operation_type
  return op ? `${INTENT_ICON[op] ?? ''} ${op}` : ''
}

export function statusLabel(status: ActivityStatus | string): string {
  switch (status) {
    case 'success':
      return paint.green(status)
    case 'error':
    case 'timeout':
      return paint.red(status)
    case 'blocked':
      return paint.yellow(status)
    default:
      return paint.dim(status)
  }
}

const DECISION_LABEL: Record<string, string> = {
  deny: 'BLOCKED',
  ask: 'ASKED',
  allow: 'ALLOWED',
  approved: 'APPROVED',
  denied: 'DENIED',
  timeout: 'TIMED OUT',
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}

/** The DETAILS column: what happened, in a few words. */
export function detailsOf(r: ActivitySummaryRow): string {
  const meta = r.metadata ?? {}
  switch (r.type) {
    case 'tool_call':
      return r.tool_name ?? ''
    case 'policy_decision': {
      const decision = r.policy?.decision ? (DECISION_LABEL[r.policy.decision] ?? r.policy.decision.toUpperCase()) : r.status.toUpperCase()
      return [r.tool_name, decision].filter(Boolean).join(' ')
    }
    case 'quarantine_change': {
      const q = meta.quarantined
      return [q === true ? 'quarantined' : q === false ? 'unquarantined' : undefined, str(meta.reason) ?? r.policy?.reason].filter(Boolean).join(': ')
    }
    case 'tool_change':
      // (pinned, added, removed, approved...: a record without an action is a changed definition)
      return [r.tool_name, str(meta.action) ?? 'changed'].filter(Boolean).join(' ')
    case 'system_start':
      return meta.transport === 'wrap' ? 'wrap start' : 'start'
    case 'system_stop':
      return meta.transport === 'wrap' ? `wrap stop${typeof meta.exit_code === 'number' ? ` (exit ${meta.exit_code})` : ''}` : 'stop'
    case 'mcp_message':
      return relayedMessageLabel(meta) ?? ''
    default:
      return [str(meta.action), r.tool_name].filter(Boolean).join(' ')
  }
}

/** Characters of an id the ID column shows: enough to tell records apart. */
export const SHORT_ID_LENGTH = 8

/**
 * The ID column: the end of the id, which `activity show` takes. A ULID starts with its time, so
 * records made close together share their start; the random end tells them apart (and the
 * monotonic ids of one millisecond differ in their last characters).
 */
export function shortId(id: string): string {
  return id.slice(-SHORT_ID_LENGTH)
}

export function renderActivityTable(rows: ActivitySummaryRow[], options: { showIntent?: boolean; now?: Date } = {}): string {
  const headers = ['ID', 'TIME', 'TYPE', 'SERVER', 'DETAILS', ...(options.showIntent ? ['INTENT'] : []), 'STATUS', 'DURATION']
  const body = rows.map((r) => [
    shortId(r.id),
    formatListTime(r.timestamp, options.now),
    typeLabel(r.type),
    r.server_name ?? '',
    truncate(detailsOf(r), 48),
    ...(options.showIntent ? [intentLabel(r.intent)] : []),
    statusLabel(r.status),
    formatDuration(r.duration_ms),
  ])
  return renderTable(headers, body)
}

function primitive(v: unknown): boolean {
  return v === null || typeof v !== 'object'
}

/** YAML-like indented rendering of a JSON value (`key: "value"`), as RFC-003 shows arguments. */
export function renderValue(value: unknown, indent = 2): string[] {
  const pad = ' '.repeat(indent)
  if (primitive(value)) return [pad + JSON.stringify(value)]
  if (Array.isArray(value)) {
    if (!value.length) return [pad + '[]']
    return value.flatMap((item) => {
      if (primitive(item)) return [`${pad}- ${JSON.stringify(item)}`]
      const [first = '', ...rest] = renderValue(item, indent + 2)
      return [`${pad}- ${first.trimStart()}`, ...rest]
    })
  }
  const entries = Object.entries(value as Record<string, unknown>)
  if (!entries.length) return [pad + '{}']
  return entries.flatMap(([k, v]) => {
    if (primitive(v)) return [`${pad}${k}: ${JSON.stringify(v)}`]
    if (Array.isArray(v) && !v.length) return [`${pad}${k}: []`]
    if (!Array.isArray(v) && !Object.keys(v as object).length) return [`${pad}${k}: {}`]
    return [`${pad}${k}:`, ...renderValue(v, indent + 2)]
  })
}

function renderText(text: string, indent: number): string[] {
  const t = text.trim()
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try {
      return renderValue(JSON.parse(t), indent)
    } catch {
      // not JSON after all: shown as text
    }
  }
  return text.split('\n').map((l) => ' '.repeat(indent) + l)
}

interface ContentItem {
  type?: string
  text?: string
  mimeType?: string
  data?: string
  resource?: { uri?: string; text?: string }
  uri?: string
}

/** An MCP tool result shown by its content (texts, JSON pretty), other shapes as values. */
export function renderResponse(response: unknown, indent = 2): string[] {
  if (typeof response === 'string') return renderText(response, indent)
  if (response && typeof response === 'object' && Array.isArray((response as { content?: unknown }).content)) {
    const r = response as { content: ContentItem[]; structuredContent?: unknown; isError?: boolean }
    const lines: string[] = []
    if (r.isError) lines.push(' '.repeat(indent) + '(isError: true)')
    for (const item of r.content) {
      if (item.type === 'text' && typeof item.text === 'string') lines.push(...renderText(item.text, indent))
      else if (item.type === 'image' || item.type === 'audio') lines.push(`${' '.repeat(indent)}[${item.type} ${item.mimeType ?? ''}, ${Math.floor(((item.data?.length ?? 0) * 3) / 4)} bytes]`)
      else if (item.type === 'resource') lines.push(`${' '.repeat(indent)}[resource ${item.resource?.uri ?? ''}]`, ...(item.resource?.text ? renderText(item.resource.text, indent + 2) : []))
      else if (item.type === 'resource_link') lines.push(`${' '.repeat(indent)}[resource link ${item.uri ?? ''}]`)
      else lines.push(...renderValue(item, indent))
    }
    if (r.structuredContent !== undefined) lines.push(' '.repeat(indent) + 'structuredContent:', ...renderValue(r.structuredContent, indent + 2))
    return lines
  }
  return renderValue(response, indent)
}

function intentLine(intent: IntentInfo | undefined): string | undefined {
  if (!intent) return undefined
  const parts = [
    intentLabel(intent),
    intent.data_sensitivity,
    intent.reversible === undefined ? undefined : intent.reversible ? 'reversible' : 'irreversible',
  ].filter(Boolean)
  return parts.join(', ') + (intent.reason ? ` (${JSON.stringify(intent.reason)})` : '')
}

/** The `activity show` layout of RFC-003. */
export function renderActivityDetail(r: ActivityRecord): string {
  const client = r.client ? [r.client.name, r.client.version, r.client.pid ? `pid ${r.client.pid}` : undefined].filter(Boolean).join(' ') : undefined
  const fields: Array<[string, string | undefined]> = [
    ['Type', r.type],
    ['Time', formatDateTime(r.timestamp)],
    ['Server', r.server_name],
    ['Tool', r.tool_name],
    ['Status', statusLabel(r.status)],
    ['Duration', formatDuration(r.duration_ms)],
    ['Error', r.error],
    ['Session', r.session_id],
    ['Client', client],
    ['Intent', intentLine(r.intent)],
    ['Policy', r.policy ? [r.policy.decision, r.policy.rule && `rule ${r.policy.rule}`, r.policy.reason].filter(Boolean).join(', ') : undefined],
    ['Flags', r.flags?.length ? r.flags.join(', ') : undefined],
    ['Detected', r.detection_types?.length ? r.detection_types.join(', ') : undefined],
    ['Risk', r.risk_score === undefined ? undefined : String(r.risk_score)],
    ['Entities', r.entities?.length ? r.entities.join(', ') : undefined],
    ['Sizes', [r.request_bytes !== undefined && `request ${r.request_bytes} B`, r.response_bytes !== undefined && `response ${r.response_bytes} B`].filter(Boolean).join(', ') || undefined],
    ['Trace', r.trace_id ? `${r.trace_id}${r.span_id ? ` / ${r.span_id}` : ''}` : undefined],
    ['Hash', r.hash],
  ]
  const lines = [`Activity: ${r.id}`, '─'.repeat(37), renderFields(fields)]
  if (r.metadata && Object.keys(r.metadata).length) lines.push('', 'Details:', ...renderValue(r.metadata))
  if (r.arguments !== undefined) lines.push('', 'Arguments:', ...renderValue(r.arguments))
  if (r.response !== undefined) {
    lines.push('', r.response_truncated ? `Response (truncated; ${r.response_bytes ?? '?'} bytes in full):` : 'Response:', ...renderResponse(r.response))
  }
  return lines.join('\n')
}

export function renderSummary(s: ActivitySummaryInfo): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`
  const statuses = Object.entries(s.by_status)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')
  const lines = [
    paint.bold(`Activity in the last ${s.period}`) + paint.dim(` (${formatDateTime(s.start_time)} - ${formatDateTime(s.end_time)})`),
    renderFields([
      ['Total', String(s.total)],
      ['By status', statuses || 'none'],
      ['By type', Object.entries(s.by_type).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'],
      // by_status counts every record; the rate is over completed tool calls only
      ['Error rate (tool calls)', pct(s.error_rate)],
      ['Duration', s.p50_duration_ms === null ? 'n/a' : `p50 ${formatDuration(s.p50_duration_ms)}, p95 ${formatDuration(s.p95_duration_ms)}`],
    ]),
  ]
  if (s.top_servers.length) lines.push('', renderTable(['TOP SERVERS', 'CALLS'], s.top_servers.map((t) => [t.name, String(t.count)])))
  if (s.top_tools.length) lines.push('', renderTable(['TOP TOOLS', 'CALLS'], s.top_tools.map((t) => [`${t.server}:${t.tool}`, String(t.count)])))
  return lines.join('\n')
}

export function renderVerify(v: VerifyResultInfo): string {
  if (v.ok) {
    return `${paint.green('OK')}: the activity chain is intact (${v.checked} records checked${v.pending ? `, ${v.pending} pending` : ''})`
  }
  const p = v.problem
  const where = p ? [p.id && `record ${p.id}`, p.seq !== undefined && `seq ${p.seq}`].filter(Boolean).join(', ') : ''
  return `${paint.red('BROKEN')}: ${p ? `${p.kind} ${where ? `at ${where}` : ''}: ${p.detail}` : 'the chain does not verify'} (${v.checked} records checked)`
}

/** One `watch` line for an SSE event, or null for events watch does not print. */
export function renderEventLine(event: string, data: Record<string, unknown>, options: { verbose?: boolean } = {}): string | null {
  const clock = formatClock(str(data.timestamp) ?? new Date().toISOString())
  const target = [str(data.server), str(data.tool)].filter(Boolean).join(':')
  const reason = str(data.reason) ?? str(data.error)
  switch (event) {
    case 'activity.tool_call.completed': {
      const dur = typeof data.duration_ms === 'number' ? ` (${formatDuration(data.duration_ms)})` : ''
      const err = data.status !== 'success' && str(data.error) ? ` ${str(data.error)}` : ''
      return `${clock} [tool_call] ${target} → ${statusLabel(String(data.status ?? ''))}${dur}${err}`
    }
    case 'activity.tool_call.started':
      return options.verbose ? `${clock} [tool_call] ${target} → ${paint.dim('started')}` : null
    case 'activity.policy_decision': {
      const d = String(data.decision ?? '')
      const shown = d === 'deny' ? 'blocked' : d
      return `${clock} [policy] ${target} → ${d === 'deny' || d === 'blocked' || d === 'denied' ? paint.yellow(shown) : shown}${reason ? ` (${reason})` : ''}`
    }
    case 'activity.quarantine_change':
      return `${clock} [quarantine] ${str(data.server) ?? ''} → ${data.quarantined ? 'quarantined' : 'unquarantined'}${reason ? ` (${reason})` : ''}`
    case 'activity.approval_requested':
      return `${clock} [approval] ${target} → ${paint.yellow('waiting for approval')} (mcpproxy approvals approve ${str(data.id) ?? ''})`
    case 'activity.approval_resolved':
      return `${clock} [approval] ${str(data.id) ?? ''} → ${String(data.decision ?? '')}`
    case 'servers.changed':
      return options.verbose ? `${clock} [servers] ${str(data.server) ?? 'all'} → ${str(data.reason) ?? 'changed'}` : null
    case 'config.reloaded':
      return options.verbose ? `${clock} [config] → ${data.ok ? 'reloaded' : `invalid: ${str(data.error) ?? ''}`}` : null
    case 'tools.indexed':
      return options.verbose ? `${clock} [tools] → ${String(data.total ?? '?')} tools indexed` : null
    default:
      return null
  }
}

/** A `watch` line for a record read from the database (used when no core runs). */
export function renderRecordLine(r: ActivitySummaryRow): string {
  const clock = formatClock(r.timestamp)
  const target = [r.server_name, r.tool_name].filter(Boolean).join(':')
  const dur = r.duration_ms !== undefined ? ` (${formatDuration(r.duration_ms)})` : ''
  const reason = r.policy?.reason ?? r.error
  if (r.type === 'tool_call') return `${clock} [tool_call] ${target} → ${statusLabel(r.status)}${dur}${r.error && r.status !== 'success' ? ` ${r.error}` : ''}`
  // what changed (`disabled`, `quarantined: reason`), without the tool the target names already;
  // a policy decision's is its status
  const what = r.type === 'policy_decision' ? '' : detailsOf({ ...r, tool_name: undefined })
  return `${clock} [${typeLabel(r.type)}] ${[target, what].filter(Boolean).join(' ')} → ${statusLabel(r.status)}${reason ? ` (${reason})` : ''}`
}
