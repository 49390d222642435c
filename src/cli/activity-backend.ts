/**
 * Activity operations for the CLI, answered by the running core's REST API or, when no core
 * runs, by the database opened read-only (writes then open the store itself). One interface,
 * so each command is written once.
 */
import { basename } from 'node:path'
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import type {
  ActivityFilter,
  ActivityListQuery,
  ActivityPage,
  ActivityRecord,
  ActivitySummaryInfo,
  ActivitySummaryRow,
  ExportFormat,
  ImportResultInfo,
  SummaryPeriod,
  VerifyResultInfo,
} from '../shared/activity'
import { wholeLines } from '../core/activity/import-lines'
import type { ApiClient } from './api-client'
import type { CliContext, ConfigOnDisk } from './context'
import { CliError } from './errors'
import { filterQuery, listQuery } from './filters'
import { formatDateTime } from './output'
import { openLocalReader, openLocalWriter, type LocalActivityReader } from './local-store'

export interface ActivityBackend {
  readonly kind: 'core' | 'local'
  list(query: ActivityListQuery): Promise<ActivityPage>
  get(id: string): Promise<ActivityRecord>
  summary(period: SummaryPeriod): Promise<ActivitySummaryInfo>
  verify(): Promise<VerifyResultInfo>
  /** export chunks (JSON Lines or CSV text) */
  export(filter: ActivityFilter, format: ExportFormat, includeBodies: boolean): AsyncIterable<string | Buffer>
  /** the HTML report */
  report(filter: ActivityFilter, title?: string): AsyncIterable<string | Buffer>
  import(file: string, onProgress: (read: number) => void): Promise<ImportResultInfo>
  delete(id: string): Promise<void>
  deleteWhere(filter: ActivityFilter): Promise<number>
  count(filter: ActivityFilter): Promise<number>
  close(): Promise<void>
}

function notFound(id: string): CliError {
  return new CliError(`no activity record ${id}`, { code: 'NOT_FOUND', status: 404 })
}

export function coreActivity(client: ApiClient): ActivityBackend {
  const stream = async function* (path: string, query: Record<string, unknown>): AsyncIterable<Buffer> {
    const res = await client.open('GET', path, { query: query as never })
    for await (const chunk of res) yield chunk as Buffer
  }
  return {
    kind: 'core',
    list: (q) => client.get<ActivityPage>('/activity', listQuery(q)),
    async get(id) {
      try {
        return await client.get<ActivityRecord>(`/activity/${encodeURIComponent(id)}`)
      } catch (err) {
        if (err instanceof CliError && err.status === 404) throw notFound(id)
        throw err
      }
    },
    summary: (period) => client.get<ActivitySummaryInfo>('/activity/summary', { period }),
    verify: () => client.get<VerifyResultInfo>('/activity/verify'),
    export: (filter, format, includeBodies) => stream('/activity/export', { ...filterQuery(filter), format, include_bodies: String(includeBodies) }),
    report: (filter, title) => stream('/activity/report', { ...filterQuery(filter), title }),
    async import(file, onProgress) {
      const input = createReadStream(file)
      let read = 0
      input.on('data', (chunk) => {
        const buf = chunk as Buffer
        for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) read++
        onProgress(read)
      })
      return client.request<ImportResultInfo>('POST', '/activity/import', { stream: input as Readable, contentType: 'application/x-ndjson' })
    },
    async delete(id) {
      try {
        await client.delete(`/activity/${encodeURIComponent(id)}`)
      } catch (err) {
        if (err instanceof CliError && err.status === 404 && err.code === 'NOT_FOUND') throw notFound(id)
        throw err
      }
    },
    async deleteWhere(filter) {
      const res = await client.delete<{ deleted: number }>('/activity', filterQuery(filter))
      return res.deleted
    },
    count: async (filter) => (await client.get<{ count: number }>('/activity/count', filterQuery(filter))).count,
    close: async () => {},
  }
}


