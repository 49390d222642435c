import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityFilter, ActivityRecord } from '../../shared/activity'
import { openDb, type Db } from '../store/db'
import { appendRecords } from './append'
import { buildWhere, ftsQuery } from './filter-sql'
import { createFtsMatcher, type FtsMatcher } from './fts-match'
import { createActivityQueries, Q_EXACT_TOTAL } from './query'

const T0 = Date.UTC(2026, 2, 1)
const MIN = 60_000

let dir: string
let db: Db
let written = 0

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fts-match-'))
  db = openDb(join(dir, 'a.db'))
  written = 0
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** One tool call per text (in its arguments), a minute apart, on servers a and b in turn. */
function add(texts: string[], fields: Partial<ActivityRecord> = {}): string[] {
  const records = texts.map((text): ActivityRecord => {
    const at = T0 + written * MIN
    const server = written++ % 2 ? 'b' : 'a'
    return { id: ulid(at), timestamp: new Date(at).toISOString(), type: 'tool_call', status: 'success', server_name: server, arguments: { text }, ...fields }
  })
  appendRecords(db, records)
  return records.map((r) => r.id)
}

/** The rowids an FTS5 expression matches, ascending. */
const matched = (expression: string): number[] =>
  db.prepare('SELECT rowid FROM activity_fts WHERE activity_fts MATCH ? ORDER BY rowid').pluck().all(expression) as number[]

/** What list must return: the matches of the plain prefix query (ftsQuery) by id, newest first. */
function expected(filter: ActivityFilter, limit: number): string[] {
  const w = buildWhere(filter)
  return db.prepare(`SELECT id FROM activity WHERE ${w.sql} ORDER BY id DESC LIMIT ?`).pluck().all(...w.params, limit) as string[]
}

