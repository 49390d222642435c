/**
 * The heavy reads (the activity queries that read a whole period or the whole chain) and the
 * messages between the core's thread and the read worker (read-worker.ts), which runs them on a
 * read-only connection of its own, so a large log never holds up the MCP traffic on the core's
 * event loop.
 */
import type { ActivityMetricsInfo, ActivitySummaryInfo, SummaryPeriod, VerifyResultInfo } from '../../shared/activity'
import type { Db } from '../store/db'
import { verifyChain } from './chain'
import type { ActivityQueries } from './types'

/** The reads that take long on a large log: each goes to the read worker when there is one. */
export interface ActivityHeavyReads {
  summary(period: SummaryPeriod, now?: Date): Promise<ActivitySummaryInfo>
  metrics(days: number, server?: string, now?: Date): Promise<ActivityMetricsInfo>
  /** Walks the hash chain; see verifyChain. */
  verify(): Promise<VerifyResultInfo>
}

export type HeavyRead = keyof ActivityHeavyReads

export interface ReadWorkerData {
  /** the database file (the core's own connection has migrated it) */
  file: string
  nativeBinding?: string
}

export interface ReadRequest {
  n: number
  op: HeavyRead
  args: unknown[]
}

export type ReadReply =
  | { n: number; ok: true; value: unknown }
  /** code: a CoreError's code; none for any other error */
  | { n: number; ok: false; code?: string; message: string }

/**
 * Runs one heavy read on a connection and its queries (the worker's, or the core's without a
 * worker), in one read transaction: its several statements see the same commits.
 */
export function runHeavyRead(db: Db, queries: Pick<ActivityQueries, 'summary' | 'metrics'>, op: HeavyRead, args: readonly unknown[]): unknown {
  switch (op) {
    case 'summary':
      return db.transaction(() => queries.summary(...(args as Parameters<ActivityQueries['summary']>)))()
    case 'metrics':
      return db.transaction(() => queries.metrics(...(args as Parameters<ActivityQueries['metrics']>)))()
    case 'verify':
      // verifyChain reads in one transaction of its own
      return verifyChain(db)
  }
}
