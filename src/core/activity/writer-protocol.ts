/** Messages between the main thread's worker-backed writer and the writer worker. */
import type { ActivityCompletion, ActivityFilter, ActivityRecord, WriterStatsInfo } from '../../shared/activity'
import type { DeletionResult } from './deletion'
import type { MessagePort } from 'node:worker_threads'
import type { LogMessage } from './recording-thread'
import type { CoreErrorCode } from '../errors'
import type { BatchResult } from './append'
import type { ActivitySettings } from './types'

export interface WriterWorkerData {
  file: string
  settings: ActivitySettings
  nativeBinding?: string
  /** Int32Array over it: [0] counts the worker's synchronous writes (writeNow) */
  signal: SharedArrayBuffer
  /** post each committed batch back from the start (the store's onAppended listeners need them) */
  reportCommits: boolean
  /** where the worker posts its reports (FromWorker) */
  reports: MessagePort
  /** run the store's retention here, on this connection (on settings.cleanupIntervalMin), off the store's thread */
  retention: boolean
}

export type WriterOp = { record: ActivityRecord } | { id: string; completion: ActivityCompletion }

export type ToWorker =
  | { k: 'ops'; ops: WriterOp[]; n: number }
  | { k: 'flush'; n: number }
  | { k: 'writeNow' }
  | { k: 'settings'; settings: ActivitySettings }
  | { k: 'reportCommits'; on: boolean }
  /** a deletion by filter, chunked on the worker's connection (after the ops posted before it) */
  | { k: 'deleteWhere'; n: number; filter: ActivityFilter; actor?: string }
  | { k: 'close' }

export type FromWorker =
  | { k: 'committed'; result: BatchResult }
  | { k: 'stats'; stats: WriterStatsInfo; acked: number }
  | { k: 'flushed'; n: number; error?: string }
  | { k: 'deleted'; n: number; result?: DeletionResult; error?: { code: CoreErrorCode; message: string } }
  | LogMessage
  /** `lost`: the worker's writer gave records up on closing (lostRecordsError, logged there) */
  | { k: 'closed'; lost?: { count: number; code: CoreErrorCode; message: string } }
