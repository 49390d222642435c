import { Readable } from 'node:stream'
import { z } from 'zod'
import {
  ActivityFilterSchema,
  ActivityListQuerySchema,
  ExportQuerySchema,
  FILTER_OPTION_FIELDS,
  MAX_HOURLY_HOURS,
  SUMMARY_PERIODS,
  type ActivityFilter,
  exportFileName,
} from '../../../shared/activity'
import { recordsFromJsonLines } from '../../activity/export'
import type { RouteDownloadConfig } from '../download-tokens'
import { wholeLines } from '../../activity/import-lines'
import { renderHtmlReport } from '../../activity/report'
import { CoreError } from '../../errors'
import { actorOf, IdParams, ok, type HttpContext, type ZodApp } from '../context'
import { HttpError } from '../errors'

const SummaryQuery = z.object({ period: z.enum(SUMMARY_PERIODS).default('24h') })
const MetricsQuery = z.object({
  days: z.coerce.number().int().min(1).max(366).default(30),
  server: z.string().min(1).optional(),
})
const HourlyQuery = z.object({ hours: z.coerce.number().int().min(1).max(MAX_HOURLY_HOURS).default(24) })
const FilterParams = z.object({ filter: z.enum(FILTER_OPTION_FIELDS) })
const ReportQuery = ActivityFilterSchema.extend({
  title: z.string().min(1).max(200).optional(),
  download: z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1').optional(),
})

/** Content types `POST /activity/import` accepts: JSON Lines, however the client labels it. */
export const IMPORT_CONTENT_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/json-lines', 'text/plain', 'application/octet-stream']
export const DEFAULT_IMPORT_LIMIT = 512 * 1024 * 1024
/** Marks a GET route a download token opens (see requireKey in server.ts). */
const DOWNLOAD_ROUTE: RouteDownloadConfig = { downloadToken: true }

/** `20261121T115200Z`: sortable, and safe in every file system. */
/** Only the filter keys (drops paging, format and the api key) so "no filter" can be told apart. */
function filterOf(q: ActivityFilter): ActivityFilter {
  const f: ActivityFilter = {}
  for (const key of Object.keys(ActivityFilterSchema.shape) as Array<keyof ActivityFilter>) {
    if (q[key] !== undefined) (f as Record<string, unknown>)[key] = q[key]
  }
  return f
}

/** The body as it arrives, failing with 413 once more than `maxBytes` bytes have come. */
async function* limitBytes(source: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0
  for await (const chunk of source) {
    total += chunk.length
    if (total > maxBytes) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `body: larger than ${maxBytes} bytes`)
    yield chunk
  }
}

export interface ActivityRouteOptions {
  importLimitBytes?: number
}

