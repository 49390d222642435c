/** `mcpproxy status`, `mcpproxy doctor` and `mcpproxy config validate [FILE]`. */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { resolve } from 'node:path'
import { Command } from 'commander'
import { isCoreError } from '../../core/errors'
import { parseConfig } from '../../core/config/load'
import { ConfigSchema } from '../../core/config/schema'
import { splitHostPort } from '../api-client'
import type { CliContext } from '../context'
import { CliError } from '../errors'
import { openLocalReader } from '../local-store'
import { formatBytes, formatDateTime, paint, printJson, printLine, renderFields } from '../output'

interface DoctorCheck {
  name: string
  ok: boolean
  detail: string
  action?: string
}

function portInUse(address: string): Promise<boolean> {
  const [host, port] = splitHostPort(address)
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (v: boolean): void => {
      socket.destroy()
      resolve(v)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function localStats(ctx: CliContext): Promise<{ records: number; last?: string; db_bytes: number } | { error: string } | null> {
  if (!existsSync(ctx.paths.db)) return null
  try {
    const reader = await openLocalReader(ctx)
    try {
      const page = reader.list({}, { limit: 1, offset: 0 })
      let bytes = statSync(ctx.paths.db).size
      if (existsSync(`${ctx.paths.db}-wal`)) bytes += statSync(`${ctx.paths.db}-wal`).size
      return { records: page.total, last: page.activities[0]?.timestamp, db_bytes: bytes }
    } finally {
      reader.close()
    }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

function uptime(s: number): string {
  if (s < 120) return `${Math.round(s)}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`
}

export function statusCommand(getCtx: () => CliContext): Command {
  return new Command('status')
    .description('is a core running for the data dir, and what is it doing')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.core()
      if (core) {
        const s = core.status
        if (ctx.json || flags.json) return printJson(s)
        let key: string | undefined
        let configError: string | undefined
        try {
          key = ctx.config()?.apiKey
        } catch (err) {
          // the URL is shown without the key; the running core goes on with its last good config
          configError = (err as Error).message
        }
        printLine(
          renderFields([
            ['Status', paint.green('running') + ` (version ${s.version}, up ${uptime(s.uptime)}, pid ${s.pid})`],
            ['Shared core', s.idle_exit_s != null ? `started by mcpproxy stdio; exits ${s.idle_exit_s} s after its last MCP client or viewer (the app or serve take over)` : undefined],
            ['Config', configError ? paint.red(`${configError} (the core goes on with its last good config)`) : undefined],
            ['Web UI', key && !s.web_ui_url.includes('apikey=') ? `${s.web_ui_url}?apikey=${encodeURIComponent(key)}` : s.web_ui_url],
            ['MCP endpoint', s.mcp_url],
            ['Data dir', s.data_dir],
            ['Servers', `${s.servers.total} total, ${s.servers.connected} connected, ${s.servers.quarantined} quarantined, ${s.servers.disabled} disabled`],
            ['Tools', String(s.tools.total)],
            ['Clients', `${s.clients.mcp_sessions} MCP session${s.clients.mcp_sessions === 1 ? '' : 's'}, ${s.clients.event_viewers} following events (web UI, activity watch)`],
            ['Approvals', s.approvals.pending ? paint.yellow(`${s.approvals.pending} pending`) : 'none pending'],
            ['Activity', `${s.activity.written} written, ${s.activity.queued} queued, ${s.activity.dropped} dropped, database ${formatBytes(s.activity.db_bytes)}`],
            ['Writer error', s.activity.last_error ? paint.red(s.activity.last_error) : undefined],
          ]),
        )
        return
      }
      let listen: string | undefined
      let configError: string | undefined
      try {
        listen = ctx.config()?.config.listen
      } catch (err) {
        configError = (err as Error).message
      }
      const stats = await localStats(ctx)
      const info = {
        status: 'stopped' as const,
        data_dir: ctx.dataDir,
        config: existsSync(ctx.paths.config) ? ctx.paths.config : null,
        config_error: configError,
        listen,
        activity: stats,
      }
      if (ctx.json || flags.json) return printJson(info)
      printLine(
        renderFields([
          ['Status', paint.yellow('not running') + ' (start it with `mcpproxy serve` or the app)'],
          ['Data dir', ctx.dataDir],
          ['Config', info.config ?? 'none yet (written on first start)'],
          ['Config error', configError ? paint.red(configError) : undefined],
          ['Listen', listen],
          [
            'Activity',
            !stats ? 'no database yet' : 'error' in stats ? paint.red(stats.error) : `${stats.records} records${stats.last ? `, last at ${formatDateTime(stats.last)}` : ''}, database ${formatBytes(stats.db_bytes)}`,
          ],
        ]),
      )
    })
}

async function localDoctor(ctx: CliContext): Promise<{ ok: boolean; checks: DoctorCheck[] }> {
  const checks: DoctorCheck[] = []
  let listen = '127.0.0.1:8080'
  try {
    const c = ctx.config()
    if (c) listen = c.config.listen
    checks.push({ name: 'config', ok: true, detail: c ? ctx.paths.config : 'none yet; a default is written on first start' })
  } catch (err) {
    checks.push({ name: 'config', ok: false, detail: (err as Error).message, action: 'fix the named key, then `mcpproxy config validate`' })
  }
  try {
    if (existsSync(ctx.dataDir)) accessSync(ctx.dataDir, constants.W_OK)
    checks.push({ name: 'data_dir', ok: true, detail: ctx.dataDir })
  } catch {
    checks.push({ name: 'data_dir', ok: false, detail: `${ctx.dataDir} is not writable` })
  }
  const stats = await localStats(ctx)
  if (stats && 'error' in stats) checks.push({ name: 'activity_log', ok: false, detail: stats.error })
  else checks.push({ name: 'activity_log', ok: true, detail: stats ? `${stats.records} records, ${formatBytes(stats.db_bytes)}` : 'no database yet' })
  const busy = await portInUse(listen)
  checks.push({ name: 'listen', ok: !busy, detail: busy ? `${listen} is in use by another program (not a core for this data dir)` : `${listen} is free`, action: busy ? 'set listen in the config or use serve --listen' : undefined })
  checks.push({ name: 'core', ok: true, detail: 'not running' })
  return { ok: checks.every((c) => c.ok), checks }
}

/**
 * A running core checks the config it runs with, which it keeps when an edit breaks the file:
 * the file on disk is checked here too, as it is what the next start (or reload) loads.
 */
function withConfigFile(ctx: CliContext, result: { ok: boolean; checks: DoctorCheck[] }): { ok: boolean; checks: DoctorCheck[] } {
  try {
    ctx.config()
    return result
  } catch (err) {
    const checks = result.checks.map((c) => (c.name === 'config' && c.ok ? { ...c, detail: `the running core's config is valid (its last good load of ${ctx.paths.config})` } : c))
    const at = checks.findIndex((c) => c.name === 'config') + 1
    checks.splice(at, 0, {
      name: 'config_file',
      ok: false,
      detail: `${ctx.paths.config} does not load: ${(err as Error).message.replace(`${ctx.paths.config}: `, '')}`,
      action: 'fix it, then `mcpproxy config validate`; the core keeps running on its last good config, but would not start again',
    })
    return { ok: false, checks }
  }
}

export function doctorCommand(getCtx: () => CliContext): Command {
  return new Command('doctor')
    .description('health checks; exits 1 when one fails')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.core()
      const result = core ? withConfigFile(ctx, await core.client.get<{ ok: boolean; checks: DoctorCheck[] }>('/doctor')) : await localDoctor(ctx)
      if (ctx.json || flags.json) printJson(result)
      else {
        for (const c of result.checks) {
          printLine(`${c.ok ? paint.green('✓') : paint.red('✗')} ${c.name}: ${c.detail}${c.action ? paint.dim(` (${c.action})`) : ''}`)
        }
        printLine(result.ok ? paint.green('all checks passed') : paint.red('some checks failed'))
      }
      if (!result.ok) process.exitCode = 1
    })
}

