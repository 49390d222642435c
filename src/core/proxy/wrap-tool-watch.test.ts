import { describe, expect, it } from 'vitest'
import type { ActivityInput } from '../../shared/activity'
import { createToolWatch } from './wrap-tool-watch'

const tool = (name: string, description = `Does ${name}.`) => ({ name, description, inputSchema: { type: 'object', properties: {} } })

function watch(): { records: ActivityInput[]; w: ReturnType<typeof createToolWatch>; actions: () => string[] } {
  const records: ActivityInput[] = []
  const w = createToolWatch((r) => void records.push(r), () => ({ server_name: 'srv', session_id: 's1' }))
  return { records, w, actions: () => records.map((r) => `${(r.metadata as { action: string }).action}:${r.tool_name}`) }
}

describe('the tool watch of wrap', () => {
  it('records nothing for the first listing, then what changed, appeared and disappeared', () => {
    const { w, actions, records } = watch()
    w.page([tool('a'), tool('b'), tool('c')], true, true)
    expect(records).toEqual([])
    w.page([tool('a'), tool('b', 'Does b, and more.'), tool('d')], true, true)
    expect(actions().sort()).toEqual(['added:d', 'changed:b', 'removed:c'])
    expect(records.find((r) => r.tool_name === 'b')).toMatchObject({ type: 'tool_change', server_name: 'srv', session_id: 's1', flags: ['rug_pull'] })
    // the same listing again changes nothing
    w.page([tool('a'), tool('b', 'Does b, and more.'), tool('d')], true, true)
    expect(records).toHaveLength(3)
  })

  it('compares a listing in pages once its last page arrived (a tool on page two is not removed)', () => {
    const { w, actions } = watch()
    w.page([tool('a')], true, false)
    w.page([tool('b')], false, true)
    w.page([tool('a')], true, false)
    expect(actions()).toEqual([])
    w.page([tool('b', 'Now does x.')], false, true)
    expect(actions()).toEqual(['changed:b'])
  })

  it('ignores entries that are not tools', () => {
    const { w, actions } = watch()
    w.page([tool('a'), null, 7, { description: 'no name' }], true, true)
    w.page([tool('a')], true, true)
    expect(actions()).toEqual([])
  })
})
