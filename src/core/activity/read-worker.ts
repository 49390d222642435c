/**
 * The read worker: a read-only connection to the activity database answering the heavy reads
 * (summary, metrics, verify) one at a time, each in its own read snapshot, while the core's thread
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
let db: Db | null = null
let queries: ReturnType<typeof createActivityQueries> | null = null

function answer(m: ReadRequest): unknown {
  db ??= openDb(data.file, { readonly: true, nativeBinding: data.nativeBinding })
  queries ??= createActivityQueries(db)
  return runHeavyRead(db, queries, m.op, m.args)
}

port.on('message', (m: ReadRequest) => {
  let reply: ReadReply
  try {
    reply = { n: m.n, ok: true, value: answer(m) }
  } catch (err) {
    reply = { n: m.n, ok: false, code: isCoreError(err) ? err.code : 'INTERNAL', message: (err as Error).message }
  }
  port.postMessage(reply)
})
