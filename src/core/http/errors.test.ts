import { existsSync, writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CoreError, isDiskFull } from '../errors'
import { silentLogger } from '../logger'
import { describeValidationIssue, installErrorHandlers, redactUrl } from './errors'

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
    expect(describe1(q, { limit: '1.5' })).toBe('limit: must be an integer')
    // a list parameter is named as the user wrote it, not by its item's index
    expect(describe1(z.object({ status: z.array(z.enum(['ok', 'error'])) }), { status: ['ok', 'bogus'] })).toBe('status: must be one of ok, error')
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
    // the name as the query parser decodes it
    expect(redactUrl('/api/v1/status?api%6Bey=secret&x=1')).toBe('/api/v1/status?api%6Bey=***&x=1')
    expect(redactUrl('/x?%ZZ=1&apikey=secret')).toBe('/x?%ZZ=1&apikey=***')
    expect(redactUrl('/x?a=1')).toBe('/x?a=1')
  })
})

describe('a full disk', () => {
  const sqliteFull = (): Error => {
    const db = new Database(':memory:')
    try {
      db.exec('CREATE TABLE t (x TEXT)')
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`)
      db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(20_000))
    } catch (err) {
      return err as Error
    } finally {
      db.close()
    }
    throw new Error('expected SQLITE_FULL')
  }
  const enospc = (): Error => {
    try {
      writeFileSync('/dev/full', 'x')
    } catch (err) {
      return err as Error
    }
    throw new Error('expected ENOSPC')
  }
  const ioErr = Object.assign(new Error('disk I/O error: write failed: ENOSPC'), { code: 'SQLITE_IOERR_WRITE' })

  it('is told apart from other failures', () => {
    expect(isDiskFull(sqliteFull())).toBe(true)
    expect(isDiskFull(ioErr)).toBe(true)
    expect(isDiskFull(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(false)
    expect(isDiskFull(Object.assign(new Error('locked'), { code: 'SQLITE_BUSY' }))).toBe(false)
    expect(isDiskFull(new CoreError('DISK_FULL', 'x'))).toBe(true)
    expect(isDiskFull(new CoreError('DB_ERROR', 'x'))).toBe(false)
    expect(isDiskFull(undefined)).toBe(false)
  })

  it('answers 507 DISK_FULL saying that nothing was written; our own bugs stay a 500', async () => {
    const errors: Record<string, Error> = { sqlite: sqliteFull(), ioerr: ioErr, bug: new TypeError('x is undefined') }
    if (existsSync('/dev/full')) errors.enospc = enospc()
    const app = Fastify()
    installErrorHandlers(app, silentLogger)
    app.get('/:kind', (req) => {
      throw errors[(req.params as { kind: string }).kind]
    })
    try {
      for (const [kind, code] of [['sqlite', 'SQLITE_FULL'], ['ioerr', 'SQLITE_IOERR_WRITE'], ...(errors.enospc ? [['enospc', 'ENOSPC']] : [])]) {
        const r = await app.inject({ method: 'GET', url: `/${kind}` })
        expect(r.statusCode, kind).toBe(507)
        expect(r.json(), kind).toEqual({
          code: 'DISK_FULL',
          error: `the disk is full (${code}): the change was not written, and everything stored before it is kept; free some disk space and try again`,
        })
      }
      const bug = await app.inject({ method: 'GET', url: '/bug' })
      expect([bug.statusCode, bug.json()]).toEqual([500, { code: 'INTERNAL', error: 'internal error' }])
    } finally {
      await app.close()
    }
  })
})