export function configCommand(getCtx: () => CliContext): Command {
  const cmd = new Command('config').description('the configuration file')
  cmd
    .command('validate')
    .description("check a config file (default: the data dir's); exits 1 naming the bad key")
    .argument('[file]', 'the file to check')
    .option('--json', 'print JSON')
    .action((file: string | undefined, flags: { json?: boolean }) => {
      const ctx = getCtx()
      const path = resolve(file ?? ctx.paths.config)
      if (!existsSync(path)) throw new CliError(`no such file: ${path}`, { code: 'NOT_FOUND' })
      const text = readFileSync(path, 'utf8')
      try {
        parseConfig(text, path)
      } catch (err) {
        if (!isCoreError(err)) throw err
        const issues = (err.details?.issues as Array<{ key: string; message: string }> | undefined) ?? []
        if (ctx.json || flags.json) {
          printJson({ valid: false, file: path, error: err.message, issues })
          process.exitCode = 1
          return
        }
        throw new CliError(err.message, { code: err.code })
      }
      const known = new Set(Object.keys(ConfigSchema.shape))
      const unknown = Object.keys(JSON.parse(text) as Record<string, unknown>).filter((k) => !known.has(k))
      if (ctx.json || flags.json) return printJson({ valid: true, file: path, unknown_keys: unknown })
      printLine(`${paint.green('valid')}: ${path}`)
      for (const k of unknown) process.stderr.write(`warning: unknown key "${k}" (kept, but mcpproxy does not use it)\n`)
    })
  return cmd
}