export function registerActivityRoutes(app: ZodApp, ctx: HttpContext, options: ActivityRouteOptions = {}): void {
  const store = ctx.core.activity
  const tags = ['activity']

  app.get('/activity', { schema: { tags, summary: 'List activity records (newest first) with filters and paging', querystring: ActivityListQuerySchema } }, async (req) => {
    const { limit, offset, cursor } = req.query
    return ok(store.list(filterOf(req.query), { limit, offset, cursor }))
  })

  app.get('/activity/count', { schema: { tags, summary: 'Count records matching the filters', querystring: ActivityFilterSchema } }, async (req) =>
    ok({ count: store.count(filterOf(req.query)) }),
  )

  app.get(
    '/activity/filter-options/:filter',
    { schema: { tags, summary: 'Values (with counts) a filter can take', params: FilterParams, querystring: ActivityFilterSchema } },
    async (req) => ok({ filter: req.params.filter, options: store.filterOptions(req.params.filter, filterOf(req.query)) }),
  )

  app.get('/activity/summary', { schema: { tags, summary: 'Totals, top servers and tools, latency and error rate for a period', querystring: SummaryQuery } }, async (req) =>
    ok(await store.summary(req.query.period)),
  )

  app.get('/activity/hourly', { schema: { tags, summary: 'Tool calls per clock hour (UTC), oldest first, ending with the current hour', querystring: HourlyQuery } }, async (req) =>
    ok(store.hourly(req.query.hours)),
  )
  app.get('/activity/metrics', { schema: { tags, summary: 'Daily call, error and latency series', querystring: MetricsQuery } }, async (req) =>
    ok(await store.metrics(req.query.days, req.query.server)),
  )

  app.post(
    '/activity/download-token',
    { schema: { tags, summary: 'A one-use token (60 s) that opens one export or report link without the API key in its URL (download_token=)' } },
    async () => ok(ctx.downloads.issue()),
  )

  app.get('/activity/verify', { schema: { tags, summary: 'Verify the hash chain of the activity log' } }, async () => ok(await store.verify()))

  app.get(
    '/activity/export',
    { config: DOWNLOAD_ROUTE, schema: { tags, summary: 'Stream matching records as JSON Lines or CSV (a download)', querystring: ExportQuerySchema } },
    async (req, reply) => {
      const { format, include_bodies } = req.query
      const body = Readable.from(store.export(filterOf(req.query), { format, includeBodies: include_bodies }), { objectMode: false })
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${exportFileName(format)}"`)
        .header('cache-control', 'no-store')
        .send(body)
    },
  )

  app.get('/activity/report', { config: DOWNLOAD_ROUTE, schema: { tags, summary: 'A self-contained HTML report of the matching records', querystring: ReportQuery } }, async (req, reply) => {
    const filter = filterOf(req.query)
    const config = ctx.core.config.current()
    const html = await renderHtmlReport(recordsFromJsonLines(ctx.core.activity.export(filter, { format: 'json', includeBodies: true })), {
      filter,
      title: req.query.title,
      sensitiveTools: config.sensitive_tools,
      writeTools: config.write_tools,
    })
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
    if (req.query.download) reply.header('content-disposition', `attachment; filename="${exportFileName('html')}"`)
    return reply.send(html)
  })

  app.delete('/activity', { schema: { tags, summary: 'Delete every record matching the filters (at least one filter)', querystring: ActivityFilterSchema } }, async (req) => {
    const filter = filterOf(req.query)
    if (Object.keys(filter).length === 0) throw new CoreError('INVALID_PARAMETER', 'filter: at least one filter is required to delete by filter')
    return ok({ deleted: await store.deleteWhere(filter, actorOf(req)) })
  })

  app.get('/activity/:id', { schema: { tags, summary: 'One record with its arguments and response', params: IdParams } }, async (req) => {
    const r = store.get(req.params.id)
    if (!r) throw new CoreError('NOT_FOUND', `activity "${req.params.id}" not found`)
    return ok(r)
  })

  app.delete('/activity/:id', { schema: { tags, summary: 'Delete one record (the deletion is recorded)', params: IdParams } }, async (req) => {
    if (!store.delete(req.params.id, actorOf(req))) throw new CoreError('NOT_FOUND', `activity "${req.params.id}" not found`)
    return ok({ deleted: 1 })
  })

  const importLimit = options.importLimitBytes ?? DEFAULT_IMPORT_LIMIT
  // its own scope: the body stays a stream here instead of being buffered by a parser
  void app.register(async (scope: ZodApp) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(IMPORT_CONTENT_TYPES, (_req, payload, done) => done(null, payload))
    scope.post(
      '/activity/import',
      { schema: { tags, summary: 'Import a JSON Lines export (idempotent on id); the body is streamed' } },
      async (req) => {
        const declared = Number(req.headers['content-length'])
        if (Number.isFinite(declared) && declared > importLimit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `body: larger than ${importLimit} bytes`)
        const body = req.body as AsyncIterable<Buffer> | undefined
        if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
          throw new CoreError('INVALID_PARAMETER', 'body: JSON Lines expected')
        }
        return ok(await store.import(wholeLines(limitBytes(body, importLimit)), undefined, { actor: actorOf(req), source: 'upload' }))
      },
    )
  })
}