describe('createFtsMatcher', () => {
  /** `invoice` and `invoices` are frequent (3 records each) with frequentTermDocs 3. */
  const seedInvoices = (): void => {
    add(['invoice', 'invoice', 'invoice x', 'invoices', 'invoices', 'invoices', 'invoice-1.md', 'see /x/invoice-2.md'])
    add(['invoiced', 'invoicesx', 'invoicf', 'invoic', 'INVOICE-3.MD', 'quarterly invoiced'])
  }

  it('expands the last word into the word itself, its frequent longer tokens and prefixes of the rare ones', () => {
    seedInvoices()
    const match = createFtsMatcher(db, { frequentTermDocs: 3 })
    expect(match('invoice')).toBe('("invoice" OR "invoice-"* OR "invoiced"* OR "invoices" OR "invoicesx"*)')
    expect(matched(match('invoice'))).toEqual(matched(ftsQuery('invoice')))
    expect(matched(match('invoice'))).toHaveLength(12)
    // a rare longer token makes a prefix of the group it starts, whatever its length
    expect(match('invoices')).toBe('("invoices" OR "invoicesx"*)')
    expect(match('invoice-')).toBe('("invoice" OR "invoice-"* OR "invoiced"* OR "invoices" OR "invoicesx"*)')
    // by default (2000 records) no token here is frequent: `invoices` and `invoicesx` are one prefix
    expect(createFtsMatcher(db)('invoice')).toBe('("invoice" OR "invoice-"* OR "invoiced"* OR "invoices"*)')
  })

  it('gives the exact word alone when no longer token starts with it, matching nothing when it is not indexed either', () => {
    seedInvoices()
    const match = createFtsMatcher(db)
    expect(match('invoicf')).toBe('"invoicf"')
    expect(matched(match('invoicf'))).toHaveLength(1)
    expect(match('zebra')).toBe('"zebra"')
    expect(matched(match('zebra'))).toEqual([])
    expect(match('inv')).toBe('("inv" OR "invo"*)')
    expect(matched(match('inv'))).toEqual(matched(ftsQuery('inv')))
  })

  it('keeps one-letter prefixes, non-ASCII words and oversized expansions as plain prefix terms', () => {
    seedInvoices()
    add(['Müller', 'invoice東京'])
    const match = createFtsMatcher(db, { frequentTermDocs: 3, maxTerms: 3 })
    expect(match('i')).toBe('"i"*')
    expect(match('Müll')).toBe('"Müll"*')
    // the Kelvin sign lowercases to an ASCII k in JS: still left to the tokenizer
    expect(match('\u212Aiwi')).toBe('"\u212Aiwi"*')
    expect(matched(match('Müll'))).toHaveLength(1)
    // five terms are needed, three allowed
    expect(match('invoice')).toBe('"invoice"*')
    // an indexed token that is not plain ASCII in the range: the tokenizer's folding is not redone here
    expect(createFtsMatcher(db, { frequentTermDocs: 3 })('invoices')).toBe('("invoices" OR "invoicesx"*)')
    expect(createFtsMatcher(db, { frequentTermDocs: 3 })('invoice')).toBe('"invoice"*')
    expect(matched(ftsQuery('invoice'))).toHaveLength(13)
  })

  it('folds the case of the last word, leaves the earlier words exact and never reads the text as FTS syntax', () => {
    seedInvoices()
    const match = createFtsMatcher(db, { frequentTermDocs: 3 })
    expect(match('Quarterly INVOICED')).toBe('"Quarterly" AND "invoiced"')
    expect(matched(match('Quarterly INVOICED'))).toEqual(matched(ftsQuery('Quarterly INVOICED')))
    expect(matched(match('quarterly inv'))).toHaveLength(1)
    expect(match('x OR "NEAR(invoice')).toBe('"x" AND "OR" AND "NEAR" AND ("invoice" OR "invoice-"* OR "invoiced"* OR "invoices" OR "invoicesx"*)')
    expect(matched(match('x" invoice'))).toEqual(matched(ftsQuery('x" invoice')))
    expect(() => match('*"()')).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER', details: { parameter: 'q' } }))
  })

  it('matches what the plain prefix query matches for every prefix of every token', () => {
    // tokens over a small alphabet so that prefixes share long runs of tokens, some frequent
    let seed = 7
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
      return seed % n
    }
    const alphabet = 'ab1-._'
    const tokens = Array.from({ length: 60 }, () => 'a' + Array.from({ length: 1 + rand(5) }, () => alphabet[rand(alphabet.length)]).join(''))
      .map((t) => t.replace(/[-.]+$/, ''))
    add(Array.from({ length: 400 }, () => Array.from({ length: 1 + rand(3) }, () => tokens[rand(rand(2) ? 8 : tokens.length)]).join(' ')))
    const matchers: FtsMatcher[] = [
      createFtsMatcher(db, { frequentTermDocs: 5, maxTerms: 6 }),
      createFtsMatcher(db, { frequentTermDocs: 40 }),
      createFtsMatcher(db),
    ]
    const prefixes = new Set(tokens.flatMap((t) => Array.from({ length: t.length }, (_, i) => t.slice(0, i + 1))))
    let expanded = 0
    for (const prefix of prefixes) {
      for (const q of [prefix, `${tokens[0]} ${prefix}`]) {
        const want = matched(ftsQuery(q))
        for (const match of matchers) {
          const expression = match(q)
          if (expression !== ftsQuery(q)) expanded++
          expect(matched(expression), `${q} -> ${expression}`).toEqual(want)
        }
      }
    }
    expect(expanded).toBeGreaterThan(prefixes.size)
  })

  it('probes the vocabulary by a term range (EXPLAIN QUERY PLAN)', () => {
    seedInvoices()
    createFtsMatcher(db)('invoice')
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT term, doc FROM temp.activity_fts_terms WHERE term >= ? AND term < ? LIMIT 1')
      .all('invoice\0', 'invoicf') as Array<{ detail: string }>
    expect(plan).toHaveLength(1)
    const index = /^SCAN (?:temp\.)?activity_fts_terms VIRTUAL TABLE INDEX (\d+):/.exec(plan[0]!.detail)
    expect(index, plan[0]!.detail).not.toBeNull()
    // fts5vocab's idxNum: 0x200 = a lower bound on term, 0x400 = an upper bound
    expect(Number(index![1]) & 0x600).toBe(0x600)
  })
})

