import { describe, expect, it } from 'vitest'
import type { ActivitySummaryRow } from '../../shared/activity'
import { collapseRepeats } from './collapse-repeats'

const row = (id: string, tool: string, status: ActivitySummaryRow['status'] = 'success', server = 'everything'): ActivitySummaryRow => ({
  id,
  type: 'tool_call',
  timestamp: '2026-01-01T00:00:00.000Z',
  server_name: server,
  tool_name: tool,
  status,
})

describe('collapseRepeats', () => {
  it('collapses consecutive identical calls as xN and keeps order', () => {
    const out = collapseRepeats([row('1', 'echo'), row('2', 'echo'), row('3', 'echo'), row('4', 'add'), row('5', 'echo')], 5)
    expect(out.map((c) => [c.row.id, c.row.tool_name, c.count])).toEqual([
      ['1', 'echo', 3],
      ['4', 'add', 1],
      ['5', 'echo', 1],
    ])
  })

  it('does not merge a different status or server', () => {
    const out = collapseRepeats([row('1', 'echo'), row('2', 'echo', 'error'), row('3', 'echo', 'error', 'other')], 5)
    expect(out.map((c) => c.count)).toEqual([1, 1, 1])
  })

  it('stops at the limit of entries, counting the last run fully', () => {
    const rows = [row('a', 't1'), row('b', 't2'), row('c', 't3'), row('d', 't3'), row('e', 't4')]
    const out = collapseRepeats(rows, 3)
    expect(out.map((c) => [c.row.tool_name, c.count])).toEqual([
      ['t1', 1],
      ['t2', 1],
      ['t3', 2],
    ])
  })
})
