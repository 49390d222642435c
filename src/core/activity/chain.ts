/**
 * Verifies the hash chain: walks finalized records and tombstones in seq order (one streaming
 * query), recomputes every hash and names the first record that was edited, inserted or removed.
 * Retention checkpoints are chained to each other and give the starting point of a pruned log;
 * the chain head anchor (chain_head, moved by every append) names a seq the chain must reach and
 * the hash it has there, so removing the newest records shows too. Records past the anchor that
 * link correctly are no problem: a process still running code from before migration 4 appends
 * without moving it, and a chain with no secret cannot keep anyone from appending well-linked
 * records anyway (the anchor is there to catch removal). A record past it that does not link is
 * named as anywhere else. Everything is read from one snapshot (a read transaction).
 */
import { createHash } from 'node:crypto'
import type { VerifyResultInfo } from '../../shared/activity'
import type { Db } from '../store/db'
import { canonicalJson, chainHash, fromRows, GENESIS_HASH, type ActivityRow } from './record-codec'

export interface CheckpointFields {
  created_at: string
  first_seq: number
  prev_hash: string
  pruned: number
  reason: string
}

interface CheckpointRow extends CheckpointFields {
  id: number
  prior_hash: string | null
  hash: string
}

/** A checkpoint's hash covers its fields and the previous checkpoint's hash. */
export function checkpointHash(priorHash: string | null, c: CheckpointFields): string {
  const { created_at, first_seq, prev_hash, pruned, reason } = c
  return createHash('sha256')
    .update(priorHash ?? GENESIS_HASH)
    .update('\n')
    .update(canonicalJson({ created_at, first_seq, prev_hash, pruned, reason }))
    .digest('hex')
}

type WalkRow = ActivityRow & { arguments: string | null; response: string | null; deleted_by: string | null }

// Both sides are read in seq order from their own index and merged, not sorted.
const WALK_SQL = `
  SELECT a.seq, a.id, a.ts, a.type, a.status, a.server_name, a.tool_name, a.session_id, a.request_id,
         a.intent_type, a.sensitive, a.duration_ms, a.error, a.meta, a.prev_hash, a.hash,
         b.arguments, b.response, NULL AS deleted_by
  FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid
  WHERE a.seq >= ?
  UNION ALL
  SELECT t.seq, t.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, t.prev_hash, t.hash,
         NULL, NULL, t.deleted_by
  FROM activity_tombstone t
  WHERE t.seq >= ?
  ORDER BY 1`

export function verifyChain(db: Db): VerifyResultInfo {
  return db.transaction(() => verifySnapshot(db))()
}

