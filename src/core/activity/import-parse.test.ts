import { ulid } from 'ulid'
import { describe, expect, it } from 'vitest'
import { ActivityRecordSchema, ClientSchema, IntentSchema, PolicyDecisionSchema } from '../../shared/activity'
import { checkRecord, parseItems, RECORD_CHECKS } from './import-parse'
import { DEFAULT_ACTIVITY_SETTINGS } from './types'

const T0 = Date.UTC(2026, 5, 1)
const base = {
  id: ulid(T0),
  type: 'tool_call',
  timestamp: new Date(T0).toISOString(),
  status: 'success',
}

/** Records zod accepts or refuses, each differing from a valid one in one way. */
const SAMPLES: unknown[] = [
  base,
  { ...base, server_name: 'github', tool_name: 'search', session_id: 's', request_id: '7', error: 'x', trace_id: 't', span_id: 'u' },
  { ...base, arguments: { q: 1, nested: [{ b: 1, a: null }] }, response: 'text', response_truncated: true, duration_ms: 1.5 },
  { ...base, arguments: null, response: [1, 'x'] },
  { ...base, request_bytes: 10, response_bytes: 0, request_tokens: 3, response_tokens: -2, risk_score: 0.25 },
  { ...base, client: { name: 'Cursor', version: '1', pid: 42, exe: '/bin/c', extra: 1 }, extra: true },
  { ...base, intent: { operation_type: 'write', data_sensitivity: 'private', reversible: false, reason: 'r', other: 2 } },
  { ...base, intent: {} },
  { ...base, policy: { decision: 'deny', rule: 'r', reason: 'why', more: 1 } },
  { ...base, flags: ['a'], detection_types: [], pii_detected: ['email'], entities: ['x'], metadata: { any: [1, { x: 2 }] } },
  { ...base, prev_hash: 'p', hash: 'h' },
  null,
  [],
  'record',
  { ...base, id: 7 },
  { type: 'tool_call', timestamp: base.timestamp, status: 'success' },
  { ...base, type: 'nope' },
  { ...base, status: 'Success' },
  { ...base, timestamp: null },
  { ...base, server_name: null },
  { ...base, server_name: 5 },
  { ...base, response_truncated: 'yes' },
  { ...base, request_bytes: 1.5 },
  { ...base, response_tokens: 2 ** 60 },
  { ...base, duration_ms: '5' },
  { ...base, duration_ms: JSON.parse('1e999') as number },
  { ...base, client: 'Cursor' },
  { ...base, client: { pid: 1.5 } },
  { ...base, client: [] },
  { ...base, intent: { operation_type: 'delete' } },
  { ...base, intent: { data_sensitivity: 'secret' } },
  { ...base, intent: { reversible: 1 } },
  { ...base, intent: { reason: 'x'.repeat(2000) } },
  { ...base, intent: { reason: 'x'.repeat(2001) } },
  { ...base, policy: {} },
  { ...base, policy: { decision: 'maybe' } },
  { ...base, policy: { decision: 'allow', rule: 3 } },
  { ...base, flags: 'a' },
  { ...base, detection_types: [1] },
  { ...base, pii_detected: [null] },
  { ...base, entities: {} },
  { ...base, metadata: [] },
  { ...base, metadata: 'x' },
  { ...base, metadata: null },
  { ...base, risk_score: null },
  { ...base, hash: 1 },
]

describe('checkRecord', () => {
  it('accepts exactly what ActivityRecordSchema accepts, and gives the same record, keys sorted', () => {
    for (const sample of SAMPLES) {
      const zod = ActivityRecordSchema.safeParse(sample)
      const hand = checkRecord(sample)
      if (zod.success) {
        expect(hand, JSON.stringify(sample)).toEqual(zod.data)
        const keys = Object.keys(hand as object)
        expect(keys).toEqual([...keys].sort())
      } else {
        expect(typeof hand, JSON.stringify(sample)).toBe('symbol')
      }
    }
  })

  it('checks every member the schemas have, nested ones too', () => {
    expect(Object.keys(RECORD_CHECKS).sort()).toEqual(Object.keys(ActivityRecordSchema.shape).sort())
    const full = {
      client: { name: 'c', version: '1', pid: 1, exe: 'e' },
      intent: { operation_type: 'read', data_sensitivity: 'public', reversible: true, reason: 'r' },
      policy: { decision: 'allow', rule: 'r', reason: 'r' },
    }
    const schemas = { client: ClientSchema, intent: IntentSchema, policy: PolicyDecisionSchema }
    const checked = checkRecord({ ...base, ...full }) as Record<keyof typeof full, object>
    for (const key of ['client', 'intent', 'policy'] as const) {
      expect(Object.keys(full[key]).sort()).toEqual(Object.keys(schemas[key].shape).sort())
      expect(checked[key]).toEqual(full[key])
    }
  })
})

describe('parseItems', () => {
  it("names a bad line's problem as zod does", () => {
    const lines = [{ ...base, status: 'bogus' }, { ...base, intent: { reason: 'x'.repeat(2001) } }, { ...base, metadata: [] }].map((r) => JSON.stringify(r))
    const { errors, records } = parseItems(lines, 10, DEFAULT_ACTIVITY_SETTINGS)
    expect(records).toHaveLength(0)
    expect(errors.map((e) => e.line)).toEqual([11, 12, 13])
    expect(errors[0]!.error).toMatch(/^status: /)
    expect(errors[1]!.error).toMatch(/^intent\.reason: /)
    expect(errors[2]!.error).toMatch(/^metadata: /)
  })
})
