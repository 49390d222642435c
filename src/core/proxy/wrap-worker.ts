/**
 * `wrap`'s recording thread: parses the copies of the relayed bytes (wrap-tap.ts) and writes the
 * records with an activity writer of its own connection, at a priority below the relay. Built as a
 * separate entry (out/cli/wrap-worker.js); see runWrap.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { forwardingLogger, yieldToRelaying } from '../activity/recording-thread'
import { createActivityWriter } from '../activity/writer'
import { openDb } from '../store/db'
import { createSessionRegistry } from './sessions'
import type { FromWrapWorker, ToWrapWorker, WrapWorkerData } from './wrap-protocol'
import { createWrapTap } from './wrap-tap'

const port = parentPort!
const data = workerData as WrapWorkerData
const post = (m: FromWrapWorker): void => port.postMessage(m)
const logger = forwardingLogger(post)
yieldToRelaying(logger)

const db = openDb(data.file, { nativeBinding: data.nativeBinding })
const writer = createActivityWriter(db, data.settings, logger)
const sessions = createSessionRegistry({ db, logger, redactPii: () => data.settings.redactPii })
const session = sessions.open('wrap', data.client, data.sessionId)
const tap = createWrapTap({ ...data, recorder: writer, logger, session })

port.on('message', (m: ToWrapWorker) => {
  switch (m.k) {
    case 'bytes': {
      const all = Buffer.from(m.data)
      for (let i = 0, offset = 0; i < m.parts.length; i += 3) {
        const length = m.parts[i + 2]!
        const chunk = all.subarray(offset, offset + length)
        offset += length
        if (m.parts[i] === 1) tap.fromClient(chunk, m.parts[i + 1]!)
        else tap.fromServer(chunk, m.parts[i + 1]!)
      }
      break
    }
    case 'exe':
      tap.setClientExe(m.exe)
      break
    case 'end':
      tap.end(m.code, m.at)
      session.end()
      sessions.close()
      // records that could not be written by then were counted and logged by the writer
      void writer
        .close()
        .catch(() => undefined)
        .finally(() => {
          post({ k: 'done', stats: writer.stats() })
          db.close()
        })
      break
  }
})
