import { describe, expect, it } from 'vitest'
import { filterQuery, listQuery, parseFilter, parseListQuery, resolveTime } from './filters'

describe('filter flags', () => {
  it('maps the flags to the REST parameters', () => {
    const q = parseListQuery({ type: ['tool_call', 'policy_decision'], server: 'gh', session: 's1', status: ['error'], intentType: 'write', sensitive: true, search: 'foo', limit: '10', offset: '5' })
    expect(listQuery(q)).toMatchObject({ type: ['tool_call', 'policy_decision'], server: 'gh', session_id: 's1', status: ['error'], intent_type: 'write', sensitive: 'true', q: 'foo', limit: 10, offset: 5 })
    // the filter routes (count, export, report, delete) declare no paging parameters: a list query's are left out
    expect(Object.keys(filterQuery(q)).filter((k) => filterQuery(q)[k] !== undefined).sort()).toEqual(['intent_type', 'q', 'sensitive', 'server', 'session_id', 'status', 'type'])
  })
  it('rejects bad values as usage errors naming the flag', () => {
    expect(() => parseListQuery({ limit: '500' })).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^--limit/) }))
    expect(() => parseFilter({ type: ['nope'] })).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^--type/) }))
    expect(() => parseFilter({ startTime: 'yesterday' })).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^--start-time: must be an RFC 3339 time/) }))
    // the error offers both forms --help does
    expect(() => parseFilter({ endTime: 'yesterday' })).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^--end-time: .*RFC 3339 .*or relative: 30m, 2h, 7d/) }))
  })
  it('accepts relative times', () => {
    expect(resolveTime('2h', new Date('2025-01-01T12:00:00Z'))).toBe('2025-01-01T10:00:00.000Z')
    expect(resolveTime('2025-01-01T00:00:00Z')).toBe('2025-01-01T00:00:00Z')
  })
})
