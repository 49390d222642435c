/**
 * The one place records join the hash chain. Every write (the writer's batches, import, the
 * deletion record) goes through one IMMEDIATE transaction that reads the chain head inside
 * the lock, so several processes appending to one database keep a single valid chain, and
 * moves the chain head anchor (chain_head, which verify compares the chain's end with) once.
 */
import type Database from 'better-sqlite3'
import type { ActivityCompletion, ActivityRecord } from '../../shared/activity'
import { CoreError } from '../errors'
import { withRiskScore } from '../security/risk'
import type { Db } from '../store/db'
import { CountDeltas, countStatements, type CountStatements } from './activity-counts'
import { thisWriter } from './writer-identity'
import { canonicalJson, canonicalJsonIfPlain, fromRows, GENESIS_HASH, linkHash, STORED_KEYS, toRows, type ActivityRow, type BodyRow } from './record-codec'

/** One step of a batch: a new record, or the completion of a pending one already on disk. */
export type BatchOp =
  | { kind: 'insert'; record: ActivityRecord }
  | { kind: 'complete'; id: string; completion: BatchCompletion }

/**
 * A completion as the writer hands it over (already redacted and truncated): detection_types
 * and pii_detected are merged with what the pending record already had.
 */
export type BatchCompletion = ActivityCompletion &
  Partial<Pick<ActivityRecord, 'response_truncated' | 'detection_types' | 'pii_detected'>>

export interface BatchResult {
  /** every record written, in write order (pending ones without seq/hash), as stored */
  inserted: ActivityRecord[]
  /** the seq of each inserted record (null for pending ones) */
  seqs: Array<number | null>
  /** inserts skipped because the id already existed (skipExisting) */
  skipped: number
  /** completions whose id was not a pending record on disk */
  missing: string[]
  /** the chain head after the batch */
  lastSeq: number
  /** the chain head before the batch (a gap to lastSeq of another view means another process wrote) */
  firstSeqBefore: number
}

export interface ChainHead {
  seq: number
  hash: string
}

type Stmt = Database.Statement<unknown[], unknown>

interface WriterStatements {
  registerWriter: Stmt
  pendingWriter: Stmt
  pendingDone: Stmt
}

interface Statements {
  headActivity: Stmt
  headTombstone: Stmt
  headCheckpoint: Stmt
  headAnchor: Stmt
  setAnchor: Stmt
  insertActivity: Stmt
  insertBody: Stmt
  insertFts: Stmt
  deleteFts: Stmt
  pendingById: Stmt
  /** prepared at the first pending record (a schema older than migration 6 has no such tables) */
  writers: () => WriterStatements
  finalize: Stmt
  upsertBody: Stmt
  counts: CountStatements
  run: (ops: readonly BatchOp[], skipExisting: boolean) => BatchResult
  runPrepared?: Database.Transaction<(list: readonly PreparedRecord[], skipExisting: boolean, skipDeleted: boolean) => PreparedResult>
  anyTombstone: Stmt
  tombstoneById: Stmt
}

const cache = new WeakMap<Db, Statements>()

const COLUMNS =
  'id, seq, ts, type, status, server_name, tool_name, session_id, request_id, intent_type, sensitive, duration_ms, error, meta, prev_hash, hash'

