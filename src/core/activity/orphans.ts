/**
 * Pending records whose process died. A tool call or an approval is written `pending` when it
 * starts and completed when it ends; every writer (a core, `wrap`) completes its own within
 * call_timeout_ms (a timeout at worst) and approval_timeout_s. One still pending well after both
 * belongs to a process that ended without completing it (killed, crashed, the machine went down):
 * it is completed here as interrupted, so the log, its summary and `verify` stop counting it as
 * still running. When the process that wrote it is known to be gone (writer-identity.ts), that
 * is at once, at the next sweep, not after the timeouts. A live owner completing it at the same moment wins or loses harmlessly: a
 * completion of a record that is no longer pending on disk is ignored.
 */
import type { Db } from '../store/db'
import { writerGone } from './writer-identity'
import type { ActivityRecorder } from './types'

/** past both timeouts: room for a busy machine and a writer's queue */
export const ORPHAN_MARGIN_MS = 60_000
/** how often a core looks for them */
export const ORPHAN_SWEEP_INTERVAL_MS = 60_000

export const INTERRUPTED_ERROR = 'interrupted: the process recording this call ended before it was answered (mcpproxy was killed or crashed); its outcome is unknown'
export const INTERRUPTED_APPROVAL_REASON = 'interrupted: mcpproxy ended before anyone answered; the call was not made'
export const interruptedDeletion = (deleted: number): string =>
  `interrupted: the process deleting these records ended before it finished; ${deleted} records it deleted are named by their tombstones, the rest are still there`

export interface OrphanLimits {
  callTimeoutMs: number
  approvalTimeoutS: number
}

/** Pending records older than both timeouts and the margin allow, as of `now`. */
export function pendingOlderThan(limits: OrphanLimits): number {
  return limits.callTimeoutMs + limits.approvalTimeoutS * 1000 + ORPHAN_MARGIN_MS
}

interface PendingRow {
  id: string
  type: string
  ts: number
  rule: string | null
  /** the process that wrote it (activity_writer), when known */
  pid: number | null
  started: string | null
}

/**
 * Completes the orphaned pending records (see the module comment): those past both timeouts,
 * and at once those whose writing process is gone (writer-identity.ts). Returns how many.
 */
export function closeOrphans(db: Db, recorder: Pick<ActivityRecorder, 'complete'>, limits: OrphanLimits, now = Date.now()): number {
  const pending = db
    .prepare(
      `SELECT a.id, a.type, a.ts, a.meta ->> '$.policy.rule' AS rule, w.pid, w.started
       FROM activity a INDEXED BY activity_pending
       LEFT JOIN activity_pending_writer p ON p.rid = a.rid LEFT JOIN activity_writer w ON w.id = p.writer
       WHERE a.seq IS NULL ORDER BY a.id LIMIT 1000`,
    )
    .all() as PendingRow[]
  const gone = new Map<string, boolean>()
  const writerGoneOnce = (pid: number, started: string | null): boolean => {
    const key = `${pid}/${started}`
    let g = gone.get(key)
    if (g === undefined) gone.set(key, (g = writerGone(pid, started)))
    return g
  }
  const before = now - pendingOlderThan(limits)
  const rows = pending.filter((r) => r.ts < before || (r.pid !== null && writerGoneOnce(r.pid, r.started)))
  for (const r of rows) {
    if (r.type === 'config_change') {
      // a deletion by filter, chunked (deletion.ts): its tombstones say how far it got
      const deleted = db.prepare('SELECT count(*) FROM activity_tombstone WHERE deleted_by = ?').pluck().get(r.id) as number
      recorder.complete(r.id, { status: 'error', error: interruptedDeletion(deleted), metadata: { count: deleted } })
    } else if (r.type === 'policy_decision') {
      recorder.complete(r.id, { status: 'blocked', policy: { decision: 'denied', ...(r.rule ? { rule: r.rule } : {}), reason: INTERRUPTED_APPROVAL_REASON } })
    } else {
      recorder.complete(r.id, { status: 'error', error: INTERRUPTED_ERROR })
    }
  }
  forgetIdleWriters(db)
  return rows.length
}

/** Writers with no pending record left are forgotten (a writer registers again with its next one). */
function forgetIdleWriters(db: Db): void {
  db.exec(`
    DELETE FROM activity_pending_writer WHERE rid NOT IN (SELECT rid FROM activity INDEXED BY activity_pending WHERE seq IS NULL);
    DELETE FROM activity_writer WHERE id NOT IN (SELECT writer FROM activity_pending_writer);`)
}
