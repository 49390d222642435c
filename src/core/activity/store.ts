/**
 * The activity store: one database connection composing the writer, the query service,
 * export/import, verification, retention and deletion. `onAppended` reports this process's
 * commits at once and, while anyone listens, polls for records other processes (a `wrap`, the
 * CLI) appended to the same file, each record once.
 */
import type { ActivityRecord, ImportResultInfo, VerifyResultInfo } from '../../shared/activity'
import { silentLogger, type Logger } from '../logger'
import { openDb, type Db } from '../store/db'
import type { BatchResult } from './append'
import { verifyChain } from './chain'
import { createDeletionRuns, deleteById, type DeletionResult } from './deletion'
import { exportActivity } from './export'
import { importActivity } from './import'
import { createActivityQueries } from './query'
import { createHeavyReads } from './read-offload'
import { createRetentionRunner, pruneActivity } from './retention'
import {
  DEFAULT_ACTIVITY_SETTINGS,
  type ActivityMaintenance,
  type ActivityQueries,
  type ActivitySettings,
  type ActivityStore,
  type AppendedBatch,
} from './types'
import { createWorkerWriter, WORKER_FAILED, type WorkerActivityWriter } from './worker-writer'
import type { CoreError } from '../errors'
import { buildWhere } from './filter-sql'
import { createActivityWriter, type ActivityWriter } from './writer'

export interface ActivityStoreOptions {
  file: string
  settings?: Partial<ActivitySettings>
  logger?: Logger
  /** better-sqlite3 binary built for Electron's ABI (the Electron main passes it) */
  nativeBinding?: string
  /** how often other processes' records are looked for while someone listens (ms) */
  pollMs?: number
  /** run retention on settings.cleanupIntervalMin (default true; short-lived CLI commands pass false) */
  retention?: boolean
  /**
   * The built writer worker (out/cli/activity-writer-worker.js): when given, redaction, hashing and
   * inserts run on a worker thread with its own connection instead of this thread's event loop.
   */
  writerWorkerUrl?: string | URL
  /** The built import worker (out/cli/activity-import-worker.js): import parses on a worker thread while this one inserts. */
  importWorkerUrl?: string | URL
  /** The built read worker (out/cli/activity-read-worker.js): summary, metrics and verify run there, off this thread. */
  readWorkerUrl?: string | URL
  /** records per import transaction (IMPORT_CHUNK; a core, whose thread serves calls too, passes SHARED_THREAD_IMPORT_CHUNK) */
  importChunkRecords?: number
}

const DEFAULT_POLL_MS = 250
const POLL_PAGE = 1_000

export interface ActivityStoreHandle extends ActivityStore {
  /** Applies changed settings (config reload): the writer reads them from its next record on. */
  updateSettings(next: Partial<ActivitySettings>): void
}

