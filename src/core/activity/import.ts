/**
 * Reads our JSON Lines export back (migration, restore). Each line is validated on its own: a bad
 * line is reported with its number and the rest still import. Records join this database's hash
 * chain (their old prev_hash/hash are replaced); an id already present is skipped, so importing
 * the same file twice imports nothing the second time, and so is an id a deletion removed (its
 * tombstone): an old export does not bring deleted records back.
 *
 * Parsing, validation and preparing records for the chain (import-parse.ts) run on a worker
 * thread when one is given, while this thread inserts what it got, IMPORT_CHUNK records per
 * IMMEDIATE transaction (appendPrepared: the same chain and counts as every other append). Each
 * chunk commits on its own: an interrupted import leaves the records of the chunks committed so
 * far, the chain valid, and importing the file again adds the rest. Another process's writer waits
 * at most one chunk for the lock (well under a second; its busy timeout is 5 s).
 */
import { Worker } from 'node:worker_threads'
import type { ImportResultInfo } from '../../shared/activity'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import { appendPrepared, readChainHead, type ChainHead, type PreparedRecord } from './append'
import type { DiskFormSettings } from './disk-form'
import { parseItems, type ParsedItems } from './import-parse'
import { unpackRecords, type ImportWorkerReply, type ImportWorkerRequest } from './import-protocol'
import { DEFAULT_ACTIVITY_SETTINGS } from './types'
import { workerScript } from '../worker-script'

/**
 * Records appended per IMMEDIATE transaction: each commit costs about as much as inserting a few
 * hundred records, and another process's writer waits at most one chunk (about half a second).
 */
export const IMPORT_CHUNK = 20_000
/**
 * Records per transaction when the importing thread also serves MCP calls and REST (a core):
 * about 100 ms of inserts before the event loop's next turn (measured on 200k records: longest
 * stall 150-200 ms against 0.6-1.3 s with IMPORT_CHUNK), for up to a tenth of the import rate.
 */
export const SHARED_THREAD_IMPORT_CHUNK = 2_000
/** At most this many line errors are kept in the result (the rest are counted in `read` only). */
export const MAX_IMPORT_ERRORS = 1000
/** Page cache while importing (KiB, as a negative cache_size): index inserts need more than the default 2 MB. */
const IMPORT_CACHE_KIB = 65_536
/** Input posted to the worker per message (characters). */
const GROUP_CHARS = 512 * 1024
/**
 * Input posted and not yet inserted (characters): about two chunks of records, so that the worker
 * parses the next chunk while this thread inserts one.
 */
const QUEUED_CHARS = 24 * 1024 * 1024
/**
 * How long, at most, the inserting thread waits after a chunk for the reader to fill the queue
 * again (ms). The input is read only while this thread is not inserting: when the worker's
 * replies are ready at once, its only turns of the event loop were one per chunk (one read of the
 * source), so the worker ran dry and parsing and inserting took turns instead of overlapping
 * (measured: a faster worker made a slower import). A slow source costs at most this per chunk.
 */
const REFILL_WAIT_MS = 200

export interface ImportOptions {
  /** the built import worker (out/cli/activity-import-worker.js); without it everything runs on this thread */
  workerUrl?: string | URL
  /** told when the worker fails (the import goes on on this thread) */
  logger?: Logger
  /** records per transaction (IMPORT_CHUNK; tests choose fewer) */
  chunkRecords?: number
  /** the size limit and redaction settings records get, as the writer's (default: DEFAULT_ACTIVITY_SETTINGS') */
  disk?: DiskFormSettings
}

interface Group {
  items: string[]
  chars: number
  parsed: Promise<ImportWorkerReply> | null
}

/** The worker side: posts groups in order and resolves each with its reply; rejects all if the worker dies. */
function startWorker(url: string | URL, head: ChainHead, disk: DiskFormSettings): { parse(items: string[]): Promise<ImportWorkerReply>; stop(): Promise<void> } {
  const worker = new Worker(workerScript(url))
  const waiting = new Map<number, { resolve: (reply: ImportWorkerReply) => void; reject: (e: Error) => void }>()
  let posted = 0
  let failure: Error | null = null
  const fail = (err: Error): void => {
    failure ??= err
    for (const w of waiting.values()) w.reject(failure)
    waiting.clear()
  }
  worker.on('message', (m: ImportWorkerReply) => {
    waiting.get(m.n)?.resolve(m)
    waiting.delete(m.n)
  })
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`the import worker exited with code ${code}`)))
  return {
    parse(items) {
      if (failure) return Promise.reject(failure)
      const n = ++posted
      const done = new Promise<ImportWorkerReply>((resolve, reject) => waiting.set(n, { resolve, reject }))
      const request: ImportWorkerRequest = n === 1 ? { n, items, head, disk } : { n, items }
      worker.postMessage(request)
      return done
    },
    async stop() {
      worker.removeAllListeners('exit')
      await worker.terminate()
    },
  }
}

/**
 * Imports JSON Lines. Each item of `lines` holds one or more whole lines; blank lines are ignored.
 * `onProgress` gets the number of lines read after each appended chunk.
 */
