import { encodeTime } from 'ulid'
import { describe, expect, it } from 'vitest'
import { buildWhere, ftsQuery, isEmptyFilter } from './filter-sql'

describe('buildWhere', () => {
  it('is `1` with no parameters for an empty filter', () => {
    expect(buildWhere({})).toEqual({ sql: '1', params: [] })
    expect(isEmptyFilter({ type: [] })).toBe(true)
    expect(isEmptyFilter({ sensitive: false })).toBe(false)
  })

  it('binds every value and uses fixed column names', () => {
    const w = buildWhere({
      type: ['tool_call', 'policy_decision'],
      status: ['error'],
      server: "x' OR 1=1 --",
      tool: 't',
      session_id: 's',
      intent_type: 'write',
      sensitive: true,
    })
    expect(w.sql).toBe(
      'type IN (?, ?) AND status = ? AND server_name = ? AND tool_name = ? AND session_id = ? AND intent_type = ? AND sensitive = 1',
    )
    expect(w.params).toEqual(['tool_call', 'policy_decision', 'error', "x' OR 1=1 --", 't', 's', 'write'])
  })

  it('turns times into ULID bounds of the same millisecond', () => {
    const start = '2026-01-10T12:00:00.000Z'
    const end = '2026-01-10T13:00:00.000+01:00'
    const w = buildWhere({ start_time: start, end_time: end })
    expect(w.sql).toBe('id >= ? AND id <= ?')
    expect(w.params).toEqual([encodeTime(Date.parse(start)) + '0'.repeat(16), encodeTime(Date.parse(start)) + 'Z'.repeat(16)])
  })

  it('rejects a time that does not parse, naming the parameter', () => {
    expect(() => buildWhere({ end_time: 'tomorrow' })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER', details: { parameter: 'end_time' } }),
    )
  })
})

describe('ftsQuery', () => {
  it('quotes each token, ANDs them, and makes only the last one a prefix', () => {
    expect(ftsQuery('read_file  config.yaml')).toBe('"read_file" AND "config.yaml"*')
    expect(ftsQuery('NEAR(a b) OR c*')).toBe('"NEAR" AND "a" AND "b" AND "OR" AND "c"*')
    expect(ftsQuery('"quoted" -x-')).toBe('"quoted" AND "x"*')
    expect(ftsQuery('Müller 東京')).toBe('"Müller" AND "東京"*')
    expect(ftsQuery('invoi')).toBe('"invoi"*')
  })

  it('rejects text with nothing to search for', () => {
    expect(() => ftsQuery(' *"()^ ')).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER', details: { parameter: 'q' } }))
  })
})
