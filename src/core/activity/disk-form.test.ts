import { describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { toDiskForm } from './disk-form'
import { DEFAULT_ACTIVITY_SETTINGS } from './types'

const settings = { ...DEFAULT_ACTIVITY_SETTINGS, maxResponseSize: 100 }
const base: ActivityRecord = { id: '01JAAAAAAAAAAAAAAAAAAAAAAA', type: 'tool_call', timestamp: '2026-01-01T00:00:00.000Z', status: 'success' }

describe('toDiskForm', () => {
  it('cuts a response over the limit to a preview of the serialized JSON, keeping its original size', () => {
    const out = toDiskForm({ ...base, response: { text: 'é'.repeat(200) } }, settings)
    expect(out.response_truncated).toBe(true)
    expect(typeof out.response).toBe('string')
    expect(Buffer.byteLength(out.response as string)).toBeLessThanOrEqual(100)
    expect((out.response as string).startsWith('{"text":"éé')).toBe(true)
    expect(out.response_bytes).toBe(Buffer.byteLength(JSON.stringify({ text: 'é'.repeat(200) })))
  })

  it('leaves a preview cut before (an imported record) as it is, instead of serializing it again', () => {
    const once = toDiskForm({ ...base, response: { text: 'x'.repeat(500) } }, settings)
    const again = toDiskForm(once, settings)
    expect(again.response).toBe(once.response)
    expect(again.response_bytes).toBe(once.response_bytes)
    // a longer preview from a store with a higher limit is cut as text, not re-encoded
    const wider = toDiskForm({ ...base, response: 'z'.repeat(300), response_truncated: true, response_bytes: 5000 }, settings)
    expect(wider).toMatchObject({ response: 'z'.repeat(100), response_truncated: true, response_bytes: 5000 })
  })

  it('masks secrets and drops bodies in metadata-only mode, measuring them first', () => {
    const token = 'ghp_' + 'a1B2c3D4e5'.repeat(3) + 'XyZ123'
    const masked = toDiskForm({ ...base, arguments: { token } }, settings)
    expect(JSON.stringify(masked)).not.toContain(token)
    expect(masked.detection_types).toContain('github_token')
    const bare = toDiskForm({ ...base, arguments: { q: 'a' }, response: 'r' }, { ...settings, metadataOnly: true })
    expect(bare.arguments).toBeUndefined()
    expect(bare.response).toBeUndefined()
    expect(bare).toMatchObject({ request_bytes: 9, response_bytes: 3 })
  })

  it('keeps a record whose redaction fails, without its bodies, and says so', () => {
    const failures: string[] = []
    const out = toDiskForm({ ...base, arguments: { a: 1 }, error: 'boom' }, settings, {
      redact: () => {
        throw new Error('scanner broke')
      },
      onRedactionFailed: (id, err) => failures.push(`${id}: ${err.message}`),
    })
    expect(out.arguments).toBeUndefined()
    expect(out.error).toBe('[REDACTED:redaction_failed]')
    expect(out.flags).toContain('redaction_failed')
    expect(failures).toEqual([`${base.id}: scanner broke`])
  })
})