export async function importActivity(
  db: Db,
  lines: AsyncIterable<string> | Iterable<string>,
  onProgress?: (read: number) => void,
  options: ImportOptions = {},
): Promise<ImportResultInfo> {
  const result: ImportResultInfo = { read: 0, imported: 0, skipped_existing: 0, skipped_deleted: 0, errors: [] }
  const { maxResponseSize, metadataOnly, redactPii } = options.disk ?? DEFAULT_ACTIVITY_SETTINGS
  const disk: DiskFormSettings = { maxResponseSize, metadataOnly, redactPii }
  let chunk: PreparedRecord[] = []
  let linesDone = 0
  let worker: ReturnType<typeof startWorker> | null = null
  if (options.workerUrl) {
    try {
      worker = startWorker(options.workerUrl, readChainHead(db), disk)
    } catch (err) {
      options.logger?.warn('the import worker did not start; parsing on this thread', { error: (err as Error).message })
    }
  }
  const chunkRecords = options.chunkRecords ?? IMPORT_CHUNK
  const queue: Group[] = []
  let queuedChars = 0
  let items: string[] = []
  let chars = 0
  const previousCache = db.pragma('cache_size', { simple: true }) as number

  const flush = (): void => {
    if (chunk.length === 0) return
    const r = appendPrepared(db, chunk, { skipExisting: true, skipDeleted: true })
    result.imported += r.inserted
    result.skipped_existing += r.skipped
    result.skipped_deleted += r.deleted
    chunk = []
    onProgress?.(result.read)
  }
  // the reader posts groups of items; the consumer takes their parsed records in order and
  // inserts them, so a source that pauses never holds back what was already parsed
  let wake: (() => void) | null = null
  let space: (() => void) | null = null
  // told when the reader has filled the queue (or ended, or stopped)
  let filled: (() => void) | null = null
  const signalFilled = (): void => {
    const f = filled
    filled = null
    f?.()
  }
  const awaitRefill = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => signalFilled(), REFILL_WAIT_MS)
      filled = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  let ended = false
  let stopped = false
  const signal = (which: 'wake' | 'space'): void => {
    const f = which === 'wake' ? wake : space
    if (which === 'wake') wake = null
    else space = null
    f?.()
  }
  const post = (): void => {
    if (!items.length) return
    const parsed = worker ? worker.parse(items) : null
    // a worker failure rejects every group posted; consumeOne handles it for the first, in order
    parsed?.catch(() => undefined)
    queue.push({ items, chars, parsed })
    queuedChars += chars
    items = []
    chars = 0
    signal('wake')
  }
  const consumeOne = async (): Promise<void> => {
    const group = queue[0]!
    let parsed: ParsedItems | null = null
    if (group.parsed) {
      try {
        const reply = await group.parsed
        parsed = reply.packed === undefined ? reply.parsed : { ...reply.parsed, records: unpackRecords(reply.packed) }
      } catch (err) {
        options.logger?.warn('the import worker failed; parsing on this thread', { error: (err as Error).message })
        const failed = worker
        worker = null
        for (const g of queue) g.parsed = null
        await failed?.stop()
      }
    }
    if (stopped) return
    parsed ??= parseItems(group.items, linesDone, disk)
    queue.shift()
    queuedChars -= group.chars
    linesDone += parsed.lines
    result.read += parsed.read
    for (const e of parsed.errors) {
      if (result.errors.length >= MAX_IMPORT_ERRORS) break
      result.errors.push(e)
    }
    for (const r of parsed.records) {
      chunk.push(r)
      if (chunk.length >= chunkRecords) {
        flush()
        // a turn of the event loop between chunks: a core's calls and requests wait one chunk at most
        await new Promise<void>((resolve) => setImmediate(resolve))
        // and the reader refills what the worker parses while the next chunk is inserted (told
        // first that there is space: it may be waiting for this group's to be freed)
        if (worker && !ended && !stopped && queuedChars <= QUEUED_CHARS) {
          signal('space')
          await awaitRefill()
        }
        if (stopped) return
      }
    }
  }
  const consume = async (): Promise<void> => {
    try {
      for (;;) {
        if (stopped) return
        if (queue.length) {
          await consumeOne()
          signal('space')
        } else if (ended) {
          flush()
          return
        } else {
          await new Promise<void>((resolve) => (wake = resolve))
        }
      }
    } finally {
      stopped = true
      signal('space')
    }
  }

  let consumer: Promise<void> | null = null
  try {
    if (previousCache > -IMPORT_CACHE_KIB && previousCache < IMPORT_CACHE_KIB / 4) db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`)
    consumer = consume()
    for await (const item of lines) {
      if (stopped) break
      items.push(item)
      chars += item.length
      if (chars >= GROUP_CHARS) {
        post()
        while (queuedChars > QUEUED_CHARS && !stopped) {
          signalFilled()
          await new Promise<void>((resolve) => (space = resolve))
        }
      }
    }
    post()
    ended = true
    signal('wake')
    signalFilled()
    await consumer
  } catch (err) {
    // a failing source: what was committed stays, the chunk in hand is dropped
    stopped = true
    signal('wake')
    signalFilled()
    await consumer?.catch(() => undefined)
    throw err
  } finally {
    db.pragma(`cache_size = ${previousCache}`)
    await worker?.stop()
  }
  return result
}