function statements(db: Db): Statements {
  let s = cache.get(db)
  if (s) return s
  const st = {
    headActivity: db.prepare('SELECT seq, hash FROM activity WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1'),
    headTombstone: db.prepare('SELECT seq, hash FROM activity_tombstone ORDER BY seq DESC LIMIT 1'),
    headCheckpoint: db.prepare('SELECT first_seq, prev_hash FROM chain_checkpoint ORDER BY id DESC LIMIT 1'),
    headAnchor: db.prepare('SELECT seq, hash FROM chain_head'),
    setAnchor: db.prepare('UPDATE chain_head SET seq = ?, hash = ?'),
    insertActivity: db.prepare(
      `INSERT INTO activity (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
    ),
    insertBody: db.prepare('INSERT OR REPLACE INTO activity_body (rid, arguments, response) VALUES (?, ?, ?)'),
    insertFts: db.prepare('INSERT INTO activity_fts (rowid, body) VALUES (?, ?)'),
    deleteFts: db.prepare('DELETE FROM activity_fts WHERE rowid = ?'),
    pendingById: db.prepare(
      `SELECT a.rid, ${COLUMNS.split(', ').map((c) => 'a.' + c).join(', ')}, b.arguments, b.response
       FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid WHERE a.id = ? AND a.seq IS NULL`,
    ),
    writers: once(() => ({
      registerWriter: db.prepare('INSERT OR IGNORE INTO activity_writer (id, pid, started, opened_at) VALUES (?, ?, ?, ?)'),
      pendingWriter: db.prepare('INSERT OR REPLACE INTO activity_pending_writer (rid, writer) VALUES (?, ?)'),
      pendingDone: db.prepare('DELETE FROM activity_pending_writer WHERE rid = ?'),
    })),
    finalize: db.prepare(
      `UPDATE activity SET seq = ?, ts = ?, type = ?, status = ?, server_name = ?, tool_name = ?, session_id = ?,
         request_id = ?, intent_type = ?, sensitive = ?, duration_ms = ?, error = ?, meta = ?, prev_hash = ?, hash = ?
       WHERE rid = ? AND seq IS NULL`,
    ),
    upsertBody: db.prepare('INSERT OR REPLACE INTO activity_body (rid, arguments, response) VALUES (?, ?, ?)'),
    anyTombstone: db.prepare('SELECT 1 FROM activity_tombstone LIMIT 1'),
    tombstoneById: db.prepare('SELECT 1 FROM activity_tombstone WHERE id = ?'),
    counts: countStatements(db),
  } as Omit<Statements, 'run'>
  const run = db.transaction((ops: readonly BatchOp[], skipExisting: boolean) => runBatch(st, ops, skipExisting))
  s = { ...st, run: (ops, skipExisting) => run.immediate(ops, skipExisting) }
  cache.set(db, s)
  return s
}

function once<T>(make: () => T): () => T {
  let value: T | undefined
  return () => (value ??= make())
}

/**
 * The chain head: the highest seq among live records, tombstones, the latest checkpoint and the
 * anchor (after a raw DELETE of the newest records, appends go on after the anchor, so the gap
 * stays visible to verify instead of being covered by the next record).
 */
export function readChainHead(db: Db): ChainHead {
  return headOf(statements(db))
}

function headOf(st: Omit<Statements, 'run'>): ChainHead {
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH }
  const a = st.headActivity.get() as { seq: number; hash: string } | undefined
  if (a) head = { seq: a.seq, hash: a.hash }
  const t = st.headTombstone.get() as { seq: number; hash: string } | undefined
  if (t && t.seq > head.seq) head = { seq: t.seq, hash: t.hash }
  const c = st.headCheckpoint.get() as { first_seq: number; prev_hash: string } | undefined
  if (c && c.first_seq - 1 > head.seq) head = { seq: c.first_seq - 1, hash: c.prev_hash }
  const anchor = st.headAnchor.get() as ChainHead | undefined
  if (anchor && anchor.seq > head.seq) head = { seq: anchor.seq, hash: anchor.hash }
  return head
}

/** Moves the anchor to `head` when records joined the chain after `before`. */
function moveAnchor(st: Omit<Statements, 'run'>, before: ChainHead, head: ChainHead): void {
  if (head.seq !== before.seq) st.setAnchor.run(head.seq, head.hash)
}

/** The text the full-text index holds for a record. */
export function ftsText(r: ActivityRecord, body: BodyRow): string {
  // a policy decision's reason and a change record's reason (quarantined: tool poisoning findings) are searched too
  const reason = typeof r.metadata?.reason === 'string' ? r.metadata.reason : undefined
  return [r.tool_name, r.server_name, body.arguments, body.response, r.error, r.intent?.reason, r.policy?.reason, reason].filter(Boolean).join('\n')
}

/** ftsText in SQL over a stored record (activity `a` LEFT JOIN activity_body `b`): the same tokens. */
export const FTS_TEXT_SQL =
  "concat_ws(char(10), a.tool_name, a.server_name, b.arguments, b.response, a.error, a.meta ->> '$.intent.reason', a.meta ->> '$.policy.reason', " +
  "CASE WHEN json_type(a.meta, '$.metadata.reason') = 'text' THEN a.meta ->> '$.metadata.reason' END)"

function normalizeTimestamp(r: ActivityRecord): string {
  const t = new Date(r.timestamp)
  if (Number.isNaN(t.getTime())) {
    throw new CoreError('INVALID_PARAMETER', `record ${r.id}: timestamp ${JSON.stringify(r.timestamp)} is not a valid time`)
  }
  return t.toISOString()
}

function rowParams(row: ActivityRow): unknown[] {
  return [
    row.id,
    row.seq,
    row.ts,
    row.type,
    row.status,
    row.server_name,
    row.tool_name,
    row.session_id,
    row.request_id,
    row.intent_type,
    row.sensitive,
    row.duration_ms,
    row.error,
    row.meta,
    row.prev_hash,
    row.hash,
  ]
}

const TEXT_COLUMNS = ['id', 'type', 'status', 'server_name', 'tool_name', 'session_id', 'request_id', 'intent_type', 'error'] as const

/** SQLite stores text as UTF-8 and mangles lone surrogates; store (and hash) U+FFFD instead. */
function wellFormed(row: ActivityRow): boolean {
  const text = row as unknown as Record<(typeof TEXT_COLUMNS)[number], string | null>
  let changed = false
  for (const k of TEXT_COLUMNS) {
    const v = text[k]
    // (the built-ins: a regular expression with lookbehind here cost more than the insert)
    if (v !== null && !v.isWellFormed()) {
      text[k] = v.toWellFormed()
      changed = true
    }
  }
  return changed
}

/**
 * A record made ready to join the chain, with everything but its place in it (seq, prev_hash,
 * hash). Pure, so it can be made on another thread (import parses and prepares on a worker).
 */
export interface PreparedRecord {
  /** the activity row (seq, prev_hash and hash null) */
  row: ActivityRow
  body: BodyRow
  /**
   * canonicalJson of the record exactly as fromRows rebuilds it from the rows: what its hash
   * covers ('' when pending, or when dropped after linking ahead: then rebuilt if needed)
   */
  canonical: string
  /** what the full-text index holds for it ('' = nothing) */
  fts: string
}

/**
 * Prepares a record: the hash will cover exactly what fromRows rebuilds from the rows (fields
 * the codec does not store cannot break verification later). Any prev_hash/hash given are ignored.
 */
export function prepareRecord(record: ActivityRecord): { prepared: PreparedRecord; stored: ActivityRecord } {
  const { prev_hash: _p, hash: _h, ...content } = record
  const { row, body } = toRows({ ...content, timestamp: normalizeTimestamp(record) } as ActivityRecord, null)
  wellFormed(row)
  const stored = fromRows(row, body)
  // a pending record joins the chain only when completed, as another record
  const canonical = row.status === 'pending' ? '' : canonicalJson(stored)
  return { prepared: { row, body, canonical, fts: ftsText(stored, body) }, stored }
}

/**
 * prepareRecord's result without the rows' round trip whenever that would change nothing: every
 * field one the rows keep and none null, well-formed text columns, and plain JSON data throughout
 * (undefined members are dropped by the rows and by canonicalJson alike), so that
 * fromRows(toRows(r)) is r with its timestamp normalized, less its undefined members. The
 * writer's records and import's parsed lines are such records; anything else takes prepareRecord.
 */
export function prepareRecordDirect(record: ActivityRecord): { prepared: PreparedRecord; stored: ActivityRecord } {
  const { prev_hash: _p, hash: _h, ...content } = record
  const fields = content as Record<string, unknown>
  for (const k in fields) if (!STORED_KEYS.has(k) || fields[k] === null) return prepareRecord(record)
  const stored = content as ActivityRecord
  stored.timestamp = normalizeTimestamp(record)
  const { row, body } = toRows(stored, null)
  if (wellFormed(row)) return prepareRecord(record)
  let canonical = ''
  if (row.status !== 'pending') {
    const plain = canonicalJsonIfPlain(stored)
    if (plain === undefined) return prepareRecord(record)
    canonical = plain
  }
  return { prepared: { row, body, canonical, fts: ftsText(stored, body) }, stored }
}

/**
 * Links prepared records in order after `head` ahead of their insert (on another thread): the
 * insert keeps a link whose prev_hash is the chain head it meets and redoes any other. Returns
 * the head after them.
 */
export function linkAhead(records: readonly PreparedRecord[], head: ChainHead): ChainHead {
  for (const p of records) {
    if (p.row.status !== 'pending') head = link(p, head)
  }
  return head
}

/** Gives a prepared, non-pending record the next place in the chain after `head`. */
function link(p: PreparedRecord, head: ChainHead): ChainHead {
  const row = p.row
  p.canonical ||= canonicalJson(fromRows({ ...row, prev_hash: null, hash: null }, p.body))
  row.seq = head.seq + 1
  row.prev_hash = head.hash
  row.hash = linkHash(head.hash, p.canonical)
  return { seq: row.seq, hash: row.hash }
}

/**
 * Inserts a prepared record, linking it after `head` unless it is pending. Returns its rid, or
 * null when its id exists (then nothing changed and the chain head stays where it was).
 */
function insertPrepared(st: Omit<Statements, 'run'>, p: PreparedRecord, head: ChainHead, counts: CountDeltas): number | null {
  if (p.row.status !== 'pending') {
    // a hash computed ahead (import's worker) is right when it was computed after this very head
    if (p.row.hash !== null && p.row.prev_hash === head.hash) p.row.seq = head.seq + 1
    else link(p, head)
  }
  const info = st.insertActivity.run(...rowParams(p.row))
  if (info.changes === 0) return null
  const rid = Number(info.lastInsertRowid)
  if (p.row.status === 'pending') {
    // which process wrote it: the orphan sweep completes it at once once that process is gone
    const w = st.writers()
    w.registerWriter.run(thisWriter.id, thisWriter.pid, thisWriter.started, new Date().toISOString())
    w.pendingWriter.run(rid, thisWriter.id)
  }
  counts.addRow(p.row, 1)
  st.insertBody.run(rid, p.body.arguments, p.body.response)
  if (p.fts) st.insertFts.run(rid, p.fts)
  return rid
}

function runBatch(st: Omit<Statements, 'run'>, ops: readonly BatchOp[], skipExisting: boolean): BatchResult {
  const before = headOf(st)
  let head = before
  const firstSeqBefore = head.seq
  const inserted: ActivityRecord[] = []
  const seqs: Array<number | null> = []
  const missing: string[] = []
  let skipped = 0
  const counts = new CountDeltas()
  for (const op of ops) {
    if (op.kind === 'insert') {
      const { prepared, stored } = prepareRecordDirect(op.record)
      if (insertPrepared(st, prepared, head, counts) === null) {
        if (!skipExisting) throw new CoreError('CONFLICT', `an activity record with id ${op.record.id} already exists`)
        skipped++
        continue
      }
      const row = prepared.row
      if (row.seq !== null) {
        head = { seq: row.seq, hash: row.hash! }
        stored.prev_hash = row.prev_hash!
        stored.hash = row.hash!
      }
      inserted.push(stored)
      seqs.push(row.seq)
    } else {
      const found = st.pendingById.get(op.id) as (ActivityRow & BodyRow & { rid: number }) | undefined
      if (!found) {
        missing.push(op.id)
        continue
      }
      const current = fromRows(found, found)
      const completion = { ...op.completion }
      if (completion.status === 'pending') throw new CoreError('INVALID_PARAMETER', `completion of ${op.id} must not be pending`)
      const merged = { ...current, ...completion } as ActivityRecord
      if (completion.metadata && current.metadata) merged.metadata = { ...current.metadata, ...completion.metadata }
      for (const k of ['detection_types', 'pii_detected'] as const) {
        const all = [...new Set([...(current[k] ?? []), ...(completion[k] ?? [])])]
        merged[k] = all.length ? all : undefined
      }
      // a call written pending is scored now that its response was scanned and its status is known
      // (the writer scores the others before the transaction); a score given is kept
      const { prepared, stored } = prepareRecordDirect(withRiskScore(merged))
      head = link(prepared, head)
      const p = rowParams(prepared.row)
      st.finalize.run(...p.slice(1), found.rid)
      st.writers().pendingDone.run(found.rid)
      counts.addRow(found, -1)
      counts.addRow(prepared.row, 1)
      st.upsertBody.run(found.rid, prepared.body.arguments, prepared.body.response)
      st.deleteFts.run(found.rid)
      if (prepared.fts) st.insertFts.run(found.rid, prepared.fts)
      stored.prev_hash = prepared.row.prev_hash!
      stored.hash = prepared.row.hash!
      inserted.push(stored)
      seqs.push(prepared.row.seq)
    }
  }
  counts.apply(st.counts)
  moveAnchor(st, before, head)
  return { inserted, seqs, skipped, missing, lastSeq: head.seq, firstSeqBefore }
}

/**
 * Appends records prepared earlier (prepareRecord, on any thread) in one IMMEDIATE transaction,
 * exactly as applyBatch appends records, without rebuilding them for a result: what bulk import uses.
 */
export interface PreparedResult {
  inserted: number
  /** ids already present (skipExisting) */
  skipped: number
  /** ids a deletion removed (skipDeleted): a deleted record is not brought back */
  deleted: number
  lastSeq: number
}

export function appendPrepared(
  db: Db,
  records: readonly PreparedRecord[],
  options: { skipExisting?: boolean; skipDeleted?: boolean } = {},
): PreparedResult {
  const st = statements(db)
  const run = (st.runPrepared ??= db.transaction((list: readonly PreparedRecord[], skipExisting: boolean, skipDeleted: boolean) => {
    const before = headOf(st)
    let head = before
    const counts = new CountDeltas()
    let inserted = 0
    let skipped = 0
    let deleted = 0
    // looked up per record only when some deletion left tombstones
    const tombstones = skipDeleted && st.anyTombstone.get() !== undefined ? st.tombstoneById : null
    for (const p of list) {
      if (tombstones && tombstones.get(p.row.id) !== undefined) {
        deleted++
        continue
      }
      if (insertPrepared(st, p, head, counts) === null) {
        if (!skipExisting) throw new CoreError('CONFLICT', `an activity record with id ${p.row.id} already exists`)
        skipped++
        continue
      }
      inserted++
      if (p.row.seq !== null) head = { seq: p.row.seq, hash: p.row.hash! }
    }
    counts.apply(st.counts)
    moveAnchor(st, before, head)
    return { inserted, skipped, deleted, lastSeq: head.seq }
  }))
  return run.immediate(records, options.skipExisting ?? false, options.skipDeleted ?? false)
}

/** Runs a mixed batch of inserts and completions in one IMMEDIATE transaction. */
export function applyBatch(db: Db, ops: readonly BatchOp[], options: { skipExisting?: boolean } = {}): BatchResult {
  return statements(db).run(ops, options.skipExisting ?? false)
}

/** applyBatch for a caller that already holds an IMMEDIATE transaction on db (deletion). */
export function applyBatchInTransaction(db: Db, ops: readonly BatchOp[], options: { skipExisting?: boolean } = {}): BatchResult {
  if (!db.inTransaction) throw new CoreError('INTERNAL', 'applyBatchInTransaction needs an open transaction')
  return runBatch(statements(db), ops, options.skipExisting ?? false)
}

/**
 * Appends records in one IMMEDIATE transaction: seq, prev_hash and hash are assigned here
 * (any given are ignored); pending records are stored outside the chain until finalized.
 * With skipExisting, records whose id exists are skipped (import is idempotent on id);
 * without it a duplicate id aborts the whole call with CONFLICT.
 */
export function appendRecords(
  db: Db,
  records: ActivityRecord[],
  options: { skipExisting?: boolean } = {},
): { inserted: ActivityRecord[]; skipped: number; lastSeq: number } {
  const { inserted, skipped, lastSeq } = applyBatch(
    db,
    records.map((record) => ({ kind: 'insert', record })),
    options,
  )
  return { inserted, skipped, lastSeq }
}

/**
 * Completes a pending record: merges the completion and gives it the next seq and hash now
 * (chain order is finalization order). Returns the stored record, or null when `id` is not pending.
 */
export function finalizePending(db: Db, id: string, completion: BatchCompletion): ActivityRecord | null {
  const r = applyBatch(db, [{ kind: 'complete', id, completion }])
  return r.inserted[0] ?? null
}