export function localActivity(ctx: CliContext): ActivityBackend {
  let reader: Promise<LocalActivityReader> | undefined
  const r = (): Promise<LocalActivityReader> => (reader ??= openLocalReader(ctx))
  return {
    kind: 'local',
    list: async (q) => (await r()).list(q, { limit: q.limit, offset: q.offset, cursor: q.cursor }),
    async get(id) {
      const rec = (await r()).get(id)
      if (!rec) throw notFound(id)
      return rec
    },
    summary: async (period) => (await r()).summary(period),
    verify: async () => (await r()).verify(),
    async *export(filter, format, includeBodies) {
      yield* (await r()).export(filter, { format, includeBodies })
    },
    async *report(filter, title) {
      const store = await r()
      const [{ renderHtmlReport }, { recordsFromJsonLines }] = await Promise.all([import('../core/activity/report'), import('../core/activity/export')])
      let config: ConfigOnDisk | null = null
      try {
        config = ctx.config()
      } catch {
        // a broken config only loses the extra tool lists in the report
      }
      yield await renderHtmlReport(recordsFromJsonLines(store.export(filter, { format: 'json', includeBodies: true })), {
        filter,
        title,
        sensitiveTools: config?.config.sensitive_tools,
        writeTools: config?.config.write_tools,
      })
    },
    async import(file, onProgress) {
      const store = await openLocalWriter(ctx)
      try {
        return await store.import(wholeLines(createReadStream(file)), onProgress, { actor: 'cli', source: basename(file) })
      } finally {
        await store.close()
      }
    },
    async delete(id) {
      const store = await openLocalWriter(ctx)
      try {
        if (!store.delete(id, 'cli')) throw notFound(id)
      } finally {
        await store.close()
      }
    },
    async deleteWhere(filter) {
      const store = await openLocalWriter(ctx)
      try {
        return await store.deleteWhere(filter, 'cli')
      } finally {
        await store.close()
      }
    },
    count: async (filter) => (await r()).count(filter),
    async close() {
      if (reader) (await reader.catch(() => null))?.close()
    },
  }
}

/** The core when one runs for the data dir, else the local database. */
export async function activityBackend(ctx: CliContext): Promise<ActivityBackend> {
  const core = await ctx.core()
  return core ? coreActivity(core.client) : localActivity(ctx)
}

/** An export line's id (its first key); ids needing JSON escapes are not matched by a part. */
const LINE_ID = /^\{"id":"([^"\\]*)"/
const MAX_CANDIDATES = 10

/**
 * The record `given` names: its id, or a unique start or end of one (any case). The ID column of
 * `activity list` prints the end. A part is looked up in the export stream, ids only, so memory
 * stays flat however many records there are.
 */
export async function findRecord(backend: ActivityBackend, given: string): Promise<ActivityRecord> {
  try {
    return await backend.get(given)
  } catch (err) {
    if (!(err instanceof CliError && err.code === 'NOT_FOUND')) throw err
  }
  const part = given.toUpperCase()
  // the candidates shown; the others are only counted
  const first: ActivitySummaryRow[] = []
  let count = 0
  for await (const lines of wholeLines(backend.export({}, 'json', false))) {
    for (const line of lines.split('\n')) {
      const id = LINE_ID.exec(line)?.[1]?.toUpperCase()
      if (!id || !(id.startsWith(part) || id.endsWith(part))) continue
      if (++count <= MAX_CANDIDATES) first.push(JSON.parse(line) as ActivitySummaryRow)
    }
  }
  if (count === 1) return backend.get(first[0]!.id)
  if (!count) throw notFound(given)
  const shown = first.map((r) => `  ${r.id}  ${formatDateTime(r.timestamp)}  ${r.type}  ${[r.server_name, r.tool_name].filter(Boolean).join(':')}`.trimEnd())
  const more = count > MAX_CANDIDATES ? [`  ... and ${count - MAX_CANDIDATES} more`] : []
  throw new CliError([`activity id ${given} is ambiguous: it starts or ends ${count} ids; give more of it`, ...shown, ...more].join('\n'), { code: 'AMBIGUOUS' })
}
