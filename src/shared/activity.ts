/**
 * Activity log DTOs. One zod schema per DTO: REST validates input with it, the OpenAPI
 * document is generated from it, and the renderer and the CLI use its inferred type.
 */
import { z } from 'zod'

export const ACTIVITY_TYPES = [
  'tool_call',
  'policy_decision',
  'quarantine_change',
  'server_change',
  'tool_change',
  'config_change',
  'system_start',
  'system_stop',
  // a message `wrap` relayed that is not a tool call (metadata: method, direction, kind)
  'mcp_message',
] as const
export const ActivityTypeSchema = z.enum(ACTIVITY_TYPES)

/** What a relayed message (mcp_message) is called in lists: its method, after an arrow when the server sent it. */
export function relayedMessageLabel(metadata: Record<string, unknown> | undefined): string | undefined {
  if (typeof metadata?.method !== 'string') return undefined
  return `${metadata.direction === 'server_to_client' ? '← ' : ''}${metadata.method}`
}
export type ActivityType = z.infer<typeof ActivityTypeSchema>

export const ACTIVITY_STATUSES = ['success', 'error', 'blocked', 'timeout', 'pending'] as const
export const ActivityStatusSchema = z.enum(ACTIVITY_STATUSES)
export type ActivityStatus = z.infer<typeof ActivityStatusSchema>

export const OPERATION_TYPES = ['read', 'write', 'destructive'] as const
export const OperationTypeSchema = z.enum(OPERATION_TYPES)
export type OperationType = z.infer<typeof OperationTypeSchema>

export const DATA_SENSITIVITIES = ['public', 'internal', 'private', 'unknown'] as const

export const IntentSchema = z.object({
  operation_type: OperationTypeSchema.optional(),
  data_sensitivity: z.enum(DATA_SENSITIVITIES).optional(),
  reversible: z.boolean().optional(),
  reason: z.string().max(2000).optional(),
})
export type IntentInfo = z.infer<typeof IntentSchema>

export const ClientSchema = z.object({
  name: z.string().optional(),
  version: z.string().optional(),
  pid: z.number().int().optional(),
  exe: z.string().optional(),
})
export type ClientInfo = z.infer<typeof ClientSchema>

export const PolicyDecisionSchema = z.object({
  decision: z.enum(['allow', 'deny', 'ask', 'approved', 'denied', 'timeout']),
  rule: z.string().optional(),
  reason: z.string().optional(),
})
export type PolicyDecisionInfo = z.infer<typeof PolicyDecisionSchema>

/** A full activity record, as stored, returned by `GET /activity/{id}` and exported as JSON Lines. */
export const ActivityRecordSchema = z.object({
  id: z.string().describe('ULID; its time part equals timestamp'),
  type: ActivityTypeSchema,
  timestamp: z.string().describe('RFC 3339 with milliseconds, UTC'),
  session_id: z.string().optional(),
  request_id: z.string().optional(),
  server_name: z.string().optional(),
  tool_name: z.string().optional(),
  arguments: z.unknown().optional(),
  response: z.unknown().optional(),
  response_truncated: z.boolean().optional(),
  request_bytes: z.number().int().optional(),
  response_bytes: z.number().int().optional(),
  request_tokens: z.number().int().optional().describe('estimated tokens of the arguments'),
  response_tokens: z.number().int().optional().describe('estimated tokens of the response'),
  status: ActivityStatusSchema,
  error: z.string().optional(),
  duration_ms: z.number().optional(),
  client: ClientSchema.optional(),
  trace_id: z.string().optional(),
  span_id: z.string().optional(),
  intent: IntentSchema.optional(),
  flags: z.array(z.string()).optional(),
  detection_types: z.array(z.string()).optional(),
  pii_detected: z.array(z.string()).optional(),
  risk_score: z.number().optional(),
  policy: PolicyDecisionSchema.optional(),
  entities: z.array(z.string()).optional().describe('ids, paths and URLs found in the arguments'),
  metadata: z.record(z.string(), z.unknown()).optional().describe('type-specific details (server change action, tool diff, ...)'),
  prev_hash: z.string().optional(),
  hash: z.string().optional(),
})
export type ActivityRecord = z.infer<typeof ActivityRecordSchema>

/** What a recorder hands to the store; the store assigns id/timestamp when absent and the hashes. */
export type ActivityInput = Omit<ActivityRecord, 'id' | 'timestamp' | 'prev_hash' | 'hash'> & {
  id?: string
  timestamp?: string
}

/** Fields set when a pending record completes. */
export type ActivityCompletion = Partial<
  Pick<
    ActivityRecord,
    | 'status'
    | 'response'
    | 'error'
    | 'duration_ms'
    | 'response_bytes'
    | 'response_tokens'
    | 'flags'
    | 'policy'
    | 'risk_score'
    | 'metadata'
  >
