import { describe, expect, it } from 'vitest'
import { EMPTY_FILTER, filterChips, filterFromQuery, filterToQuery, sameFilter, toApiFilter, type FilterState } from './filters'

describe('filter ↔ URL query', () => {
  it('round-trips every field', () => {
    const state: FilterState = {
      types: ['tool_call', 'policy_decision'],
      server: 'github',
      tool: 'search_code',
      statuses: ['error', 'blocked'],
      session: 'sess-1',
      intent: 'destructive',
      sensitive: true,
      range: 'custom',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-02T00:00:00.000Z',
      q: 'rm -rf',
    }
    const query = filterToQuery(state)
    expect(query.toString()).toBe(
      'type=tool_call%2Cpolicy_decision&server=github&tool=search_code&status=error%2Cblocked&session=sess-1&intent=destructive&sensitive=true&range=custom&from=2026-01-01T00%3A00%3A00.000Z&to=2026-01-02T00%3A00%3A00.000Z&q=rm+-rf',
    )
    expect(filterFromQuery(new URLSearchParams(query.toString()))).toEqual(state)
  })

  it('an empty filter is an empty query and back', () => {
    expect(filterToQuery(EMPTY_FILTER).toString()).toBe('')
    expect(filterFromQuery(new URLSearchParams(''))).toEqual(EMPTY_FILTER)
  })

  it('drops unknown enum values and bad times instead of failing', () => {
    const s = filterFromQuery(new URLSearchParams('type=tool_call,bogus&status=nope&intent=evil&range=5y&sensitive=maybe'))
    expect(s).toEqual({ types: ['tool_call'], statuses: [], range: 'all' })
    const c = filterFromQuery(new URLSearchParams('range=custom&from=yesterday&to=2026-01-02T00:00:00Z'))
    expect(c).toEqual({ types: [], statuses: [], range: 'custom', to: '2026-01-02T00:00:00.000Z' })
  })

  it('accepts repeated parameters as well as comma lists', () => {
    expect(filterFromQuery(new URLSearchParams('status=error&status=blocked')).statuses).toEqual(['error', 'blocked'])
  })

  it('resolves presets against now for the API, keeps them relative in the URL', () => {
    const now = Date.parse('2026-03-10T12:00:00.000Z')
    const state: FilterState = { ...EMPTY_FILTER, range: '24h', statuses: ['error'] }
    expect(toApiFilter(state, now)).toEqual({ status: ['error'], start_time: '2026-03-09T12:00:00.000Z' })
    expect(filterToQuery(state).get('range')).toBe('24h')
    expect(toApiFilter({ ...EMPTY_FILTER, session: 's', intent: 'write', sensitive: false }, now)).toEqual({
      session_id: 's',
      intent_type: 'write',
      sensitive: false,
    })
  })

  it('each chip removes exactly its value', () => {
    const state: FilterState = { ...EMPTY_FILTER, types: ['tool_call', 'server_change'], server: 'gh', q: 'x' }
    const chips = filterChips(state)
    expect(chips.map((c) => c.label)).toEqual(['Type: tool_call', 'Type: server_change', 'Server: gh', 'Search: x'])
    expect(chips[0]!.without.types).toEqual(['server_change'])
    expect(sameFilter(chips[2]!.without, { ...EMPTY_FILTER, types: ['tool_call', 'server_change'], q: 'x' })).toBe(true)
  })
})
