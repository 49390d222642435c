import { ulid } from 'ulid'
import { describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { prepareRecord, type PreparedRecord } from './append'
import { packRecords, unpackRecords } from './import-protocol'

const T0 = Date.UTC(2026, 6, 1)
const withoutCanonical = (p: PreparedRecord): PreparedRecord => ({ ...p, canonical: '' })

describe('packRecords', () => {
  it('gives back every value of every record, nulls, empty strings and numbers too', () => {
    const records: ActivityRecord[] = [
      { id: ulid(T0), type: 'tool_call', timestamp: new Date(T0).toISOString(), status: 'pending' },
      {
        id: ulid(T0 + 1),
        type: 'tool_call',
        timestamp: new Date(T0 + 1).toISOString(),
        status: 'error',
        server_name: '',
        tool_name: 'read_file',
        session_id: 's-1',
        request_id: '0',
        error: 'é \ud83d\ude00 \n',
        duration_ms: 0.1 + 0.2,
        intent: { operation_type: 'write', reason: 'because' },
        detection_types: ['jwt'],
        arguments: { path: '/x' },
        response: '',
      },
    ]
    const prepared = records.map((r) => prepareRecord(r).prepared)
    prepared[1]!.row.seq = 12
    prepared[1]!.row.prev_hash = 'a'.repeat(64)
    prepared[1]!.row.hash = 'b'.repeat(64)
    const packed = packRecords(prepared)
    expect(packed).not.toBeNull()
    expect(unpackRecords(packed!)).toEqual(prepared.map(withoutCanonical))
    expect(unpackRecords(packRecords([])!)).toEqual([])
  })

  it('refuses records holding its separator (they travel as they are)', () => {
    const r: ActivityRecord = { id: ulid(T0), type: 'tool_call', timestamp: new Date(T0).toISOString(), status: 'success', error: 'a\u0000b' }
    expect(packRecords([prepareRecord(r).prepared])).toBeNull()
  })
})