> & { status: ActivityStatus }

/** Comma-separated list or repeated parameter, parsed into a non-empty array of enum values. */
const listOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).min(1))

const boolParam = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')

const timeParam = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 time' })

/** Filters shared by list, count, export, delete and filter-options. */
export const ActivityFilterSchema = z.object({
  type: listOf(ACTIVITY_TYPES).optional(),
  server: z.string().min(1).optional(),
  tool: z.string().min(1).optional(),
  session_id: z.string().min(1).optional(),
  status: listOf(ACTIVITY_STATUSES).optional(),
  start_time: timeParam.optional(),
  end_time: timeParam.optional(),
  intent_type: OperationTypeSchema.optional(),
  sensitive: boolParam.optional(),
  q: z.string().min(1).max(500).optional(),
})
export type ActivityFilter = z.output<typeof ActivityFilterSchema>

export const ActivityListQuerySchema = ActivityFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  cursor: z.string().min(1).optional().describe('opaque; from next_cursor of the previous page'),
})
export type ActivityListQuery = z.output<typeof ActivityListQuerySchema>

/** A list row: the record without its bodies (arguments, response). */
export type ActivitySummaryRow = Omit<ActivityRecord, 'arguments' | 'response'>

export interface ActivityPage {
  activities: ActivitySummaryRow[]
  total: number
  /** Set when `total` is an estimate (a full-text search matching very many records). */
  total_estimated?: boolean
  limit: number
  offset: number
  /** Pass as `cursor` to get the page after this one, stable while new records arrive. */
  next_cursor?: string
}

export const FILTER_OPTION_FIELDS = ['server_name', 'tool_name', 'status', 'type', 'session_id'] as const
export type FilterOptionField = (typeof FILTER_OPTION_FIELDS)[number]
export interface FilterOptionInfo {
  value: string
  count: number
}

export const SUMMARY_PERIODS = ['1h', '24h', '7d', '30d'] as const
export type SummaryPeriod = (typeof SUMMARY_PERIODS)[number]

export interface ActivitySummaryInfo {
  period: SummaryPeriod
  start_time: string
  end_time: string
  total: number
  by_status: Record<ActivityStatus, number>
  by_type: Partial<Record<ActivityType, number>>
  top_servers: Array<{ name: string; count: number }>
  top_tools: Array<{ server: string; tool: string; count: number }>
  p50_duration_ms: number | null
  p95_duration_ms: number | null
  /** errors and timeouts over completed tool calls, 0..1 */
  error_rate: number
}

export interface MetricsDayInfo {
  date: string
  calls: number
  errors: number
  blocked: number
  p95_duration_ms: number | null
}
export interface ActivityMetricsInfo {
  days: number
  server?: string
  series: MetricsDayInfo[]
  per_server: Array<{ server: string; calls: number; errors: number; blocked: number; p95_duration_ms: number | null }>
}

/** The most hours an hourly series covers (a week). */
export const MAX_HOURLY_HOURS = 168

/** Tool calls per clock hour (UTC hours, as the hourly rollups keep them), oldest first, ending with the current hour. */
export interface ActivityHourlyInfo {
  hours: Array<{ start: string; calls: number }>
}

export interface VerifyResultInfo {
  ok: boolean
  checked: number
  /** records written after the last checkpoint, or all when none */
  first_seq?: number
  last_seq?: number
  pending: number
  /** the first problem found, when not ok */
  problem?: {
    kind: 'edited' | 'inserted' | 'removed' | 'checkpoint'
    id?: string
    seq?: number
    detail: string
  }
}

export const EXPORT_FORMATS = ['json', 'csv'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/**
 * The one name an export is saved under, wherever it is made (REST download, web UI, desktop save
 * dialog): `mcpproxy-activity-20261202T010203Z.jsonl` or `.csv`, the HTML report
 * `mcpproxy-activity-report-20261202T010203Z.html` (UTC).
 */
export function exportFileName(format: ExportFormat | 'html', at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return format === 'html' ? `mcpproxy-activity-report-${stamp}.html` : `mcpproxy-activity-${stamp}.${format === 'json' ? 'jsonl' : 'csv'}`
}

export const ExportQuerySchema = ActivityFilterSchema.extend({
  format: z.enum(EXPORT_FORMATS).default('json'),
  include_bodies: boolParam.default(false),
})
export type ExportQuery = z.output<typeof ExportQuerySchema>

export interface ImportResultInfo {
  read: number
  imported: number
  skipped_existing: number
  /** records a deletion removed from this log: not brought back */
  skipped_deleted: number
  errors: Array<{ line: number; error: string }>
}

export interface WriterStatsInfo {
  queued: number
  written: number
  batches: number
  dropped: number
  dropped_by_type: Partial<Record<ActivityType, number>>
  last_error?: string
}
