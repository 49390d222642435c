/** `mcpproxy activity list|watch|show|summary|export|import|report|verify|delete`. */
import { createWriteStream, existsSync, openSync, renameSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { Command, Option } from 'commander'
import { EXPORT_FORMATS, SUMMARY_PERIODS, type ActivityFilter, type ActivityRecord, type ActivitySummaryRow, type ActivityType, type ExportFormat, type SummaryPeriod } from '../../shared/activity'
import type { ActivityAppendedEvent } from '../../shared/events'
import { activityBackend, coreActivity, findRecord, type ActivityBackend } from '../activity-backend'
import type { CliContext } from '../context'
import { CliError, usageError } from '../errors'
import { addFilterOptions, addPageOptions, hasFilter, parseFilter, parseListQuery, type FilterFlags, type PageFlags } from '../filters'
import { renderActivityDetail, renderActivityTable, renderEventLine, renderRecordLine, renderSummary, renderVerify } from '../format-activity'
import { createProgress, formatBytes, paint, printJson, printLine } from '../output'
import { openLocalReader } from '../local-store'
import { followEvents, pause } from '../sse'

type Ctx = () => CliContext

async function withBackend<T>(ctx: CliContext, fn: (b: ActivityBackend) => Promise<T>): Promise<T> {
  const backend = await activityBackend(ctx)
  try {
    return await fn(backend)
  } finally {
    await backend.close()
  }
}

/** Writes chunks to FILE (through a temp file renamed at the end, so a failed run leaves the old file) or stdout. */
async function writeChunks(chunks: AsyncIterable<string | Buffer>, output: string | undefined, label: string, total?: number, headerLines = 0): Promise<{ bytes: number; lines: number }> {
  const progress = createProgress()
  const tmp = output ? `${output}.${process.pid}.partial` : undefined
  let out: NodeJS.WritableStream & { destroy(): void } = process.stdout
  if (tmp) {
    let fd: number
    try {
      fd = openSync(tmp, 'w', 0o600)
    } catch (err) {
      throw new CliError(`cannot write ${output}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'its directory does not exist' : (err as Error).message}`)
    }
    out = createWriteStream(tmp, { fd })
  }
  let bytes = 0
  let lines = 0
  try {
    for await (const chunk of chunks) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      bytes += buf.length
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++
      if (!out.write(buf)) await once(out, 'drain')
      if (output) {
        const done = Math.max(0, Math.min(lines - headerLines, total ?? Infinity))
        progress.update(`${label}: ${total ? `${done}/${total} records (${Math.floor((done / total) * 100)}%)` : `${lines} lines`}, ${formatBytes(bytes)}`)
      }
    }
    if (tmp) {
      out.end()
      await finished(out as NodeJS.WritableStream)
      renameSync(tmp, output!)
    }
  } catch (err) {
    if (tmp) {
      out.destroy()
      rmSync(tmp, { force: true })
    }
    progress.done()
    throw err
  }
  progress.done()
  return { bytes, lines }
}

/**
 * The events a live watch follows. Records of every type come from `activity.appended` (the
 * core announces each record appended, by any process) and are printed as the read-only watch
 * prints them; the others are live events with no record of their own.
 */
function watchEvents(types: ActivityType[] | undefined, verbose: boolean): string[] {
  const wants = (t: ActivityType): boolean => !types || types.includes(t)
  return [
    'activity.appended',
    ...(wants('policy_decision') ? ['activity.approval_requested'] : []),
    ...(verbose && wants('tool_call') ? ['activity.tool_call.started'] : []),
    ...(verbose && !types ? ['servers.changed', 'config.reloaded', 'tools.indexed'] : []),
  ]
}

/** Ids a live watch remembers having printed (or filtered out), so a record is never printed twice. */
const WATCH_HANDLED_IDS = 10_000
/** Records a live watch fetches after the stream missed events; older ones are left to `activity list`. */
const WATCH_BACKFILL_MAX = 1_000

function printRecord(r: ActivityRecord, json: boolean | undefined): void {
  if (json) printLine(JSON.stringify({ event: `activity.${r.type}`, data: r }))
  else printLine(renderRecordLine(r))
}

