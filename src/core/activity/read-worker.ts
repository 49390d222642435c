/**
 * The read worker: a read-only connection to the activity database answering the heavy reads
 * (summary, metrics, verify) one at a time, each in one read snapshot, while the core's thread
 * keeps relaying calls and its writer keeps writing (WAL readers never wait for the writer). Built
 * as a separate entry (out/cli/activity-read-worker.js); see read-offload.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { isCoreError } from '../errors'
import { openDb, type Db } from '../store/db'
import { createActivityQueries } from './query'
import { runHeavyRead, type ReadReply, type ReadRequest, type ReadWorkerData } from './read-protocol'

const port = parentPort!
const data = workerData as ReadWorkerData
// opened at once: a database this thread cannot open fails the worker (the reads then run on the
// core's thread) instead of failing every read
const db: Db = openDb(data.file, { readonly: true, nativeBinding: data.nativeBinding })
const queries = createActivityQueries(db)
// n 0 is no request's: it tells the core the database is open here
port.postMessage({ n: 0, ok: true, value: 'ready' } satisfies ReadReply)

port.on('message', (m: ReadRequest) => {
  let reply: ReadReply
  try {
    reply = { n: m.n, ok: true, value: runHeavyRead(db, queries, m.op, m.args) }
  } catch (err) {
    reply = isCoreError(err) ? { n: m.n, ok: false, code: err.code, message: err.message } : { n: m.n, ok: false, message: (err as Error).message }
  }
  port.postMessage(reply)
})