describe('list and count under an expanded q', () => {
  const seed = (): void => {
    // older records first; `deploy` is frequent, the paths give many rare tokens
    for (let i = 0; i < 6; i++) {
      add(Array.from({ length: 20 }, (_, k) => (k % 3 ? `deploy /srv/deploy-${i}${k}.log` : k % 2 ? 'deployment' : 'staging')))
    }
    add(['deploy failed'], { status: 'error' })
    add(['deploy-x.sh failed'], { status: 'error', server_name: 'c' })
  }
  const queries = (): ReturnType<typeof createActivityQueries> => createActivityQueries(db, { fts: { frequentTermDocs: 10 } })

  it('lists the same pages as the plain prefix query, alone and with every other filter, and pages on by cursor', () => {
    seed()
    const q = queries()
    const filters: ActivityFilter[] = [
      { q: 'deploy' },
      { q: 'deplo' },
      { q: 'de' },
      { q: 'd' },
      { q: 'failed deploy' },
      { q: 'deploy', server: 'a' },
      { q: 'deploy', status: ['error'] },
      { q: 'deploy', status: ['error', 'success'], type: ['tool_call', 'policy_decision'] },
      { q: 'deploy', start_time: new Date(T0 + 30 * MIN).toISOString(), end_time: new Date(T0 + 90 * MIN).toISOString() },
      { q: 'srv', sensitive: false },
      { q: 'staging' },
      { q: 'STAGING', server: 'b' },
      { q: 'nothing-here' },
    ]
    for (const filter of filters) {
      const label = JSON.stringify(filter)
      const all = expected(filter, 1000)
      const first = q.list(filter, { limit: 7, offset: 0 })
      expect(first.activities.map((r) => r.id), label).toEqual(all.slice(0, 7))
      expect(first.total, label).toBe(all.length)
      expect(first.total_estimated, label).toBeUndefined()
      expect(q.count(filter), label).toBe(all.length)
      const seen = first.activities.map((r) => r.id)
      let cursor = first.next_cursor
      while (cursor) {
        const page = q.list(filter, { limit: 7, offset: 0, cursor })
        expect(page.total, label).toBe(all.length)
        seen.push(...page.activities.map((r) => r.id))
        cursor = page.next_cursor
      }
      expect(seen, label).toEqual(all)
      expect(q.list(filter, { limit: 5, offset: 3 }).activities.map((r) => r.id), label).toEqual(all.slice(3, 8))
    }
    expect(expected({ q: 'deploy' }, 1000).length).toBeGreaterThan(90)
  })

  it('still expands after the first search rolled back (its temp vocabulary table with it)', () => {
    seed()
    const q = queries()
    // the bad cursor is only read after q was expanded, inside list's read transaction
    expect(() => q.list({ q: 'deploy' }, { limit: 5, offset: 0, cursor: 'bm90LWEtY3Vyc29y' })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER', details: { parameter: 'cursor' } }),
    )
    expect(() =>
      db.transaction(() => {
        q.count({ q: 'staging' })
        throw new Error('the caller gave up')
      })(),
    ).toThrow('the caller gave up')
    expect(q.list({ q: 'deploy' }, { limit: 5, offset: 0 }).activities.map((r) => r.id)).toEqual(expected({ q: 'deploy' }, 5))
    expect(q.count({ q: 'deplo' })).toBe(expected({ q: 'deplo' }, 1000).length)
  })

  it('answers while the caller is stepping a statement of its own on the same connection', () => {
    seed()
    const steps = (): IterableIterator<unknown> => db.prepare('SELECT id FROM activity').iterate()
    const fresh = queries()
    // before the vocabulary table exists (it cannot be created now): the plain prefix query
    let open = steps()
    open.next()
    expect(fresh.list({ q: 'deploy' }, { limit: 5, offset: 0 }).activities.map((r) => r.id)).toEqual(expected({ q: 'deploy' }, 5))
    open.return?.()
    expect(fresh.count({ q: 'deploy' })).toBe(expected({ q: 'deploy' }, 1000).length)
    // and once it exists: expanded, without the read transaction
    open = steps()
    open.next()
    expect(fresh.list({ q: 'deploy' }, { limit: 5, offset: 0 }).activities.map((r) => r.id)).toEqual(expected({ q: 'deploy' }, 5))
    expect(fresh.count({ q: 'deplo', server: 'a' })).toBe(expected({ q: 'deplo', server: 'a' }, 1000).length)
    open.return?.()
  })

  it('finds a record written after the first search with a token the vocabulary did not have', () => {
    seed()
    const q = queries()
    const before = q.list({ q: 'deploy' }, { limit: 3, offset: 0 })
    const [id] = add(['deployz-new.txt'])
    const after = q.list({ q: 'deploy' }, { limit: 3, offset: 0 })
    expect(after.activities[0]!.id).toBe(id)
    expect(after.total).toBe(before.total + 1)
  })

  it(`counts more than ${Q_EXACT_TOTAL} matches of an expanded prefix as an estimate, saying so, with the right first page`, () => {
    const n = Q_EXACT_TOTAL + 400
    for (let start = 0; start < n; start += 2500) {
      add(Array.from({ length: Math.min(2500, n - start) }, (_, k) => ((start + k) % 4 ? `walnut-${(start + k) % 50}` : 'walnuts')))
    }
    const q = createActivityQueries(db, { fts: { frequentTermDocs: n / 8 } })
    expect(createFtsMatcher(db, { frequentTermDocs: n / 8 })('walnut')).toBe('("walnut" OR "walnut-"* OR "walnuts")')
    const page = q.list({ q: 'walnut' }, { limit: 50, offset: 0 })
    expect(page.activities.map((r) => r.id)).toEqual(expected({ q: 'walnut' }, 50))
    expect(page.total_estimated).toBe(true)
    expect(Math.abs(page.total - n) / n).toBeLessThan(0.05)
    expect(q.count({ q: 'walnut' })).toBe(n)
    const few = q.list({ q: 'walnut', server: 'a' }, { limit: 50, offset: 0 })
    expect(few.total).toBe(n / 2)
    expect(few.total_estimated).toBeUndefined()
  })

  it('matches rare prefix terms against the newest records only, with the first page of the plain prefix query', () => {
    const n = Q_EXACT_TOTAL * 2 + 800
    add(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'walnut shell' : i % 3 === 0 ? `walnut-${i % 400}.md shell` : 'pecan shell')))
    // the newest matches hold only rare tokens: the lazy part alone would miss them
    const rareOnly = add(['walnut-newest.md', 'pecan', 'walnut-newer.md shell', 'shell walnut-new.md'])
    const q = createActivityQueries(db, { fts: { frequentTermDocs: 1000 } })
    const total = (query: string): number => q.count({ q: query })
    for (const query of ['walnut', 'shell walnut']) {
      const page = q.list({ q: query }, { limit: 50, offset: 0 })
      expect(page.activities.map((r) => r.id), query).toEqual(expected({ q: query }, 50))
      expect(page.total_estimated).toBe(true)
      expect(Math.abs(page.total - total(query)) / total(query)).toBeLessThan(0.1)
    }
    expect(q.list({ q: 'walnut' }, { limit: 3, offset: 0 }).activities.map((r) => r.id)).toEqual([rareOnly[3], rareOnly[2], rareOnly[0]])
    expect(q.list({ q: 'shell walnut' }, { limit: 2, offset: 0 }).activities.map((r) => r.id)).toEqual([rareOnly[3], rareOnly[2]])
    // the newest records were indexed again on the side, nothing merged the rare terms over the whole index
    expect(db.prepare("SELECT count(*) FROM temp.sqlite_schema WHERE name = 'activity_fts_window'").pluck().get()).toBe(1)
  })

  it('reads the first page with a limit, and counts exact terms apart, newest first (EXPLAIN QUERY PLAN)', () => {
    seed()
    const newestFirst = 'SELECT rowid FROM activity_fts WHERE activity_fts MATCH ? ORDER BY rowid DESC LIMIT ?'
    const counted = 'SELECT count(*) AS n, min(r) AS low FROM (SELECT rowid AS r FROM activity_fts WHERE activity_fts MATCH ? ORDER BY rowid DESC LIMIT ?)'
    const planOf = (sql: string, match: string): string[] =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(match, 10_001) as Array<{ detail: string }>).map((r) => r.detail)
    const match = createFtsMatcher(db)
    // one scan of the full-text index handing out rowids newest first itself (idxNum M): no sort
    expect(planOf(newestFirst, match('deploy'))).toEqual([expect.stringMatching(/^SCAN activity_fts VIRTUAL TABLE INDEX \d+:M/)])
    const count = planOf(counted, match('staging'))
    expect(count.some((l) => /^SCAN activity_fts VIRTUAL TABLE INDEX \d+:M/.test(l))).toBe(true)
    expect(count.join('\n')).not.toContain('TEMP B-TREE')
  })
})
