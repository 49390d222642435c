/** Messages between `wrap`'s relay (wrap.ts) and its recording thread (wrap-worker.ts). */
import type { WriterStatsInfo } from '../../shared/activity'
import type { LogMessage } from '../activity/recording-thread'
import type { ActivitySettings } from '../activity/types'
import type { WrapTapConfig } from './wrap-tap'

export interface WrapWorkerData extends WrapTapConfig {
  /** the activity database (the recording thread opens its own connection) */
  file: string
  settings: ActivitySettings
  nativeBinding?: string
}

export type ToWrapWorker =
  /**
   * Copies of the bytes relayed since the last message, in order, in one transferred buffer:
   * `parts` holds three numbers per chunk (1 = from the client, 0 = from the server; the time it
   * was read in ms since the epoch; its length in bytes).
   */
  | { k: 'bytes'; data: ArrayBuffer; parts: number[] }
  | { k: 'exe'; exe: string }
  /** the server exited: fail its unanswered calls, end the session, flush, then answer `done` */
  | { k: 'end'; code: number; at: number }

export type FromWrapWorker = LogMessage | { k: 'done'; stats: WriterStatsInfo }