export function activityCommand(getCtx: Ctx): Command {
  const cmd = new Command('activity').description('the activity log: list, watch, inspect, export and verify')

  addPageOptions(addFilterOptions(cmd.command('list').description('list activity, newest first')))
    .option('--show-intent', 'add the declared intent column')
    .option('--json', 'print the page as JSON')
    .action(async (flags: FilterFlags & PageFlags & { showIntent?: boolean; json?: boolean }) => {
      const ctx = getCtx()
      const query = parseListQuery(flags)
      const page = await withBackend(ctx, (b) => b.list(query))
      if (ctx.json || flags.json) return printJson(page)
      if (!page.activities.length) {
        printLine(paint.dim(page.total ? `no records at offset ${page.offset} (${page.total} match)` : 'no activity matches'))
        return
      }
      printLine(renderActivityTable(page.activities, { showIntent: flags.showIntent }))
      const first = page.offset + 1
      const next = page.next_cursor ? `; next page: --cursor ${page.next_cursor}` : ''
      printLine(paint.dim(`\n${first}-${page.offset + page.activities.length} of ${page.total}${next}`))
    })

  cmd
    .command('show')
    .description('show one record with its arguments and response')
    .argument('<id>', 'activity id, or a unique start or end of one (the ID column of activity list)')
    .option('--json', 'print the full record as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const ctx = getCtx()
      const record = await withBackend(ctx, (b) => findRecord(b, id))
      if (ctx.json || flags.json) return printJson(record)
      printLine(renderActivityDetail(record))
    })

  cmd
    .command('summary')
    .description('totals, error rate, durations and top servers and tools')
    .addOption(new Option('--period <period>', 'time window').choices(SUMMARY_PERIODS).default('24h'))
    .option('--json', 'print JSON')
    .action(async (flags: { period: SummaryPeriod; json?: boolean }) => {
      const ctx = getCtx()
      const summary = await withBackend(ctx, (b) => b.summary(flags.period))
      if (ctx.json || flags.json) return printJson(summary)
      printLine(renderSummary(summary))
    })

  addFilterOptions(cmd.command('export').description('export records as JSON Lines or CSV (to --output or stdout)'))
    .addOption(new Option('--format <format>', 'json (JSON Lines) or csv').choices(EXPORT_FORMATS).default('json'))
    .option('--output <file>', 'write to this file (default: stdout)')
    .option('--include-bodies', 'include arguments and responses')
    .action(async (flags: FilterFlags & { format: ExportFormat; output?: string; includeBodies?: boolean }) => {
      const ctx = getCtx()
      const filter = parseFilter(flags)
      const { bytes, lines } = await withBackend(ctx, async (b) => {
        // the total only feeds the progress line, shown when stderr is a terminal
        const total = flags.output && process.stderr.isTTY ? await b.count(filter) : undefined
        return writeChunks(b.export(filter, flags.format, Boolean(flags.includeBodies)), flags.output, 'exporting', total, flags.format === 'csv' ? 1 : 0)
      })
      if (flags.output) {
        const rows = flags.format === 'csv' ? Math.max(0, lines - 1) : lines
        if (ctx.json) printJson({ output: flags.output, format: flags.format, records: rows, bytes })
        else process.stderr.write(`exported ${rows} records (${formatBytes(bytes)}) to ${flags.output}\n`)
      }
    })

  cmd
    .command('import')
    .description('import a JSON Lines export (idempotent on id)')
    .argument('<file>', 'a file written by `activity export --format json`')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const ctx = getCtx()
      if (!existsSync(file)) throw new CliError(`no such file: ${file}`, { code: 'NOT_FOUND' })
      const progress = createProgress()
      const result = await withBackend(ctx, (b) => b.import(file, (read) => progress.update(`importing: ${read} lines read`)))
      progress.done()
      if (ctx.json || flags.json) printJson(result)
      else {
        const deleted = result.skipped_deleted ? `, ${result.skipped_deleted} deleted here before and not brought back` : ''
        printLine(`imported ${result.imported} of ${result.read} records (${result.skipped_existing} already present${deleted}, ${result.errors.length} errors)`)
        for (const e of result.errors.slice(0, 10)) printLine(paint.red(`  line ${e.line}: ${e.error}`))
        if (result.errors.length > 10) printLine(paint.dim(`  ... and ${result.errors.length - 10} more`))
      }
      if (result.errors.length) process.exitCode = 1
    })

  addFilterOptions(cmd.command('report').description('write the self-contained HTML report'))
    .option('--output <file>', 'the HTML file', 'report.html')
    .option('--title <title>', 'the report title')
    .action(async (flags: FilterFlags & { output: string; title?: string }) => {
      const ctx = getCtx()
      const filter = parseFilter(flags)
      const { bytes } = await withBackend(ctx, (b) => writeChunks(b.report(filter, flags.title), flags.output, 'writing the report'))
      if (ctx.json) printJson({ output: flags.output, bytes })
      else process.stderr.write(`wrote ${flags.output} (${formatBytes(bytes)})\n`)
    })

  cmd
    .command('verify')
    .description('check the hash chain; exits 1 naming the first bad record')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }) => {
      const ctx = getCtx()
      const result = await withBackend(ctx, (b) => b.verify())
      if (ctx.json || flags.json) printJson(result)
      else printLine(renderVerify(result))
      if (!result.ok) process.exitCode = 1
    })

  addFilterOptions(
    cmd
      .command('delete')
      .description('delete one record, or every record matching --filter flags (needs --yes)')
      .argument('[id]', 'activity id'),
  )
    .option('--filter', 'delete by the filter flags instead of an id')
    .option('--yes', 'confirm a filter delete')
    .option('--json', 'print the result as JSON')
    .action(async (id: string | undefined, flags: FilterFlags & { filter?: boolean; yes?: boolean; json?: boolean }) => {
      const ctx = getCtx()
      const filter: ActivityFilter = parseFilter(flags)
      if (id && (flags.filter || hasFilter(filter))) throw usageError('give either an id or --filter with filter flags, not both')
      if (!id) {
        if (!flags.filter) throw usageError('give an activity id, or --filter with filter flags')
        if (!hasFilter(filter)) throw usageError('--filter needs at least one filter flag (e.g. --server, --end-time)')
      }
      await withBackend(ctx, async (b) => {
        if (id) {
          await b.delete(id)
          if (ctx.json || flags.json) printJson({ deleted: 1, id })
          else printLine(`deleted ${id}`)
          return
        }
        if (!flags.yes) {
          const n = await b.count(filter)
          throw new CliError(`${n} records match; run again with --yes to delete them`, { code: 'CONFIRM' })
        }
        const deleted = await b.deleteWhere(filter)
        if (ctx.json || flags.json) printJson({ deleted })
        else printLine(`deleted ${deleted} records`)
      })
    })

  cmd
    .command('watch')
    .description('stream activity as it happens, like tail -f (Ctrl-C to stop)')
    .option('--type <type>', 'record type, repeatable or comma-separated', (v: string, p: string[] | undefined) => [...(p ?? []), ...v.split(',').filter(Boolean)])
    .option('--server <name>', 'server name')
    .option('--verbose', 'also print call starts and server, config and tool index events')
    .option('--json', 'one JSON object per event')
    .action(async (flags: { type?: string[]; server?: string; verbose?: boolean; json?: boolean }) => {
      const ctx = getCtx()
      const types = flags.type?.length ? parseFilter({ type: flags.type }).type : undefined
      const controller = new AbortController()
      const stop = (): void => controller.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const json = ctx.json || flags.json
      const core = await ctx.core()
      if (core) {
        const backend = coreActivity(core.client)
        // output goes through one queue, so fetched records and live events print in event order
        let printing = Promise.resolve()
        const queue = (task: () => Promise<void> | void): void => {
          printing = printing.then(task).catch((err: Error) => void process.stderr.write(paint.dim(`${err.message}\n`)))
        }
        // what this watch fetched: the newest record (a `reset` fetches what came after it) and
        // the ids already handled (a record fetched after a reset may be announced again)
        let newest: ActivitySummaryRow | undefined
        const handled = new Set<string>()
        const printAppended = async (ids: string[]): Promise<void> => {
          for (const id of ids) {
            if (handled.has(id)) continue
            let r: ActivityRecord
            try {
              r = await backend.get(id)
            } catch (err) {
              // a record deleted (or pruned) since is skipped quietly
              if (!(err instanceof CliError && err.code === 'NOT_FOUND')) process.stderr.write(paint.dim(`cannot fetch record ${id}: ${(err as Error).message}\n`))
              continue
            }
            handled.add(id)
            if (handled.size > WATCH_HANDLED_IDS) handled.delete(handled.values().next().value!)
            if (!newest || r.id > newest.id) newest = r
            if (types && !types.includes(r.type)) continue
            if (flags.server && r.server_name !== flags.server) continue
            printRecord(r, json)
          }
        }
        // the stream missed events (the core restarted, or this watch fell behind its replay):
        // the records appended meanwhile, oldest first, from the log itself
        const backfill = async (): Promise<void> => {
          if (!newest) return
          const since = newest
          const missed: string[] = []
          let cursor: string | undefined
          for (;;) {
            const page = await backend.list({ start_time: since.timestamp, limit: 100, offset: 0, cursor })
            const newer = page.activities.filter((r) => r.id > since.id)
            missed.push(...newer.map((r) => r.id))
            if (newer.length < page.activities.length || !page.next_cursor || missed.length >= WATCH_BACKFILL_MAX) break
            cursor = page.next_cursor
          }
          if (missed.length >= WATCH_BACKFILL_MAX) process.stderr.write(paint.dim(`more than ${WATCH_BACKFILL_MAX} records were appended while the stream was away; the oldest of them are left to activity list\n`))
          await printAppended(missed.slice(0, WATCH_BACKFILL_MAX).reverse())
        }
        let lost = false
        await followEvents(core.client, {
          signal: controller.signal,
          // no server filter here: `activity.appended` names no server, so the core would drop it
          query: { types: watchEvents(types, Boolean(flags.verbose)) },
          // said once per outage, however many attempts it takes
          onStatus: (s, detail) => {
            if (s === 'reconnecting' && !lost) process.stderr.write(paint.dim(`event stream lost (${detail}); reconnecting...\n`))
            if (s === 'connected' && lost) process.stderr.write(paint.dim('event stream back\n'))
            lost = s === 'reconnecting'
          },
          onEvent: (e) => {
            if (e.event === 'reset') return queue(backfill)
            let data: Record<string, unknown> = {}
            try {
              data = JSON.parse(e.data) as Record<string, unknown>
            } catch {
              return
            }
            if (e.event === 'activity.appended') {
              const appended = data as unknown as ActivityAppendedEvent
              if (types && !appended.types?.some((t) => types.includes(t))) return
              return queue(() => printAppended(appended.ids ?? []))
            }
            if (flags.server && data.server !== flags.server) return
            if (json) return queue(() => printLine(JSON.stringify({ id: e.id, event: e.event, data })))
            const line = renderEventLine(e.event, data, { verbose: flags.verbose })
            if (line) queue(() => printLine(line))
          },
        })
        await printing
        return
      }
      await tailDatabase(ctx, { types, server: flags.server, json, signal: controller.signal })
    })

  return cmd
}

/** With no core, follows the database itself (records other processes, e.g. `wrap`, append). */
async function tailDatabase(ctx: CliContext, o: { types?: ActivityType[]; server?: string; json?: boolean; signal: AbortSignal }): Promise<void> {
  const reader = await openLocalReader(ctx)
  process.stderr.write(paint.dim(`no core running: following ${ctx.paths.db}\n`))
  try {
    let seq = reader.lastSeq()
    while (!o.signal.aborted) {
      const batch = reader.since(seq, 500)
      for (const r of batch.records) {
        if (o.types && !o.types.includes(r.type)) continue
        if (o.server && r.server_name !== o.server) continue
        printRecord(r, o.json)
      }
      seq = Math.max(seq, batch.lastSeq)
      if (batch.records.length < 500) await pause(300, o.signal)
    }
  } finally {
    reader.close()
  }
}
