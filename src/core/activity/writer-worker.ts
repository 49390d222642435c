/**
 * The writer worker: its own connection to the activity database, running the activity writer
 * (redaction, truncation, hashing, inserts) off the thread that relays MCP traffic. Built as a
 * separate entry (out/cli/activity-writer-worker.js); see createWorkerWriter.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openDb } from '../store/db'
import type { FromWorker, ToWorker, WriterWorkerData } from './writer-protocol'
import { forwardingLogger, yieldToRelaying } from './recording-thread'
import { isCoreError } from '../errors'
import { buildWhere } from './filter-sql'
import { createDeletionRuns } from './deletion'
import { createRetentionRunner } from './retention'
import { createActivityWriter } from './writer'

const port = parentPort!
const data = workerData as WriterWorkerData
const signal = new Int32Array(data.signal)
const post = (m: FromWorker): void => data.reports.postMessage(m)

const logger = forwardingLogger(post)
yieldToRelaying(logger)

const settings = { ...data.settings }
const db = openDb(data.file, { nativeBinding: data.nativeBinding })
// the store's retention, when it runs here: its chunks take turns with the writer's commits on
// this thread, and never hold up the store's own (the core's MCP calls, REST, the tray)
const retention = createRetentionRunner(db, settings, logger)
if (data.retention) retention.start()
// deletions by filter, chunked here: the core's thread never waits for one
const deletions = createDeletionRuns(db)
let received = 0
let acked = 0
/** a report due after commits no message asked for (the writer's own retry): one per turn, not one per batch */
let reportSoon: NodeJS.Immediate | null = null
/** Acknowledges the batches received once nothing of them waits in the writer's queue (a retry). */
const report = (): void => {
  if (reportSoon) clearImmediate(reportSoon)
  reportSoon = null
  const stats = writer.stats()
  if (!stats.queued) acked = received
  post({ k: 'stats', stats, acked })
}
let reportCommits = data.reportCommits
const writer = createActivityWriter(db, settings, logger, {
  onCommitted: (result) => {
    if (reportCommits) post({ k: 'committed', result })
    // a retry that succeeds on its timer is reported too, so status does not keep the failure
    reportSoon ??= setImmediate(report)
  },
})

port.on('message', (m: ToWorker) => {
  switch (m.k) {
    case 'ops':
      for (const op of m.ops) {
        if ('record' in op) writer.recordAdmitted(op.record)
        else writer.complete(op.id, op.completion)
      }
      received = m.n
      // the main thread already waited out the commit window
      writer.writeNow()
      report()
      break
    case 'flush':
      writer.flush().then(
        () => {
          report()
          post({ k: 'flushed', n: m.n })
        },
        (err: Error) => {
          report()
          post({ k: 'flushed', n: m.n, error: err.message })
        },
      )
      break
    case 'writeNow':
      try {
        writer.writeNow()
      } finally {
        Atomics.add(signal, 0, 1)
        Atomics.notify(signal, 0)
      }
      report()
      break
    case 'settings': {
      const interval = settings.cleanupIntervalMin
      Object.assign(settings, m.settings)
      retention.intervalChanged(interval)
      break
    }
    case 'reportCommits':
      reportCommits = m.on
      break
    case 'deleteWhere':
      // what was posted before it is written first, so the deletion sees it
      try {
        writer.writeNow()
      } catch {
        // a failed write stays queued for its retry; the deletion goes on without it
      }
      deletions.run(buildWhere(m.filter), { filter: m.filter }, m.actor).then(
        (result) => post({ k: 'deleted', n: m.n, result }),
        (err: Error) => post({ k: 'deleted', n: m.n, error: { code: isCoreError(err) ? err.code : 'DB_ERROR', message: err.message } }),
      )
      break
    case 'close':
      retention.stop()
      void deletions
        .stopAll()
        .then(() => writer.close())
        .then(
          () => undefined,
          (err: Error) => ({ count: writer.stats().queued, code: isCoreError(err) ? err.code : ('DB_ERROR' as const), message: err.message }),
        )
        .then((lost) => {
          report()
          db.close()
          post({ k: 'closed', lost })
        })
      break
  }
})
