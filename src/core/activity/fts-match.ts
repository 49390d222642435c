/**
 * Full-text MATCH expressions for q that FTS5 can read newest first without merging every
 * doclist under the last word's prefix.
 *
 * ftsQuery makes the last word a prefix term. FTS5 (without a prefix index) answers a prefix
 * term by merging the doclists of every indexed token it starts into one list before yielding
 * the first row: on a million records "invoice"* is 200,000 rowids of `invoice` plus a thousand
 * path tokens like `invoice-12.md`, 45 ms before the first row. The same matches are an OR of
 * the exact word, which FTS5 reads lazily, and of the longer tokens, found by probing the
 * fts5vocab table one group at a time: a token held by many records becomes an exact term of
 * its own (read lazily too), a group of rare ones stays a (small) prefix term.
 */
import type Database from 'better-sqlite3'
import type { Db } from '../store/db'
import { ftsQuery, ftsString, ftsWords } from './filter-sql'

/** A token held by at least this many records is searched as an exact term, never merged in a prefix. */
export const FTS_FREQUENT_TERM_DOCS = 2000
/** At most this many terms in one expansion; beyond it the plain prefix query is used. */
export const FTS_MAX_EXPANSION = 48
/** Prefixes shorter than this stay plain prefix terms (they start too many tokens to expand). */
export const FTS_MIN_EXPANDED_PREFIX = 2

/** Limits of an expansion (the FTS_* constants by default; tests choose small ones). */
export interface ExpansionLimits {
  frequentTermDocs?: number
  maxTerms?: number
}

/** Tokens whose indexed form is the same string: lowercase ASCII letters, digits and the token chars. */
const PLAIN_TOKEN = /^[a-z0-9_.-]+$/
/** Words the tokenizer folds to a plain token by lowercasing A-Z alone (JS lowercases more than that). */
const ASCII_WORD = /^[A-Za-z0-9_.-]+$/

/** The smallest string above every string that starts with `prefix` (an ASCII prefix). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
}

/**
 * The terms of an FTS5 OR that matches exactly the tokens starting with `prefix` (lowercase
 * ASCII, as indexed), or null when that takes more than FTS_MAX_EXPANSION terms or meets a
 * token that is not plain ASCII. `firstTermAtOrAfter(lo, hi)` gives the first indexed token in
 * [lo, hi) with the number of records holding it.
 */
export function expandPrefix(
  prefix: string,
  firstTermAtOrAfter: (lo: string, hi: string) => { term: string; doc: number } | undefined,
  limits: ExpansionLimits = {},
): string[] | null {
  const frequent = limits.frequentTermDocs ?? FTS_FREQUENT_TERM_DOCS
  const maxTerms = limits.maxTerms ?? FTS_MAX_EXPANSION
  const end = prefixEnd(prefix)
  // the prefix itself as an exact term: FTS5 reads it lazily, whatever its size
  const terms = [ftsString(prefix)]
  // everything below `lo` (and at or above `prefix`) is covered by `terms`
  let lo = prefix + '\0'
  for (;;) {
    const next = firstTermAtOrAfter(lo, end)
    if (!next) return terms
    const { term, doc } = next
    if (!PLAIN_TOKEN.test(term) || terms.length >= maxTerms) return null
    // the shortest prefix of `term` whose tokens all lie at or above `lo`: nothing lies in
    // [lo, term), so that prefix covers only tokens not covered yet
    let n = prefix.length + 1
    while (term.slice(0, n) < lo) n++
    const group = term.slice(0, n)
    if (doc >= frequent) {
      terms.push(ftsString(term))
      lo = term + '\0'
    } else {
      terms.push(ftsString(group) + '*')
      lo = prefixEnd(group)
    }
  }
}

/**
 * Returns q as an FTS5 MATCH expression with the same matches as ftsQuery(q) (which see);
 * `parts(q)` the same matches as two expressions, or null when its last word is not expanded.
 */
export interface FtsMatcher {
  (q: string): string
  parts(q: string): FtsParts | null
}

/** An expanded q split in two: the matches of `lazy` and of `rare` together are the matches of q. */
export interface FtsParts {
  /** the other words and the exact terms of the last word: FTS5 reads them newest first lazily */
  lazy: string
  /** the other words and the prefix terms of the last word, or null when there are none (merged before the first row) */
  rare: string | null
  /** the other words alone, or null when q is one word */
  others: string | null
}

/**
 * A matcher over `db`'s activity_fts: the last word's prefix is expanded (see expandPrefix)
 * when it is plain ASCII of at least FTS_MIN_EXPANDED_PREFIX characters. Reads the vocabulary
 * through a fts5vocab table in the connection's temp schema (nothing is written to the
 * database). Run the expansion and the query in one read transaction so that a token written
 * in between cannot be missed.
 */
export function createFtsMatcher(db: Db, limits: ExpansionLimits = {}): FtsMatcher {
  type Probe = Database.Statement<[string, string], { term: string; doc: number }>
  let probe: Probe | undefined
  const vocabulary = (): Probe | null => {
    if (probe === undefined) {
      try {
        db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.activity_fts_terms USING fts5vocab(main, 'activity_fts', 'row')")
        probe = db.prepare('SELECT term, doc FROM temp.activity_fts_terms WHERE term >= ? AND term < ? LIMIT 1')
      } catch {
        return null // (say the connection is busy stepping a statement) the plain prefix query is right too, only slower
      }
    }
    return probe
  }
  const firstTerm = (lo: string, hi: string): { term: string; doc: number } | undefined => {
    try {
      return vocabulary()!.get(lo, hi)
    } catch (err) {
      // a transaction that rolled back took the temp table it created with it: create it again
      probe = undefined
      const again = vocabulary()
      if (!again) throw err
      return again.get(lo, hi)
    }
  }
  const expandLast = (q: string): { others: string[]; terms: string[] } | null => {
    const words = ftsWords(q)
    const word = words[words.length - 1]!
    const last = word.toLowerCase()
    const expand = last.length >= FTS_MIN_EXPANDED_PREFIX && ASCII_WORD.test(word) && vocabulary() !== null
    const terms = expand ? expandPrefix(last, firstTerm, limits) : null
    return terms ? { others: words.slice(0, -1).map(ftsString), terms } : null
  }
  const join = (others: string[], terms: string[]): string =>
    [...others, terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`].join(' AND ')
  const matcher = (q: string): string => {
    const expanded = expandLast(q)
    return expanded ? join(expanded.others, expanded.terms) : ftsQuery(q)
  }
  matcher.parts = (q: string): FtsParts | null => {
    const expanded = expandLast(q)
    if (!expanded) return null
    const prefixes = expanded.terms.filter((t) => t.endsWith('*'))
    const exact = expanded.terms.filter((t) => !t.endsWith('*'))
    return {
      lazy: join(expanded.others, exact),
      rare: prefixes.length ? join(expanded.others, prefixes) : null,
      others: expanded.others.length ? expanded.others.join(' AND ') : null,
    }
  }
  return matcher
}
