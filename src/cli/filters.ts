/**
 * The activity filter flags shared by list, export, report, watch and delete, validated with the
 * same zod schema REST uses, so a bad value gets the same message everywhere (as a usage error).
 */
import type { Command } from 'commander'
import { ActivityFilterSchema, ActivityListQuerySchema, type ActivityFilter, type ActivityListQuery } from '../shared/activity'
import { describeIssues } from '../core/config/load'
import type { Query } from './api-client'
import { usageError } from './errors'

export interface FilterFlags {
  type?: string[]
  server?: string
  tool?: string
  status?: string[]
  session?: string
  startTime?: string
  endTime?: string
  intentType?: string
  sensitive?: boolean
  q?: string
  search?: string
}

export interface PageFlags {
  limit?: string
  offset?: string
  cursor?: string
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)]

export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--type <type>', 'record type, repeatable or comma-separated (tool_call, policy_decision, quarantine_change, ...)', collect)
    .option('--server <name>', 'server name')
    .option('--tool <name>', 'tool name')
    .option('--status <status>', 'success, error, blocked, timeout, pending; repeatable or comma-separated', collect)
    .option('--session <id>', 'MCP session id')
    .option('--start-time <time>', 'from this time (RFC 3339, or relative: 30m, 2h, 7d)')
    .option('--end-time <time>', 'until this time (RFC 3339, or relative)')
    .option('--intent-type <type>', 'declared intent: read, write, destructive')
    .option('--sensitive', 'only records with sensitive-data detections')
    .option('--q <text>', 'full-text search over tools, arguments, responses, errors and intent reasons')
    .option('--search <text>', 'same as --q')
}

export function addPageOptions(cmd: Command): Command {
  return cmd
    .option('--limit <n>', 'records per page (1-100)', '50')
    .option('--offset <n>', 'records to skip', '0')
    .option('--cursor <cursor>', 'page after this cursor (from the previous page)')
}

const RELATIVE = /^(\d+)(s|m|h|d)$/
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `30m`, `2h`, `7d` mean that long before now; anything else is passed on for validation. */
export function resolveTime(value: string | undefined, now: Date = new Date()): string | undefined {
  if (!value) return undefined
  const m = RELATIVE.exec(value.trim())
  if (!m) return value
  return new Date(now.getTime() - Number(m[1]) * UNIT_MS[m[2]!]!).toISOString()
}

function flagName(key: string): string {
  const names: Record<string, string> = { session_id: '--session', start_time: '--start-time', end_time: '--end-time', intent_type: '--intent-type' }
  return names[key] ?? `--${key}`
}

function rawFilter(flags: FilterFlags): Record<string, unknown> {
  const raw: Record<string, unknown> = {
    type: flags.type?.length ? flags.type : undefined,
    server: flags.server,
    tool: flags.tool,
    status: flags.status?.length ? flags.status : undefined,
    session_id: flags.session,
    start_time: resolveTime(flags.startTime),
    end_time: resolveTime(flags.endTime),
    intent_type: flags.intentType,
    sensitive: flags.sensitive ? true : undefined,
    q: flags.q ?? flags.search,
  }
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined))
}

function fail(error: import('zod').ZodError): never {
  const first = error.issues[0]
  const key = first ? String(first.path[0] ?? '') : ''
  // the schema (shared with REST) knows only RFC 3339; the flags also take relative times
  const message = key === 'start_time' || key === 'end_time' ? `${first!.message} (e.g. 2025-01-15T10:30:00Z) or relative: 30m, 2h, 7d` : first?.message
  throw usageError(key ? `${flagName(key)}: ${message}` : describeIssues(error))
}

export function parseFilter(flags: FilterFlags): ActivityFilter {
  const parsed = ActivityFilterSchema.safeParse(rawFilter(flags))
  if (!parsed.success) fail(parsed.error)
  return parsed.data
}

export function parseListQuery(flags: FilterFlags & PageFlags): ActivityListQuery {
  const parsed = ActivityListQuerySchema.safeParse({ ...rawFilter(flags), limit: flags.limit, offset: flags.offset, cursor: flags.cursor })
  if (!parsed.success) fail(parsed.error)
  return parsed.data
}

export function hasFilter(filter: ActivityFilter): boolean {
  return Object.values(filter).some((v) => v !== undefined)
}

/** The REST query parameters of a filter, as the seed names them (the filter routes take nothing else). */
export function filterQuery(filter: ActivityFilter): Query {
  return {
    type: filter.type,
    server: filter.server,
    tool: filter.tool,
    status: filter.status,
    session_id: filter.session_id,
    start_time: filter.start_time,
    end_time: filter.end_time,
    intent_type: filter.intent_type,
    sensitive: filter.sensitive === undefined ? undefined : String(filter.sensitive),
    q: filter.q,
  }
}

/** The REST query parameters of `GET /activity`: the filter and the page. */
export function listQuery(query: ActivityListQuery): Query {
  return { ...filterQuery(query), limit: query.limit, offset: query.offset, cursor: query.cursor }
}