function verifySnapshot(db: Db): VerifyResultInfo {
  const pending = (db.prepare('SELECT count(*) AS n FROM activity WHERE seq IS NULL').get() as { n: number }).n
  const base = { ok: false, checked: 0, pending }

  let start = 1
  let expectedPrev = GENESIS_HASH
  let prior: string | null = null
  let latest: CheckpointRow | undefined
  for (const c of db.prepare('SELECT * FROM chain_checkpoint ORDER BY id').iterate() as Iterable<CheckpointRow>) {
    if (c.prior_hash !== prior) {
      return { ...base, problem: { kind: 'checkpoint', seq: c.first_seq, detail: `checkpoint ${c.id} does not link to the checkpoint before it` } }
    }
    if (checkpointHash(prior, c) !== c.hash) {
      return { ...base, problem: { kind: 'checkpoint', seq: c.first_seq, detail: `checkpoint ${c.id} was edited (hash mismatch)` } }
    }
    if (latest && c.first_seq < latest.first_seq) {
      return { ...base, problem: { kind: 'checkpoint', seq: c.first_seq, detail: `checkpoint ${c.id} goes back to seq ${c.first_seq}` } }
    }
    prior = c.hash
    latest = c
  }
  if (latest) {
    start = latest.first_seq
    expectedPrev = latest.prev_hash
  }

  let checked = 0
  let lastSeq = start - 1
  let lastId: string | undefined
  let beforeLast: string | undefined
  let first: number | undefined
  // deletion record id -> one record it deleted; every deletion record must still be there
  const deletions = new Map<string, string>()
  const fail = (problem: NonNullable<VerifyResultInfo['problem']>): VerifyResultInfo => ({
    ...base,
    checked,
    first_seq: first,
    last_seq: lastSeq >= start ? lastSeq : undefined,
    problem,
  })

  const head = db.prepare('SELECT seq, hash FROM chain_head').get() as { seq: number; hash: string } | undefined
  // an anchor before the chain's start (with no checkpoint to have pruned it) would check nothing
  if (head && head.seq < 0) {
    return fail({ kind: 'edited', seq: head.seq, detail: `the chain head anchor names seq ${head.seq}, before the chain's start: the anchor was edited` })
  }
  // the anchor names where the latest checkpoint continues from: its hash must be that one
  if (head && head.seq === start - 1 && head.hash !== expectedPrev) {
    return fail(
      latest
        ? { kind: 'checkpoint', seq: start, detail: `the latest checkpoint continues from seq ${start - 1}, not from the chain head` }
        : { kind: 'edited', seq: 0, detail: 'the chain head anchor names seq 0 with a hash other than the empty chain\'s: the anchor was edited' },
    )
  }
  for (const r of db.prepare(WALK_SQL).iterate(start, start) as Iterable<WalkRow>) {
    const seq = r.seq!
    const tomb = r.deleted_by !== null
    const what = tomb ? `deleted record ${r.id} (tombstone)` : `record ${r.id}`
    // past the anchor (appended by a process that does not move it), a record must link as any other
    const pastHead = head !== undefined && seq > head.seq
    if (seq === lastSeq) {
      return fail({ kind: 'inserted', id: r.id, seq, detail: `${what} takes seq ${seq}, already used` })
    }
    if (seq !== lastSeq + 1) {
      return fail({
        kind: 'removed',
        id: r.id,
        seq,
        detail: `seq ${lastSeq + 1}..${seq - 1} missing before ${what}, with no tombstone or checkpoint to explain it`,
      })
    }
    if (r.prev_hash !== expectedPrev) {
      if (beforeLast !== undefined && r.prev_hash === beforeLast && lastId !== undefined) {
        return fail({ kind: 'inserted', id: lastId, seq: seq - 1, detail: `record ${lastId} was inserted into the chain before ${what}` })
      }
      if (pastHead) {
        return fail({
          kind: 'inserted',
          id: r.id,
          seq,
          detail: `${what} lies after the chain head (seq ${head.seq}) and does not link to the record before it: it was not appended by the write path`,
        })
      }
      return fail({
        kind: 'removed',
        id: r.id,
        seq,
        detail: `${what} does not link to the record before it: a record between them was removed or replaced`,
      })
    }
    if (!tomb) {
      const record = fromRows({ ...r, prev_hash: null, hash: null }, r)
      if (chainHash(r.prev_hash, record) !== r.hash) {
        return fail({ kind: 'edited', id: r.id, seq, detail: `${what} was changed after it was written (hash mismatch)` })
      }
    }
    if (head && seq === head.seq && r.hash !== head.hash) {
      return fail({
        kind: 'edited',
        id: r.id,
        seq,
        detail: `the chain head names another record at seq ${seq} than ${what}: the newest records were rewritten`,
      })
    }
    if (tomb) deletions.set(r.deleted_by!, r.id)
    first ??= seq
    beforeLast = expectedPrev
    expectedPrev = r.hash!
    lastId = r.id
    lastSeq = seq
    checked++
  }
  // a deletion by filter in progress names its record, still pending, from its first chunk on
  const exists = db.prepare("SELECT 1 FROM activity WHERE id = ? AND (seq IS NOT NULL OR type = 'config_change')")
  for (const [by, deleted] of deletions) {
    if (!exists.get(by)) {
      return fail({ kind: 'removed', id: by, detail: `record ${by}, which recorded the deletion of ${deleted}, is missing` })
    }
  }
  if (!head) return fail({ kind: 'removed', detail: 'the chain head anchor (chain_head) was removed: the end of the chain cannot be checked' })
  if (lastSeq < head.seq) {
    return fail({ kind: 'removed', seq: lastSeq + 1, detail: `the records after seq ${lastSeq} were removed: the chain head is seq ${head.seq}` })
  }
  // lastSeq >= head.seq: the record at the anchor's seq was compared with it in the walk (or the
  // anchor lies in the pruned prefix); the records after it, if any, link to it
  return { ok: true, checked, first_seq: first, last_seq: first === undefined ? undefined : lastSeq, pending }
}
