/**
 * The activity store's contract, shared by the writer, the query service, REST, IPC and the CLI.
 */
import type {
  ActivityCompletion,
  ActivityFilter,
  ActivityInput,
  ActivityHourlyInfo,
  ActivityMetricsInfo,
  ActivityPage,
  ActivityRecord,
  ActivitySummaryInfo,
  ExportFormat,
  FilterOptionField,
  FilterOptionInfo,
  ImportResultInfo,
  SummaryPeriod,
  WriterStatsInfo,
} from '../../shared/activity'
import type { ActivityHeavyReads } from './read-protocol'

/** Settings the store reads from the config (flat keys of mcp_config.json). */
export interface ActivitySettings {
  retentionDays: number
  maxRecords: number
  maxResponseSize: number
  cleanupIntervalMin: number
  maxDbMb: number
  redactPii: boolean
  metadataOnly: boolean
  /** bounded queue length; beyond it droppable records are counted and dropped */
  queueLimit: number
  /** group-commit window */
  commitWindowMs: number
}

export const DEFAULT_ACTIVITY_SETTINGS: ActivitySettings = {
  retentionDays: 90,
  maxRecords: 100_000,
  maxResponseSize: 65_536,
  cleanupIntervalMin: 60,
  maxDbMb: 512,
  redactPii: false,
  metadataOnly: false,
  queueLimit: 10_000,
  commitWindowMs: 50,
}

/** Records appended to the chain (by this process or another), in seq order. */
export interface AppendedBatch {
  records: ActivityRecord[]
  lastSeq: number
}

/** Non-blocking recording. Redaction, truncation and hashing happen in the writer, off the call path. */
export interface ActivityRecorder {
  /** Queues a record and returns its id at once. A `pending` record joins the chain when completed. */
  record(input: ActivityInput): string
  /** Completes a pending record (same id). */
  complete(id: string, completion: ActivityCompletion): void
  /** Resolves when everything queued before the call is on disk. */
  flush(): Promise<void>
  stats(): WriterStatsInfo
}

export interface PageRequest {
  limit: number
  offset: number
  cursor?: string
}

export interface ActivityQueries {
  list(filter: ActivityFilter, page: PageRequest): ActivityPage
  get(id: string): ActivityRecord | null
  count(filter: ActivityFilter): number
  filterOptions(field: FilterOptionField, filter?: ActivityFilter): FilterOptionInfo[]
  summary(period: SummaryPeriod, now?: Date): ActivitySummaryInfo
  metrics(days: number, server?: string, now?: Date): ActivityMetricsInfo
  /** tool calls per hour over the last `hours` clock hours (1..MAX_HOURLY_HOURS), from the rollups */
  hourly(hours: number, now?: Date): ActivityHourlyInfo
  /**
   * Records with seq > afterSeq in seq order (for SSE replay and cross-process tailing): at most
   * `limit` seqs are read; those in `except` (records the caller has already) are not fetched.
   * `lastSeq` is the last seq read, kept or not.
   */
  since(afterSeq: number, limit: number, except?: ReadonlySet<number>): AppendedBatch
  lastSeq(): number
}

export interface ExportOptions {
  format: ExportFormat
  includeBodies: boolean
}

export interface ActivityMaintenance {
  /** Deletes one record; the deletion is itself recorded. Returns false when absent. */
  delete(id: string, actor?: string): boolean
  /**
   * Deletes every record matching the filter when it starts, in chunks (its thread goes on
   * serving meanwhile); recorded once. Resolves to how many.
   */
  deleteWhere(filter: ActivityFilter, actor?: string): Promise<number>
  /** Streams matching records (oldest first) as JSON Lines or CSV chunks, with constant memory. */
  export(filter: ActivityFilter, options: ExportOptions): AsyncIterable<string>
  /**
   * Reads our JSON Lines export back; idempotent on id, and never brings back a deleted record.
   * Each import, done or failed, is a config_change record (`activity_imported`) with its counts.
   */
  import(lines: AsyncIterable<string> | Iterable<string>, onProgress?: (read: number) => void, by?: ImportBy): Promise<ImportResultInfo>
  /** Applies retention by age, count and size; writes a checkpoint when it prunes. */
  prune(now?: Date): { pruned: number; reason?: string }
}

/**
 * The store of a process that writes: summary, metrics and verify are asynchronous here, as they
 * run on the read worker when the store has one (read-offload.ts).
 */
export interface ActivityStore extends ActivityRecorder, Omit<ActivityQueries, 'summary' | 'metrics'>, ActivityMaintenance, ActivityHeavyReads {
  /** Called after each committed batch, and for records other processes appended (polled). */
  onAppended(listener: (batch: AppendedBatch) => void): () => void
  close(): Promise<void>
}

/** Who imported, and from what, for the import's record. */
export interface ImportBy {
  actor?: string
  /** the file name or "upload" */
  source?: string
}