/** Opens (creating and migrating when needed) the activity database and starts its writer. */
export function createActivityStore(options: ActivityStoreOptions): ActivityStoreHandle {
  const logger = options.logger ?? silentLogger
  const settings: ActivitySettings = { ...DEFAULT_ACTIVITY_SETTINGS, ...options.settings }
  const db = openDb(options.file, { nativeBinding: options.nativeBinding })
  const queries = createActivityQueries(db)
  const listeners = new Set<(batch: AppendedBatch) => void>()
  // seqs of records this process emitted that the poll has not passed yet (it skips them)
  const emittedAhead = new Set<number>()
  let polledSeq = 0
  let pollTimer: NodeJS.Timeout | null = null
  let closed: Promise<void> | null = null

  const emit = (batch: AppendedBatch): void => {
    for (const l of listeners) {
      try {
        l(batch)
      } catch (err) {
        logger.error('activity listener failed', { error: (err as Error).message })
      }
    }
  }

  const emitLocal = (all: ActivityRecord[], seqs: Array<number | null>, lastSeq: number): void => {
    if (!listeners.size || !all.length) return
    // a writer worker's commit can reach the poll before its report reaches us: the poll emitted those
    const records = all.filter((r, i) => {
      const seq = seqs[i]
      if (seq == null) return true
      if (seq <= polledSeq) return false
      emittedAhead.add(seq)
      return true
    })
    if (records.length) emit({ records, lastSeq })
  }

  const onCommitted = (result: BatchResult): void => emitLocal(result.inserted, result.seqs, result.lastSeq)

  const poll = (): void => {
    try {
      for (;;) {
        // records this process emitted already are skipped without being read back
        const batch = queries.since(polledSeq, POLL_PAGE, emittedAhead)
        if (batch.lastSeq === polledSeq) break
        polledSeq = batch.lastSeq
        for (const seq of emittedAhead) if (seq <= polledSeq) emittedAhead.delete(seq)
        if (batch.records.length) emit({ records: batch.records, lastSeq: batch.lastSeq })
      }
    } catch (err) {
      logger.warn('polling the activity log failed', { error: (err as Error).message })
    }
  }

  const retention = createRetentionRunner(db, settings, logger)
  // deletions by filter on this thread (no writer worker, or it failed), chunked
  const deletions = createDeletionRuns(db)
  // with a writer worker, retention runs there (off this thread), and comes back here if it fails
  const retentionOnWorker = options.writerWorkerUrl !== undefined && options.retention !== false
  const writer: ActivityWriter & Partial<Pick<WorkerActivityWriter, 'updateSettings' | 'reportCommits' | 'deleteWhereOffThread'>> = options.writerWorkerUrl
    ? createWorkerWriter(db, settings, logger, { onCommitted }, {
        workerUrl: options.writerWorkerUrl,
        file: options.file,
        nativeBinding: options.nativeBinding,
        retention: retentionOnWorker,
        onFallback: () => {
          if (retentionOnWorker && !closed) retention.start()
        },
      })
    : createActivityWriter(db, settings, logger, { onCommitted })
  if (!retentionOnWorker && options.retention !== false) retention.start()
  const heavy = createHeavyReads(db, queries, { workerUrl: options.readWorkerUrl, file: options.file, nativeBinding: options.nativeBinding, logger })

  const stopPolling = (): void => {
    if (pollTimer) clearInterval(pollTimer)
    pollTimer = null
  }

  const maintenance: Omit<ActivityMaintenance, 'import'> = {
    delete(id, actor) {
      writer.writeNow()
      const r = deleteById(db, id, actor)
      if (r.record) emitLocal([r.record], [r.lastSeq!], r.lastSeq!)
      return r.deleted > 0
    },
    async deleteWhere(filter, actor) {
      const here = (): Promise<DeletionResult> => {
        writer.writeNow()
        return deletions.run(buildWhere(filter), { filter }, actor)
      }
      const offThread = writer.deleteWhereOffThread?.(filter, actor)
      const r = offThread ? await offThread.catch((err: CoreError) => (err.details?.[WORKER_FAILED] ? here() : Promise.reject(err))) : await here()
      if (r.record) emitLocal([r.record], [r.lastSeq!], r.lastSeq!)
      return r.deleted
    },
    export: (filter, exportOptions) => exportActivity(db, filter, exportOptions),
    prune: (now) => pruneActivity(db, settings, { now, logger }),
  }

  return {
    ...queries,
    ...maintenance,
    summary: heavy.summary,
    metrics: heavy.metrics,
    verify: heavy.verify,
    async import(lines, onProgress, by = {}) {
      const recordImport = (status: 'success' | 'error', counts: Partial<ImportResultInfo>, error?: string): void => {
        const { errors, ...rest } = counts
        writer.record({
          type: 'config_change',
          status,
          error,
          metadata: { action: 'activity_imported', ...rest, ...(errors ? { line_errors: errors.length } : {}), source: by.source, actor: by.actor ?? 'system' },
        })
      }
      try {
        const result = await importActivity(db, lines, onProgress, { workerUrl: options.importWorkerUrl, logger, disk: settings, chunkRecords: options.importChunkRecords })
        recordImport('success', result)
        return result
      } catch (err) {
        recordImport('error', {}, `the import stopped: ${(err as Error).message}; the records of the chunks committed before stay`)
        throw err
      }
    },
    record: (input) => writer.record(input),
    complete: (id, completion) => writer.complete(id, completion),
    flush: () => writer.flush(),
    stats: () => writer.stats(),
    updateSettings(next) {
      const interval = settings.cleanupIntervalMin
      Object.assign(settings, next)
      writer.updateSettings?.(settings)
      if (!closed) retention.intervalChanged(interval)
    },
    onAppended(listener) {
      if (!listeners.size) {
        polledSeq = queries.lastSeq()
        emittedAhead.clear()
        writer.reportCommits?.(true)
      }
      listeners.add(listener)
      if (!pollTimer && !closed) {
        pollTimer = setInterval(poll, options.pollMs ?? DEFAULT_POLL_MS)
        pollTimer.unref()
      }
      return () => {
        listeners.delete(listener)
        if (!listeners.size) {
          stopPolling()
          writer.reportCommits?.(false)
        }
      }
    },
    close() {
      closed ??= (async () => {
        stopPolling()
        retention.stop()
        await deletions.stopAll()
        try {
          await heavy.close().catch(() => undefined)
          await writer.close()
        } finally {
          listeners.clear()
          db.close()
        }
      })()
      return closed
    },
  }
}

export type ActivityReader = ActivityQueries &
  Pick<ActivityMaintenance, 'export'> & {
    verify(): VerifyResultInfo
    close(): void
  }

/** Read-only access for CLI read commands when no core runs (never takes the writer's lock). */
export function openActivityStoreReadOnly(file: string, options: { nativeBinding?: string } = {}): ActivityReader {
  const db: Db = openDb(file, { readonly: true, nativeBinding: options.nativeBinding })
  return {
    ...createActivityQueries(db),
    export: (filter, exportOptions) => exportActivity(db, filter, exportOptions),
    verify: () => verifyChain(db),
    close: () => db.close(),
  }
}
