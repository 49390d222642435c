import { describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../shared/activity'
import { findRecord, type ActivityBackend } from './activity-backend'
import { CliError } from './errors'

process.env.NO_COLOR = '1'

// two made in the same millisecond (monotonic: they differ at the end), one a minute later
const ids = ['01KAB3C5D0AAAAAAAAAAAAAAA1', '01KAB3C5D0AAAAAAAAAAAAAAA2', '01KAB3DZZ0BBBBBBBBBBBBBBBB']

function fakeBackend(): ActivityBackend {
  const records: ActivityRecord[] = ids.map((id, i) => ({ id, type: 'tool_call', timestamp: '2025-12-20T10:32:15.000Z', status: 'success', server_name: 'github', tool_name: `t${i}` }))
  return {
    get: async (id: string) => {
      const r = records.find((x) => x.id === id)
      if (!r) throw new CliError(`no activity record ${id}`, { code: 'NOT_FOUND', status: 404 })
      return r
    },
    // chunks cut mid-line, as a stream delivers them
    async *export() {
      const text = records.map((r) => JSON.stringify(r) + '\n').join('')
      for (let i = 0; i < text.length; i += 37) yield Buffer.from(text.slice(i, i + 37))
    },
  } as unknown as ActivityBackend
}

describe('findRecord', () => {
  it('finds a record by its id, or by a unique end (the ID column) or start, in any case', async () => {
    const b = fakeBackend()
    expect((await findRecord(b, ids[1]!)).id).toBe(ids[1])
    expect((await findRecord(b, ids[0]!.slice(-8))).id).toBe(ids[0])
    expect((await findRecord(b, 'bbbbbbbb')).id).toBe(ids[2])
    expect((await findRecord(b, '01KAB3DZ')).id).toBe(ids[2])
  })

  it('refuses an ambiguous part, listing the candidates, and says not found for none', async () => {
    const b = fakeBackend()
    const ambiguous = await findRecord(b, '01KAB3C5D0').catch((e: CliError) => e)
    expect(ambiguous).toMatchObject({ code: 'AMBIGUOUS', exitCode: 1 })
    expect((ambiguous as CliError).message).toMatch(/^activity id 01KAB3C5D0 is ambiguous: it starts or ends 2 ids/)
    expect((ambiguous as CliError).message).toContain(`  ${ids[0]}  `)
    expect((ambiguous as CliError).message).toContain(`  ${ids[1]}  `)
    expect((ambiguous as CliError).message).not.toContain(ids[2])
    await expect(findRecord(b, 'NOPE')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no activity record NOPE' })
  })
})
