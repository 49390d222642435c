import {
  ACTIVITY_STATUSES,
  ACTIVITY_TYPES,
  OPERATION_TYPES,
  type ActivityFilter,
  type ActivityStatus,
  type ActivityType,
  type OperationType,
} from '../../shared/activity'

export const RANGE_PRESETS = ['all', '1h', '24h', '7d', '30d', 'custom'] as const
export type RangePreset = (typeof RANGE_PRESETS)[number]

const PRESET_MS: Record<Exclude<RangePreset, 'all' | 'custom'>, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
}

/** What the filter bar edits and the URL keeps. Presets stay relative ("last 24 h") in the URL. */
export interface FilterState {
  types: ActivityType[]
  server?: string
  tool?: string
  statuses: ActivityStatus[]
  session?: string
  intent?: OperationType
  sensitive?: boolean
  range: RangePreset
  /** RFC 3339, for range = custom */
  from?: string
  to?: string
  q?: string
}

export const EMPTY_FILTER: FilterState = { types: [], statuses: [], range: 'all' }

const pick = <T extends string>(allowed: readonly T[], values: string[]): T[] =>
  values.filter((v): v is T => (allowed as readonly string[]).includes(v))

const nonEmpty = (v: string | null): string | undefined => (v && v.trim() ? v.trim() : undefined)

/** Parses the query of the activity route; unknown values are dropped, never an error. */
export function filterFromQuery(query: URLSearchParams): FilterState {
  const list = (key: string): string[] => query.getAll(key).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
  const range = query.get('range')
  const intent = query.get('intent')
  const sensitive = query.get('sensitive')
  const state: FilterState = {
    types: pick(ACTIVITY_TYPES, list('type')),
    statuses: pick(ACTIVITY_STATUSES, list('status')),
    range: range && (RANGE_PRESETS as readonly string[]).includes(range) ? (range as RangePreset) : 'all',
  }
  const server = nonEmpty(query.get('server'))
  if (server) state.server = server
  const tool = nonEmpty(query.get('tool'))
  if (tool) state.tool = tool
  const session = nonEmpty(query.get('session'))
  if (session) state.session = session
  if (intent && (OPERATION_TYPES as readonly string[]).includes(intent)) state.intent = intent as OperationType
  if (sensitive === 'true' || sensitive === 'false') state.sensitive = sensitive === 'true'
  const q = nonEmpty(query.get('q'))
  if (q) state.q = q
  if (state.range === 'custom') {
    const from = validTime(query.get('from'))
    const to = validTime(query.get('to'))
    if (from) state.from = from
    if (to) state.to = to
  }
  return state
}

function validTime(v: string | null): string | undefined {
  if (!v) return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : new Date(t).toISOString()
}

/** The inverse of filterFromQuery; keys in a fixed order so equal filters give equal URLs. */
export function filterToQuery(state: FilterState): URLSearchParams {
  const q = new URLSearchParams()
  if (state.types.length) q.set('type', state.types.join(','))
  if (state.server) q.set('server', state.server)
  if (state.tool) q.set('tool', state.tool)
  if (state.statuses.length) q.set('status', state.statuses.join(','))
  if (state.session) q.set('session', state.session)
  if (state.intent) q.set('intent', state.intent)
  if (state.sensitive !== undefined) q.set('sensitive', String(state.sensitive))
  if (state.range !== 'all') q.set('range', state.range)
  if (state.range === 'custom') {
    if (state.from) q.set('from', state.from)
    if (state.to) q.set('to', state.to)
  }
  if (state.q) q.set('q', state.q)
  return q
}

/** The server-side filter for REST/IPC; presets are resolved against `now`. */
export function toApiFilter(state: FilterState, now: number = Date.now()): ActivityFilter {
  const f: ActivityFilter = {}
  if (state.types.length) f.type = [...state.types]
  if (state.server) f.server = state.server
  if (state.tool) f.tool = state.tool
  if (state.statuses.length) f.status = [...state.statuses]
  if (state.session) f.session_id = state.session
  if (state.intent) f.intent_type = state.intent
  if (state.sensitive !== undefined) f.sensitive = state.sensitive
  if (state.q) f.q = state.q
  if (state.range === 'custom') {
    if (state.from) f.start_time = state.from
    if (state.to) f.end_time = state.to
  } else if (state.range !== 'all') {
    f.start_time = new Date(now - PRESET_MS[state.range]).toISOString()
  }
  return f
}

export interface FilterChip {
  key: string
  label: string
  /** the filter without this chip */
  without: FilterState
}

/** One removable chip per active filter value. */
export function filterChips(state: FilterState): FilterChip[] {
  const chips: FilterChip[] = []
  for (const t of state.types) chips.push({ key: `type:${t}`, label: `Type: ${t}`, without: { ...state, types: state.types.filter((x) => x !== t) } })
  if (state.server) chips.push({ key: 'server', label: `Server: ${state.server}`, without: { ...state, server: undefined } })
  if (state.tool) chips.push({ key: 'tool', label: `Tool: ${state.tool}`, without: { ...state, tool: undefined } })
  for (const s of state.statuses)
    chips.push({ key: `status:${s}`, label: `Status: ${s}`, without: { ...state, statuses: state.statuses.filter((x) => x !== s) } })
  if (state.session) chips.push({ key: 'session', label: `Session: ${state.session}`, without: { ...state, session: undefined } })
  if (state.intent) chips.push({ key: 'intent', label: `Intent: ${state.intent}`, without: { ...state, intent: undefined } })
  if (state.sensitive !== undefined)
    chips.push({ key: 'sensitive', label: state.sensitive ? 'Sensitive only' : 'Not sensitive', without: { ...state, sensitive: undefined } })
  if (state.range !== 'all')
    chips.push({
      key: 'range',
      label: state.range === 'custom' ? `Time: ${state.from ?? '…'} – ${state.to ?? 'now'}` : `Last ${state.range}`,
      without: { ...state, range: 'all', from: undefined, to: undefined },
    })
  if (state.q) chips.push({ key: 'q', label: `Search: ${state.q}`, without: { ...state, q: undefined } })
  return chips.map((c) => ({ ...c, without: clean(c.without) }))
}

/** Drops undefined keys so that structurally equal filters compare equal. */
export function clean(state: FilterState): FilterState {
  return filterFromQuery(filterToQuery(state))
}

export function sameFilter(a: FilterState, b: FilterState): boolean {
  return filterToQuery(a).toString() === filterToQuery(b).toString()
}
