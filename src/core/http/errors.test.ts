import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { describeValidationIssue, redactUrl } from './errors'

/** Runs a schema and describes its first issue the way the type provider hands it to us. */
function describe1(schema: z.ZodType, value: unknown, context = 'querystring'): string {
  const r = schema.safeParse(value)
  if (r.success) throw new Error('expected a failure')
  const { code, path, message, ...params } = r.error.issues[0]!
  return describeValidationIssue({ keyword: code, instancePath: `/${path.join('/')}`, message, params: params as Record<string, unknown> }, context)
}

describe('describeValidationIssue', () => {
  it('names the parameter and says what it must be', () => {
    const q = z.object({ limit: z.coerce.number().int().min(1).max(100), kind: z.enum(['a', 'b']).optional(), name: z.string().min(1).optional() })
    expect(describe1(q, { limit: '1000' })).toBe('limit: must be <= 100')
    expect(describe1(q, { limit: '0' })).toBe('limit: must be >= 1')
    expect(describe1(q, { limit: 'x' })).toBe('limit: must be a number')
    expect(describe1(q, { limit: 5, kind: 'c' })).toBe('kind: must be one of a, b')
    expect(describe1(q, { limit: 5, name: '' })).toBe('name: must not be empty')
  })
  it('names nested body fields by path and the body itself when it is the problem', () => {
    const b = z.object({ tools: z.array(z.string().min(1)) })
    expect(describe1(b, { tools: ['ok', ''] }, 'body')).toBe('tools.1: must not be empty')
    expect(describe1(b, 'text', 'body')).toBe('body: must be object')
  })
})

describe('redactUrl', () => {
  it('hides the api key in a logged URL', () => {
    expect(redactUrl('/events?types=a&apikey=secret&x=1')).toBe('/events?types=a&apikey=***&x=1')
    expect(redactUrl('/events?APIKEY=secret')).toBe('/events?APIKEY=***')
  })
})
