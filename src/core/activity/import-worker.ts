/**
 * The import worker thread: parses and prepares JSON Lines for importActivity while the calling
 * thread inserts. Built as a separate entry (out/cli/activity-import-worker.js); it keeps the line
 * count, so its replies come in the order the items were posted.
 */
import { parentPort } from 'node:worker_threads'
import { linkAhead, type ChainHead } from './append'
import type { DiskFormSettings } from './disk-form'
import { parseItems } from './import-parse'
import { packRecords, type ImportWorkerReply, type ImportWorkerRequest } from './import-protocol'

const port = parentPort!
let lineBefore = 0
let head: ChainHead | undefined
let disk: DiskFormSettings | undefined
port.on('message', (m: ImportWorkerRequest) => {
  if (m.disk) disk = m.disk
  const parsed = parseItems(m.items, lineBefore, disk!)
  lineBefore += parsed.lines
  // hashing is most of an insert's JavaScript: done here, the insert keeps it if the head is the same
  if (m.head) head = m.head
  if (head) head = linkAhead(parsed.records, head)
  const packed = packRecords(parsed.records)
  const reply: ImportWorkerReply = packed === null ? { n: m.n, parsed } : { n: m.n, parsed: { ...parsed, records: [] }, packed }
  // the insert needs a record's canonical text only to link it again (rebuilt then): not posted
  if (packed === null) for (const r of parsed.records) r.canonical = ''
  port.postMessage(reply)
})
