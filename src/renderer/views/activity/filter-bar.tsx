import { useEffect, useState, type ReactNode } from 'react'
import { ACTIVITY_STATUSES, ACTIVITY_TYPES, OPERATION_TYPES, type ActivityStatus, type ActivityType, type FilterOptionField } from '../../../shared/activity'
import { CheckboxDropdown } from '../../components/checkbox-dropdown'
import { filterChips, RANGE_PRESETS, type FilterState, type RangePreset } from '../../lib/filters'
import { useActivityStore } from '../../stores/stores-context'

const RANGE_LABELS: Record<RangePreset, string> = { all: 'All time', '1h': 'Last hour', '24h': 'Last 24 h', '7d': 'Last 7 days', '30d': 'Last 30 days', custom: 'Custom…' }

/** `<input type="datetime-local">` works in local time without zone; the filter keeps UTC. */
const toLocalInput = (iso?: string): string => {
  if (!iso) return ''
  const d = new Date(iso)
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}
const fromLocalInput = (v: string): string | undefined => (v ? new Date(v).toISOString() : undefined)

function OptionSelect(props: { label: string; field: FilterOptionField; value?: string; onChange: (v?: string) => void }): ReactNode {
  const options = useActivityStore((s) => s.options[props.field])
  const request = useActivityStore((s) => s.filterOptionsRequested)
  return (
    <label className="filter">
      <span>{props.label}</span>
      <select aria-label={props.label} value={props.value ?? ''} onFocus={() => void request(props.field)} onChange={(e) => props.onChange(e.currentTarget.value || undefined)}>
        <option value="">Any</option>
        {props.value && !options?.some((o) => o.value === props.value) && <option value={props.value}>{props.value}</option>}
        {options?.map((o) => (
          <option key={o.value} value={o.value}>
            {o.value} ({o.count})
          </option>
        ))}
      </select>
    </label>
  )
}

/** Every filter is applied by the core; the URL (and so this bar) is the source of truth. */
export function FilterBar({ filter, onChange }: { filter: FilterState; onChange: (f: FilterState) => void }): ReactNode {
  const request = useActivityStore((s) => s.filterOptionsRequested)
  const typeOptions = useActivityStore((s) => s.options.type)
  const statusOptions = useActivityStore((s) => s.options.status)
  const [search, setSearch] = useState(filter.q ?? '')
  const [prevQ, setPrevQ] = useState(filter.q)
  if (prevQ !== filter.q) {
    setPrevQ(filter.q)
    setSearch(filter.q ?? '')
  }

  useEffect(() => {
    void request('server_name')
    void request('type')
    void request('status')
  }, [request])

  // search is debounced so typing does not send a query per key
  useEffect(() => {
    if ((filter.q ?? '') === search.trim()) return
    const t = setTimeout(() => onChange({ ...filter, q: search.trim() || undefined }), 300)
    return () => clearTimeout(t)
  }, [search, filter, onChange])

  const counts = (list?: Array<{ value: string; count: number }>): Map<string, number> | undefined => (list ? new Map(list.map((o) => [o.value, o.count])) : undefined)
  const chips = filterChips(filter)

  return (
    <section className="filters" aria-label="Filters">
      <div className="filter-row">
        <CheckboxDropdown<ActivityType>
          label="Type"
          values={ACTIVITY_TYPES}
          selected={filter.types}
          counts={counts(typeOptions)}
          onOpen={() => void request('type')}
          onChange={(types) => onChange({ ...filter, types })}
        />
        <OptionSelect label="Server" field="server_name" value={filter.server} onChange={(server) => onChange({ ...filter, server })} />
        <OptionSelect label="Tool" field="tool_name" value={filter.tool} onChange={(tool) => onChange({ ...filter, tool })} />
        <CheckboxDropdown<ActivityStatus>
          label="Status"
          values={ACTIVITY_STATUSES}
          selected={filter.statuses}
          counts={counts(statusOptions)}
          onOpen={() => void request('status')}
          onChange={(statuses) => onChange({ ...filter, statuses })}
        />
        <OptionSelect label="Session" field="session_id" value={filter.session} onChange={(session) => onChange({ ...filter, session })} />
        <label className="filter">
          <span>Intent</span>
          <select aria-label="Intent" value={filter.intent ?? ''} onChange={(e) => onChange({ ...filter, intent: (e.currentTarget.value || undefined) as FilterState['intent'] })}>
            <option value="">Any</option>
            {OPERATION_TYPES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span>Sensitive</span>
          <select
            aria-label="Sensitive"
            value={filter.sensitive === undefined ? '' : String(filter.sensitive)}
            onChange={(e) => onChange({ ...filter, sensitive: e.currentTarget.value === '' ? undefined : e.currentTarget.value === 'true' })}
          >
            <option value="">Any</option>
            <option value="true">Sensitive only</option>
            <option value="false">Not sensitive</option>
          </select>
        </label>
        <label className="filter">
          <span>Time</span>
          <select aria-label="Time range" value={filter.range} onChange={(e) => onChange({ ...filter, range: e.currentTarget.value as RangePreset })}>
            {RANGE_PRESETS.map((r) => (
              <option key={r} value={r}>
                {RANGE_LABELS[r]}
              </option>
            ))}
          </select>
        </label>
        {filter.range === 'custom' && (
          <>
            <label className="filter">
              <span>From</span>
              <input type="datetime-local" aria-label="From" value={toLocalInput(filter.from)} onChange={(e) => onChange({ ...filter, from: fromLocalInput(e.currentTarget.value) })} />
            </label>
            <label className="filter">
              <span>To</span>
              <input type="datetime-local" aria-label="To" value={toLocalInput(filter.to)} onChange={(e) => onChange({ ...filter, to: fromLocalInput(e.currentTarget.value) })} />
            </label>
          </>
        )}
        <label className="filter search">
          <span>Search</span>
          <input type="search" aria-label="Search" placeholder="arguments, responses, errors…" value={search} onChange={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </div>
      {chips.length > 0 && (
        <ul className="chips" aria-label="Active filters">
          {chips.map((c) => (
            <li key={c.key} className="chip">
              {c.label}
              <button type="button" aria-label={`Remove filter ${c.label}`} onClick={() => onChange(c.without)}>
                ×
              </button>
            </li>
          ))}
          <li>
            <button type="button" className="link" onClick={() => onChange({ types: [], statuses: [], range: 'all' })}>
              Clear all
            </button>
          </li>
        </ul>
      )}
    </section>
  )
}
